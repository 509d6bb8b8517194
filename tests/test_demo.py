"""The demo project: generated CFR (with audio) and VFR clips, config and ground truth, safe to rerun."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from xmem_tui.cli import main
from xmem_tui.commands.demo import _queue
from xmem_tui.config import load_settings
from xmem_tui.demo import create_demo, prepare_run
from xmem_tui.jobs.pidfile import stop_worker
from xmem_tui.jobs.queue import JobQueue
from xmem_tui.media.probe import probe
from xmem_tui.workspace import Workspace


def test_demo_project_contents(tmp_path: Path) -> None:
    project = create_demo(tmp_path / "demo", frames=14, size=(96, 160))
    assert load_settings(project.root / "config.toml").source_dir == project.root / "source"
    cfr, vfr = (probe(clip) for clip in project.clips)
    assert (cfr.frame_count, cfr.vfr, cfr.has_audio) == (14, False, True)
    assert (vfr.frame_count, vfr.vfr) == (14, True)
    assert (cfr.width, cfr.height) == (160, 96)
    assert sorted(p.name for p in (project.ground_truth / "demo_cfr").iterdir()) == ["00000.png", "00007.png"]
    mtime = project.clips[0].stat().st_mtime_ns
    create_demo(tmp_path / "demo", frames=14, size=(96, 160))
    assert project.clips[0].stat().st_mtime_ns == mtime


def test_demo_command_without_terminal_runs_the_main_job_here(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """No terminal: keyframes imported, every frame propagated, a green screen exported and self-checked."""
    monkeypatch.setattr("xmem_tui.demo.create_demo.__defaults__", (10, (64, 96)))
    assert main(["demo", "--dir", str(tmp_path / "d"), "--no-open"]) == 0
    captured = capsys.readouterr()
    out = captured.out
    assert "demo_vfr.mp4: 10 frames, 96x64" in out and "VFR" in out
    assert "demo_cfr.mp4: 10 frames" in out and "audio" in out
    assert "imported the ground truth of frames 0, 5 of demo_cfr.mp4" in out
    assert "propagated 8 frames forward from frame 0 to 9 of demo_cfr.mp4" in out
    export = tmp_path / "d" / "exports" / "demo_cfr_greenscreen_h264.mp4"
    assert str(export) in out.splitlines()
    assert f"self-check passed: {export}.check.json" in captured.err
    settings = load_settings(tmp_path / "d" / "config.toml")
    ws = Workspace.for_video(settings, tmp_path / "d" / "source" / "demo_cfr.mp4")
    assert ws.user_frames() == [0, 5] and all(ws.mask_path(i).is_file() for i in range(10))
    assert probe(export).frame_count == 10 and probe(export).has_audio

    stamp = export.stat().st_mtime_ns
    assert main(["demo", "--dir", str(tmp_path / "d"), "--no-open"]) == 0  # a rerun replaces nothing of yours
    out = capsys.readouterr().out
    assert "imported" not in out and f"kept the export of an earlier demo run: {export}" in out
    assert export.stat().st_mtime_ns == stamp and ws.user_frames() == [0, 5]


def test_demo_no_run_only_makes_the_project(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("xmem_tui.demo.create_demo.__defaults__", (10, (64, 96)))
    assert main(["demo", "--dir", str(tmp_path / "d"), "--no-run"]) == 0
    assert "propagated" not in capsys.readouterr().out
    assert not (tmp_path / "d" / "exports").exists()
    settings = load_settings(tmp_path / "d" / "config.toml")
    assert Workspace.for_video(settings, tmp_path / "d" / "source" / "demo_cfr.mp4").user_frames() == []


@pytest.mark.slow
def test_demo_on_a_terminal_queues_the_job_for_the_worker(tmp_path: Path) -> None:
    """What the dashboard then shows: the worker propagates, then exports, in that order."""
    project = create_demo(tmp_path / "d", frames=10, size=(64, 96))
    settings = load_settings(project.root / "config.toml")
    work = prepare_run(project, settings)
    queue = JobQueue.for_settings(settings)
    try:
        _queue(work, settings)
        deadline = time.monotonic() + 120
        while len(queue.list(["done"])) < 2 and time.monotonic() < deadline:
            assert not queue.list(["failed"]), queue.list(["failed"])
            time.sleep(0.2)
    finally:
        stop_worker(settings)
    done = sorted(queue.list(["done"]), key=lambda j: j.finished or 0)
    assert [j.kind for j in done] == ["propagate", "export"]
    assert work.output.is_file()
