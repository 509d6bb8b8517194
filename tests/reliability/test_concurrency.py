"""Several processes on one workspace: a second annotation window, racing writers, a window beside a propagation."""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import pytest

from xmem_tui.cli import main
from xmem_tui.media.masks import read_mask_text
from xmem_tui.workspace import hard_soft

from .checks import assert_records_match_files
from .procs import HERE, RelProject, wait_for
from .writer_loop import identify, pattern

HOLD = """
import sys, time
from pathlib import Path
from xmem_tui.config import load_settings
from xmem_tui.workspace import Workspace
ws = Workspace.for_video(load_settings(Path(sys.argv[1])), Path(sys.argv[2]))
with ws.exclusive("annotate"):
    Path(sys.argv[3]).touch()
    time.sleep(120)
"""

pytestmark = pytest.mark.slow  # real processes


@pytest.mark.timeout(120)
def test_second_annotation_window_is_refused_naming_the_first(annotated: RelProject, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    ready = annotated.root / "holding"
    holder = annotated.spawn([sys.executable, "-c", HOLD, str(annotated.config), str(annotated.video), str(ready)],
                             "holder")
    wait_for(ready.exists, 60, what="the first window to hold the workspace")
    monkeypatch.setenv("DISPLAY", ":0")  # refused before any window is opened, so no X server is needed
    code = main(["--config", str(annotated.config), "annotate", str(annotated.video)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith(f"xmem-tui: error: clip.mp4: it is open in another window (pid {holder.pid} on ")
    assert "close it first" in err
    # an open window does not block a propagation (different role): both may work on the workspace
    assert main(["--config", str(annotated.config), "propagate", str(annotated.video), "--from", "0",
                 "--to", "2"]) == 0
    assert annotated.workspace().holder("annotate")["pid"] == holder.pid


def _writer(project: RelProject, writer: int, count: int, frames: str, provenance: str, go: str):
    argv = [sys.executable, str(HERE / "writer_loop.py"), str(project.config), str(project.root / "clip.mp4"),
            str(writer), str(count), frames, provenance, go]
    return project.spawn(argv, f"writer{writer}")


@pytest.mark.timeout(180)
@pytest.mark.parametrize("second", ["user:scribble", "propagated"])
def test_two_processes_writing_one_workspace_never_interleave(annotated: RelProject, second: str) -> None:
    """Every mask file is one writer's mask entirely, with that writer's soft masks, provenance and record.

    Writer 1 saves user edits. Writer 2 saves user edits too (either may win a frame), or propagated masks,
    which the workspace never lets replace a user edit: then writer 1 must win every frame.
    """
    project = annotated
    (project.root / "clip.mp4").symlink_to(project.video)
    count, frames = 120, 20
    go = project.root / "go"
    writers = [_writer(project, 1, count, f"0-{frames - 1}", "user:free", str(go)),
               _writer(project, 2, count, f"0-{frames - 1}", second, str(go))]
    for w in (1, 2):
        wait_for((project.root / f"clip.mp4.{w}.ready").exists, 60, what=f"writer {w}")
    go.touch()
    for process in writers:
        assert process.wait(120) == 0, project.output("writer1") + project.output("writer2")
    ws = project.workspace()
    records = ws.records()
    last = {f: max(n for n in range(count) if n % frames == f) for f in range(frames)}
    for index in range(frames):
        mask = ws.read_mask(index)
        who = identify(mask)
        assert who is not None and who[1] == last[index], (index, who)  # one writer's last mask, whole
        writer = who[0]
        assert writer == 1 or second.startswith("user:"), (index, who)
        np.testing.assert_array_equal(ws.read_soft(index), hard_soft(mask, writer))  # soft from the same write
        meta = json.loads(read_mask_text(ws.mask_path(index))["xmem-tui"])
        expected = "user:free" if writer == 1 else second
        assert meta["provenance"] == records[index].provenance == expected
        assert meta["time"] == records[index].time and meta["run"] == records[index].run  # the journal agrees
    assert_records_match_files(ws)
    (a0, a1), (b0, b1) = ((float(t) for t in (project.root / f"clip.mp4.{w}.span").read_text().split())
                          for w in (1, 2))
    overlap = min(a1, b1) - max(a0, b0)
    assert overlap > 0.5 * min(a1 - a0, b1 - b0), ((a0, a1), (b0, b1))  # the writers really ran together


@pytest.mark.timeout(180)
def test_window_edits_during_a_propagation_are_kept(annotated: RelProject) -> None:
    """A window-like writer saves user masks ahead of a running propagation: the propagation uses them as
    they are and never overwrites them; frames behind it edited later keep the edit too."""
    project = annotated
    propagation = project.spawn(project.command("propagate", "source/clip.mp4", "--from", "0", "--engine", "flow"),
                                "propagate")
    ws = project.workspace()
    wait_for(lambda: len(ws.records()) >= 3, 60, what="the propagation to write its first frames")
    ahead = {i: pattern(1 + i % 2, i) for i in range(30, 36)}
    for index, mask in ahead.items():  # the window saves as the user works, frame by frame
        ws.write_frame(index, mask, provenance="user:free")
        time.sleep(0.02)
    behind = sorted(i for i, r in ws.records().items() if not r.user)[:2]
    for index in behind:
        ws.write_frame(index, pattern(1, 100 + index), provenance="user:free")
    assert propagation.wait(120) == 0, project.output("propagate")
    final = project.workspace()
    records = final.records()
    assert sorted(records) == list(range(40))
    for index, mask in ahead.items():
        np.testing.assert_array_equal(final.read_mask(index), mask)
        assert records[index].provenance == "user:free"
    for index in behind:
        np.testing.assert_array_equal(final.read_mask(index), pattern(1, 100 + index))
        assert records[index].provenance == "user:free"
    assert_records_match_files(final)
