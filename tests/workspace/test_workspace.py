"""Workspace: atomic mask storage, provenance, journal/state consistency, locks, undo, source fingerprint."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from xmem_tui.errors import WorkspaceError
from xmem_tui.media.synthetic import SceneSpec, write_image_folder
from xmem_tui.workspace import SourceChanged, Workspace, WorkspaceBusy

SPEC = SceneSpec(height=64, width=96, n_frames=8, n_objects=2, seed=3)


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    folder = tmp_path / "source" / "clip"
    write_image_folder(folder, SPEC)
    return folder


@pytest.fixture
def ws(tmp_path: Path, clip: Path) -> Workspace:
    return Workspace.open(tmp_path / "workspace" / "clip", clip, processing_size=48)


def labels(shape: tuple[int, int], seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 3, size=shape, dtype=np.uint8)


def test_new_workspace_has_processing_shape_and_no_masks(ws: Workspace) -> None:
    assert ws.frame_count == 8
    assert ws.shape == (48, 72)
    assert ws.records() == {}
    assert ws.read_mask(0) is None and ws.read_soft(0) is None


def test_write_and_read_back_with_provenance(ws: Workspace) -> None:
    mask = labels(ws.shape, 1)
    soft = np.stack([(mask == 1) * 200, (mask == 2) * 100]).astype(np.uint8)
    ws.write_frame(3, mask, soft, provenance="user:click")
    ws.write_frame(4, mask, provenance="propagated", run="r1")
    np.testing.assert_array_equal(ws.read_mask(3), mask)
    np.testing.assert_array_equal(ws.read_soft(3), soft)
    np.testing.assert_array_equal(ws.read_soft(4)[1], (mask == 2) * 255)
    records = ws.records()
    assert records[3].user and records[3].provenance == "user:click"
    assert not records[4].user and records[4].run == "r1"
    assert ws.user_frames() == [3]
    assert sorted(ws.objects) == [1, 2]


def test_bad_writes_are_refused(ws: Workspace) -> None:
    with pytest.raises(WorkspaceError, match="resize it first"):
        ws.write_frame(0, np.zeros((10, 10), np.uint8))
    with pytest.raises(WorkspaceError, match="out of range"):
        ws.write_frame(8, np.zeros(ws.shape, np.uint8))
    with pytest.raises(WorkspaceError, match="unknown provenance"):
        ws.write_frame(0, np.zeros(ws.shape, np.uint8), provenance="magic")


def test_records_survive_reopen_and_other_processes_see_writes(ws: Workspace, clip: Path) -> None:
    other = Workspace.open(ws.root, clip, processing_size=48)
    ws.write_frame(1, labels(ws.shape, 2), provenance="user:free")
    assert 1 in other.records()
    other.clear_frame(1)
    assert 1 not in ws.records()
    ws.write_frame(2, labels(ws.shape, 3))
    ws.compact()
    reopened = Workspace.open(ws.root, clip, processing_size=48)
    assert list(reopened.records()) == [2]


def test_interrupted_write_keeps_the_previous_mask(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    first = labels(ws.shape, 4)
    ws.write_frame(5, first, provenance="user:click")

    def disk_full(*_args: object, **_kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(OSError, match="No space"):
        ws.write_frame(5, labels(ws.shape, 5), provenance="user:click")
    monkeypatch.undo()
    np.testing.assert_array_equal(ws.read_mask(5), first)
    assert not [p for p in (ws.root / "masks").iterdir() if p.name.startswith(".")]


def test_state_is_rebuilt_from_masks(ws: Workspace, clip: Path) -> None:
    ws.write_frame(0, labels(ws.shape, 6), provenance="user:scribble")
    ws.write_frame(1, labels(ws.shape, 7), provenance="propagated", run="abc")
    (ws.root / "state.json").unlink()
    (ws.root / "frames.jsonl").unlink()
    rebuilt = Workspace.open(ws.root, clip, processing_size=48)
    records = rebuilt.records()
    assert records[0].provenance == "user:scribble"
    assert records[1].run == "abc"
    (ws.root / "state.json").write_text("{not json")
    with pytest.raises(WorkspaceError, match="corrupt"):
        Workspace.open(ws.root, clip, processing_size=48)


def test_torn_journal_line_is_ignored(ws: Workspace, clip: Path) -> None:
    ws.write_frame(0, labels(ws.shape, 8), provenance="user:click")
    with open(ws.root / "frames.jsonl", "ab") as handle:
        handle.write(b'{"f": 1, "provenance": "propag')
    assert list(Workspace.open(ws.root, clip, processing_size=48).records()) == [0]


def test_changed_source_is_detected(ws: Workspace, clip: Path, tmp_path: Path) -> None:
    ws.write_frame(0, labels(ws.shape, 9), provenance="user:click")
    shutil.rmtree(clip)
    write_image_folder(clip, SceneSpec(height=64, width=96, n_frames=6, seed=3))
    with pytest.raises(SourceChanged, match="frame_count"):
        Workspace.open(ws.root, clip, processing_size=48)


def _hold(root: str, clip: str, started: multiprocessing.Event, release: multiprocessing.Event) -> None:
    ws = Workspace.open(Path(root), Path(clip), processing_size=48)
    with ws.exclusive("propagate"):
        started.set()
        release.wait(10)


def test_role_lock_refuses_a_second_holder_and_frees_on_exit(ws: Workspace, clip: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    started, release = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=_hold, args=(str(ws.root), str(clip), started, release))
    proc.start()
    try:
        assert started.wait(10)
        with pytest.raises(WorkspaceBusy, match=r"a propagation is already running \(pid \d+"), \
                ws.exclusive("propagate"):
            pass
        assert ws.holder("propagate")["pid"] == proc.pid
    finally:
        release.set()
        proc.join(10)
    with ws.exclusive("propagate", wait=2):
        assert ws.holder("propagate") is not None


def test_killed_holder_releases_the_lock(ws: Workspace, clip: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    started, release = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=_hold, args=(str(ws.root), str(clip), started, release))
    proc.start()
    assert started.wait(10)
    proc.kill()
    proc.join(10)
    with ws.exclusive("propagate"):
        pass


def test_undo_redo_across_sessions(ws: Workspace, clip: Path) -> None:
    a, b = labels(ws.shape, 10), labels(ws.shape, 11)
    ws.history_push(2)
    ws.write_frame(2, a, provenance="user:click")
    ws.history_push(2)
    ws.write_frame(2, b, provenance="user:free")
    later = Workspace.open(ws.root, clip, processing_size=48)
    assert later.undo(2)
    np.testing.assert_array_equal(later.read_mask(2), a)
    assert later.undo(2)
    assert later.read_mask(2) is None and 2 not in later.records()
    assert not later.undo(2)
    assert later.redo(2) and later.redo(2)
    np.testing.assert_array_equal(later.read_mask(2), b)
    assert later.records()[2].provenance == "user:free"
    assert not later.redo(2)


def test_stale_frames_after_upstream_edit(ws: Workspace) -> None:
    mask = labels(ws.shape, 12)
    ws.write_frame(0, mask, provenance="user:click")
    run = ws.begin_run(0, backward=False)
    for i in range(1, 6):
        ws.write_frame(i, mask, run=run)
    assert ws.stale_frames() == []
    ws.write_frame(3, mask, provenance="user:free")
    assert ws.stale_frames() == [4, 5]
    back = ws.begin_run(7, backward=True)
    ws.write_frame(6, mask, run=back)
    ws.write_frame(7, mask, provenance="user:click")
    assert 6 in ws.stale_frames()


def test_objects_can_be_named(ws: Workspace, clip: Path) -> None:
    ws.write_frame(0, labels(ws.shape, 13), provenance="user:click")
    ws.set_object(2, name="judoka")
    assert Workspace.open(ws.root, clip, processing_size=48).objects[2].name == "judoka"
    assert json.loads((ws.root / "state.json").read_text())["shape"] == [48, 72]


def test_propagated_mask_never_replaces_a_user_edit(ws: Workspace) -> None:
    user = labels(ws.shape, 14)
    ws.write_frame(4, user, provenance="user:scribble")
    record = ws.write_frame(4, labels(ws.shape, 15), provenance="propagated", run="r")
    assert record.provenance == "user:scribble"
    np.testing.assert_array_equal(ws.read_mask(4), user)
    ws.history_push(4)
    ws.write_frame(4, labels(ws.shape, 16), provenance="user:free")
    assert ws.undo(4)
    np.testing.assert_array_equal(ws.read_mask(4), user)


def test_a_bad_video_leaves_no_workspace_behind(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_text("not a video")
    with pytest.raises(WorkspaceError.__mro__[1]):
        Workspace.open(tmp_path / "workspace" / "bad", bad)
    assert not (tmp_path / "workspace" / "bad").exists()


def test_engine_choice_is_per_video_survives_reopen_and_compaction(ws: Workspace, clip: Path, tmp_path: Path) -> None:
    assert ws.engine is None
    other = Workspace.open(ws.root, clip, processing_size=48)  # another process's view
    ws.set_engine("cutie")
    assert other.engine == "cutie"  # seen through the journal
    ws.compact()
    assert Workspace.open(ws.root, clip, processing_size=48).engine == "cutie"
    ws.set_engine(None)
    assert other.engine is None
    second = tmp_path / "source" / "second"
    write_image_folder(second, SPEC)
    assert Workspace.open(tmp_path / "workspace" / "second", second, processing_size=48).engine is None
