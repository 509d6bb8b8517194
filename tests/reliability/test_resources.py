"""Running out of resources: simulated CUDA out-of-memory, and a full disk (patched, then a real tmpfs)."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from xmem_tui import fsutil
from xmem_tui.cli import main
from xmem_tui.inference.cutie_engine import CutieEngine
from xmem_tui.inference.xmem_engine import XMemEngine
from xmem_tui.jobs.worker import Worker
from xmem_tui.workspace import hard_soft

from .checks import assert_masks_whole, assert_records_match_files, no_temp_files
from .procs import RelProject, file_digests
from .writer_loop import pattern

#: Per engine with a memory budget: its checkpoint (synthesized weights), its engine class, the keys the
#: one-line message must name and the first key its retry lowers.
OOM_ENGINES = {
    "xmem": ("XMem.pth", "xmem", XMemEngine,
             ("processing.size", "xmem.max_long_term_elements", "xmem.max_mid_term_frames")),
    "cutie": ("cutie-base-mega.pth", "cutie_base", CutieEngine,
              ("processing.size", "cutie.long_term_max_num_tokens", "cutie.long_term_max_mem_frames",
               "cutie.max_mem_frames")),
}


@pytest.fixture(params=sorted(OOM_ENGINES))
def oom_engine(request: pytest.FixtureRequest, annotated: RelProject, synth_checkpoint: Callable[[str], Path],
               monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, tuple[str, ...], list[int]]]:
    """The engine's weights in models/; its step raises torch.cuda.OutOfMemoryError from the 6th call on
    (every attempt). Yields (engine name, the keys to name, the call counter)."""
    name = request.param
    checkpoint, manifest, engine_class, keys = OOM_ENGINES[name]
    (annotated.root / "models").mkdir(exist_ok=True)
    shutil.copy(synth_checkpoint(manifest), annotated.root / "models" / checkpoint)
    calls = [0]
    real = engine_class.step

    def step(self: object, *args: object, **kwargs: object) -> np.ndarray:
        calls[0] += 1
        if calls[0] > 5:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(engine_class, "step", step)
    yield name, keys, calls


def test_cuda_oom_in_a_foreground_propagation_names_the_config_keys(
        annotated: RelProject, oom_engine: tuple[str, tuple[str, ...], list[int]],
        capsys: pytest.CaptureFixture[str]) -> None:
    name, keys, calls = oom_engine
    code = main(["--config", str(annotated.config), "propagate", str(annotated.video), "--from", "0",
                 "--engine", name])
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]  # after the progress bar's last line
    assert code == 2 and last.startswith("xmem-tui: error: out of memory") and "Traceback" not in err, err
    assert all(key in last for key in keys) and "config.toml" in last, last
    other = "cutie." if name == "xmem" else "xmem."
    assert other not in last  # the message names this engine's keys only
    ws = annotated.workspace()
    written = sorted(ws.records())
    assert written[0] == 0 and len(written) >= 3  # frames before the failure are kept, whole
    assert len(assert_masks_whole(ws, {0, 1, 2})) == len(written)
    assert calls[0] > 6  # the retry with a smaller budget ran too


def test_cuda_oom_in_a_job_fails_it_naming_the_config_keys(
        annotated: RelProject, oom_engine: tuple[str, tuple[str, ...], list[int]]) -> None:
    name, keys, _ = oom_engine
    job = annotated.queue.submit("propagate", "source/clip.mp4", {"start": 0, "engine": name})
    assert Worker(annotated.settings, once=True).run() == 0
    failed = annotated.queue.get(job.id)
    assert failed.state == "failed" and "out of memory" in failed.error and "\n" not in failed.error
    assert all(key in failed.error for key in keys), failed.error
    log = annotated.queue.log_path(job.id).read_text()
    assert f"retrying with {keys[1]}" in log
    assert_records_match_files(annotated.workspace())


def _enospc_on_call(monkeypatch: pytest.MonkeyPatch, which: int) -> None:
    """Make the ``which``-th atomic file write from now on fail as on a full disk (at its fsync)."""
    count = [0]
    real = os.fsync

    def fsync(fd: int) -> None:
        count[0] += 1
        if count[0] == which:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(fd)

    monkeypatch.setattr(fsutil.os, "fsync", fsync)


@pytest.mark.parametrize("failing", [1, 3], ids=["soft_write", "mask_write"])  # fsync 2, 4: folders
def test_enospc_mid_write_frame_keeps_the_previous_mask_and_soft_agreeing(annotated: RelProject, failing: int,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """write_frame writes the soft masks, then the index mask: a full disk may strike at either."""
    ws = annotated.workspace()
    old = pattern(1, 3)
    ws.write_frame(4, old, provenance="user:free")
    records = ws.records()
    _enospc_on_call(monkeypatch, failing)
    with pytest.raises(OSError) as info:
        ws.write_frame(4, pattern(2, 40), provenance="user:free")
    monkeypatch.undo()
    assert info.value.errno == errno.ENOSPC
    np.testing.assert_array_equal(ws.read_mask(4), old)
    np.testing.assert_array_equal(ws.read_soft(4), hard_soft(old, 1))  # never the unsaved mask's soft masks
    assert annotated.workspace().records() == records
    assert no_temp_files(ws.root) == []
    ws.write_frame(4, pattern(2, 40), provenance="user:free")  # space is back: the write goes through
    np.testing.assert_array_equal(annotated.workspace().read_mask(4), pattern(2, 40))


@contextlib.contextmanager
def small_tmpfs(where: Path, size: str = "2m") -> Iterator[Path]:
    where.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", f"xmemrel{uuid.uuid4().hex[:6]}",
                             str(where)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({result.stderr.strip() or result.returncode}); "
                    "the patched-ENOSPC tests cover the same code path")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, check=False)


def _fill(folder: Path) -> Path:
    """Fill the file system of ``folder`` to the last byte; returns the filler file."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        for size in (65536, 4096, 1):  # unbuffered, so nothing is left to fail at close
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"\0" * size)
    finally:
        os.close(fd)
    return filler


@pytest.mark.timeout(120)
def test_real_full_disk_during_propagation_keeps_every_saved_mask(project: RelProject, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    with small_tmpfs(tmp_path / "disk") as disk:
        project.config.write_text(project.config.read_text() + f'[paths]\nworkspace_dir = "{disk}/workspace"\n')
        ws = project.workspace()
        ws.write_frame(0, project.truth[0], provenance="user:import")
        for i in (1, 2, 3):
            ws.write_frame(i, pattern(1, i), provenance="propagated")
        saved = file_digests(ws.root / "masks")
        filler = _fill(disk)
        code = main(["--config", str(project.config), "propagate", str(project.video), "--from", "0",
                     "--engine", "flow"])
        err = capsys.readouterr().err
        last = err.strip().splitlines()[-1]
        assert code == 2 and last.startswith("xmem-tui: error: No space left on device") and "free some space" in last
        assert "Traceback" not in err, err
        fresh = project.workspace()
        assert file_digests(fresh.root / "masks") == saved  # nothing saved was lost or damaged
        assert sorted(fresh.records()) == [0, 1, 2, 3]
        assert_masks_whole(fresh, {0, 1, 2})
        filler.unlink()  # space again: the same command now completes
        assert main(["--config", str(project.config), "propagate", str(project.video), "--from", "0",
                     "--engine", "flow", "--to", "5"]) == 0
        assert sorted(project.workspace().records()) == [0, 1, 2, 3, 4, 5]
