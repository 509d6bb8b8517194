"""Importing DAVIS / XMem / Cutie mask folders, including the off-by-one-pixel judo mask."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from xmem_tui.cli import main
from xmem_tui.errors import WorkspaceError
from xmem_tui.mask_import import import_masks
from xmem_tui.media.masks import read_index_mask, write_index_mask
from xmem_tui.media.resize import mask_to_shape
from xmem_tui.workspace import Workspace


@pytest.fixture
def judo(tmp_path: Path, media_dir: Path) -> Path:
    folder = tmp_path / "source" / "judo"
    shutil.copytree(media_dir / "judo" / "JPEGImages", folder)
    return folder


def test_judo_annotations_import_with_resize_warning(tmp_path: Path, judo: Path, media_dir: Path) -> None:
    ws = Workspace.open(tmp_path / "ws", judo, processing_size=240)
    report = import_masks(ws, media_dir / "judo" / "Annotations")
    assert report.imported == [0, 5, 8, 13]
    assert report.resized == [5]
    assert "853x480" in report.warnings[0]
    assert ws.user_frames() == [0, 5, 8, 13]
    original = read_index_mask(media_dir / "judo" / "Annotations" / "00013.png")
    expected = mask_to_shape(original, ws.shape)
    np.testing.assert_array_equal(ws.read_mask(13), expected)
    assert set(np.unique(ws.read_mask(13)).tolist()) == {0, 4}  # DAVIS-style: only the new object
    assert ws.records()[8].provenance == "user:import"


def test_grossly_wrong_size_is_refused_before_writing(tmp_path: Path, judo: Path) -> None:
    masks = tmp_path / "masks"
    write_index_mask(masks / "00000.png", np.ones((480, 854), np.uint8))
    write_index_mask(masks / "00003.png", np.ones((100, 100), np.uint8))
    ws = Workspace.open(tmp_path / "ws", judo, processing_size=240)
    with pytest.raises(WorkspaceError, match="belong to another video"):
        import_masks(ws, masks)
    assert ws.records() == {}


def test_frame_beyond_the_video_is_refused(tmp_path: Path, judo: Path) -> None:
    masks = tmp_path / "masks"
    write_index_mask(masks / "00099.png", np.ones((480, 854), np.uint8))
    ws = Workspace.open(tmp_path / "ws", judo, processing_size=240)
    with pytest.raises(WorkspaceError, match="frame 99 does not exist"):
        import_masks(ws, masks)


def test_processing_size_masks_are_accepted(tmp_path: Path, judo: Path) -> None:
    masks = tmp_path / "masks"
    write_index_mask(masks / "00002.png", np.full((240, 427), 2, np.uint8))
    ws = Workspace.open(tmp_path / "ws", judo, processing_size=240)
    assert import_masks(ws, masks).resized == []
    assert ws.read_mask(2).min() == 2


def test_import_command(tmp_path: Path, judo: Path, media_dir: Path, capsys: pytest.CaptureFixture[str],
                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["import", str(judo), str(media_dir / "judo" / "Annotations")]) == 0
    out = capsys.readouterr().out
    assert "imported 4 masks" in out and "frames 0, 5, 8, 13" in out
    assert main(["import", str(judo), str(tmp_path / "nowhere")]) == 2
    assert "is not a folder of masks" in capsys.readouterr().err
