"""Importing DAVIS / XMem / Cutie mask folders, including the off-by-one-pixel judo mask."""

from __future__ import annotations

import json
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
from xmem_tui.workspace.labels import read_values


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


@pytest.fixture
def dog(tmp_path: Path, media_dir: Path) -> tuple[Path, Path]:
    """Four frames of DAVIS-2016 ``dog`` and their ground truth (greyscale 0/255), copied out of ../shared."""
    frames, masks = tmp_path / "source" / "dog", tmp_path / "dog_masks"
    frames.mkdir(parents=True)
    masks.mkdir()
    for i in range(4):
        shutil.copy(media_dir / "davis16" / "dog" / "JPEGImages" / f"{i:05d}.jpg", frames)
        shutil.copy(media_dir / "davis16" / "dog" / "Annotations" / f"{i:05d}.png", masks)
    return frames, masks


def test_davis2016_greyscale_masks_import_as_object_1_and_skipped_files_are_named(tmp_path: Path,
                                                                                  dog: tuple[Path, Path]) -> None:
    frames, masks = dog
    shutil.copy(masks / "00002.png", masks / "frame_0012.png")
    (masks / "notes.txt").write_text("annotator: me\n")
    ws = Workspace.open(tmp_path / "ws", frames, processing_size=240)
    report = import_masks(ws, masks)
    assert report.imported == [0, 1, 2, 3] and report.objects == [1]
    assert report.skipped == ["frame_0012.png", "notes.txt"]
    assert any("DAVIS-2016" in note for note in report.notes)
    truth = read_values(masks / "00002.png").values
    np.testing.assert_array_equal(ws.read_mask(2), mask_to_shape((truth == 255).astype(np.uint8), ws.shape))
    assert sorted(ws.objects) == [1]
    ws.compact()
    assert json.loads((ws.root / "state.json").read_text())["objects"].keys() == {"1"}


def _frames(tmp_path: Path, shape: tuple[int, int] = (48, 64), n: int = 3) -> Path:
    from xmem_tui.media.synthetic import SceneSpec, write_image_folder

    folder = tmp_path / "source" / "clip"
    write_image_folder(folder, SceneSpec(height=shape[0], width=shape[1], n_frames=n, seed=1))
    return folder


def test_colour_coded_and_grey_level_folders_keep_each_objects_id_across_frames(tmp_path: Path) -> None:
    from PIL import Image

    ws = Workspace.open(tmp_path / "ws", _frames(tmp_path), processing_size=-1)
    colours = tmp_path / "colours"
    colours.mkdir()
    red, blue = (255, 0, 0), (0, 0, 255)  # not DAVIS palette colours: ids by colour value (blue, then red)
    for index, present in enumerate([(red, blue), (red,), (blue,)]):
        rgb = np.zeros((48, 64, 3), np.uint8)
        for k, colour in enumerate(present):
            rgb[10 * k: 10 * k + 8, :] = colour
        Image.fromarray(rgb).save(colours / f"{index:05d}.png")
    report = import_masks(ws, colours)
    assert report.objects == [1, 2] and "#0000FF -> object 1" in report.notes[0]
    assert set(np.unique(ws.read_mask(1)).tolist()) == {0, 2} and set(np.unique(ws.read_mask(2)).tolist()) == {0, 1}

    greys = tmp_path / "greys"
    greys.mkdir()
    for index, level in enumerate([128, 255, 128]):
        Image.fromarray(np.full((48, 64), level, np.uint8)).save(greys / f"{index:05d}.png")
    import_masks(ws, greys)
    assert [int(ws.read_mask(i).max()) for i in range(3)] == [1, 2, 1]


def test_ids_above_max_objects_are_refused_naming_file_and_id(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path / "ws", _frames(tmp_path), processing_size=-1)
    masks = tmp_path / "masks"
    write_index_mask(masks / "00000.png", np.ones((48, 64), np.uint8))
    write_index_mask(masks / "00001.png", np.full((48, 64), 200, np.uint8))
    with pytest.raises(WorkspaceError, match=r"00001\.png \(64x48, palette\) has object id 200, above "
                                             r"processing\.max_objects = 4"):
        import_masks(ws, masks, max_objects=4)
    assert ws.records() == {} and ws.objects == {}
