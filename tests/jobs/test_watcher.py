"""The watchdog bridge reports a job file appearing (by atomic rename) within milliseconds."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from xmem_tui.fsutil import atomic_write_text
from xmem_tui.jobs.watcher import QueueWatcher


def test_new_job_file_is_reported_quickly(tmp_path: Path) -> None:
    """Also after claims (moves out of queued/), which watchdog would hold back if only queued/ were watched."""
    folder = tmp_path / "queued"
    seen = threading.Event()
    watcher = QueueWatcher(tmp_path, seen.set)
    watcher.start()
    try:
        latencies = []
        for i in range(5):
            seen.clear()
            t0 = time.perf_counter()
            atomic_write_text(folder / f"job{i}.toml", 'kind = "x"\n')
            assert seen.wait(5.0), "no event for a new job file"
            latencies.append(time.perf_counter() - t0)
            (tmp_path / "running").mkdir(exist_ok=True)
            (folder / f"job{i}.toml").rename(tmp_path / "running" / f"job{i}.toml")  # a claim, as the worker does
            time.sleep(0.05)
        print(f"watcher latency: median {sorted(latencies)[2] * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms")
    finally:
        watcher.stop()
        watcher.join(5)


def test_hidden_and_other_files_are_ignored(tmp_path: Path) -> None:
    folder = tmp_path / "queued"
    seen = threading.Event()
    watcher = QueueWatcher(tmp_path, seen.set)
    watcher.start()
    try:
        folder.joinpath(".x.toml.staged").write_text("a")
        folder.joinpath("notes.txt").write_text("a")
        (tmp_path / "done").mkdir()
        (tmp_path / "done" / "other.toml").write_text("a")
        assert not seen.wait(0.5)
        (folder / "real.toml").write_text("a")
        assert seen.wait(5.0)
    finally:
        watcher.stop()
        watcher.join(5)
