"""Mask files are the truth, and masks come in every common convention: a mask changed by another program is
what the window, exports and propagations use; masks from DAVIS, XMem or Cutie import with the right ids;
what cannot be read as object labels is one line naming the file, its size and its values."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from xmem_tui.cli import main
from xmem_tui.media.masks import read_index_mask, read_mask_text, write_index_mask
from xmem_tui.media.palette import DAVIS_PALETTE

from .procs import RelProject, file_digests


def error_line(capsys: pytest.CaptureFixture[str], code: int, *fragments: str) -> str:
    """Exit 2, no traceback, and stderr ending in one ``xmem-tui: error: ...`` line holding ``fragments``
    (progress lines may precede it)."""
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert code == 2 and last.startswith("xmem-tui: error: ") and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in last, (fragment, last)
    return last


def _edited(shape: tuple[int, int]) -> np.ndarray:
    """The user's new mask for frame 10: object 2 where nothing was, no object 1."""
    mask = np.zeros(shape, np.uint8)
    mask[60:90, 100:150] = 2
    return mask


#: How another program may leave masks/00010.png, and the index mask that then is the truth.
EDITS: dict[str, Callable[[Path, np.ndarray], np.ndarray]] = {
    "palette_from_another_tool": lambda p, m: (write_index_mask(p, m), m)[1],
    "chunks_kept_pixels_changed": lambda p, m: (write_index_mask(p, m, text=read_mask_text(p)), m)[1],
    "greyscale_0_255": lambda p, m: (Image.fromarray((m > 0).astype(np.uint8) * 255).save(p), (m > 0) * 1)[1],
    "rgb_davis_colours": lambda p, m: (Image.fromarray(DAVIS_PALETTE[m]).save(p), m)[1],
}


@pytest.mark.timeout(240)
@pytest.mark.parametrize("edit", sorted(EDITS))
def test_a_mask_edited_outside_the_app_is_what_export_window_and_propagation_use(
        annotated: RelProject, capsys: pytest.CaptureFixture[str], edit: str) -> None:
    config = ["--config", str(annotated.config)]
    assert main([*config, "propagate", "clip.mp4", "--from", "0", "--to", "12"]) == 0
    ws = annotated.workspace()
    expected = EDITS[edit](ws.mask_path(10), _edited(ws.shape)).astype(np.uint8)
    stale_soft = file_digests(ws.root / "soft")["00010.png"]

    assert main([*config, "export", "clip.mp4", "--kind", "masks"]) == 0  # a fresh process: export
    exported = read_index_mask(annotated.root / "exports" / "clip_masks_png" / "00010.png")
    assert (exported[expected > 0] == expected[expected > 0]).mean() > 0.95
    assert (exported[expected == 0] == 0).mean() > 0.99  # the propagated object 1 is gone
    ws = annotated.workspace()
    assert ws.records()[10].provenance == "user:edit" and 10 in ws.user_frames()
    np.testing.assert_array_equal(ws.read_mask(10), expected)  # what the window shows
    assert file_digests(ws.root / "soft")["00010.png"] != stale_soft  # soft masks rebuilt from the edit

    assert main([*config, "propagate", "clip.mp4", "--from", "0", "--to", "15"]) == 0
    np.testing.assert_array_equal(annotated.workspace().read_mask(10), expected)  # kept, and used as a keyframe
    assert json.loads(read_mask_text(ws.mask_path(10))["xmem-tui"])["provenance"] == "user:edit"
    capsys.readouterr()


#: Masks no program should leave in a workspace, and what the one-line error must name.
UNUSABLE: dict[str, tuple[Callable[[Path, tuple[int, int]], None], tuple[str, ...]]] = {
    "wrong_size": (lambda p, s: write_index_mask(p, np.ones((s[0] // 2, s[1] // 2), np.uint8)),
                   ("00010.png (80x48, palette)", "160x96")),
    "object_id_200": (lambda p, s: write_index_mask(p, np.full(s, 200, np.uint8)),
                      ("00010.png (160x96, palette) has object id 200", "processing.max_objects = 9")),
    "rgb_not_labels": (lambda p, s: Image.fromarray(np.random.default_rng(0).integers(0, 255, (*s, 3), np.uint8))
                       .save(p), ("00010.png (160x96, colour)", "#")),
}


@pytest.mark.parametrize("case", sorted(UNUSABLE))
def test_an_unusable_mask_edit_is_one_line_naming_file_size_and_values(
        annotated: RelProject, capsys: pytest.CaptureFixture[str], case: str) -> None:
    write, fragments = UNUSABLE[case]
    ws = annotated.workspace()
    ws.write_frame(10, annotated.truth[10], provenance="propagated", run="r")
    write(ws.mask_path(10), ws.shape)
    edited = ws.mask_path(10).read_bytes()
    config = ["--config", str(annotated.config)]
    error_line(capsys, main([*config, "export", "clip.mp4", "--kind", "masks"]), *fragments)
    error_line(capsys, main([*config, "propagate", "clip.mp4", "--from", "10", "--to", "12"]), *fragments)
    assert ws.mask_path(10).read_bytes() == edited  # the user's file is left for the user to fix
    assert not ws.soft_path(10).exists()  # its stale soft masks are gone
    assert annotated.workspace().records()[10].provenance == "user:edit"
    assert sorted(p.name for p in (annotated.root / "exports").iterdir()) == []  # no output, no partial one


def test_davis2016_masks_import_as_object_1_naming_skipped_files(project: RelProject, media_dir: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    frames, masks = project.root / "source" / "dog", project.root / "dog_masks"
    frames.mkdir()
    masks.mkdir()
    for i in range(3):
        shutil.copy(media_dir / "davis16" / "dog" / "JPEGImages" / f"{i:05d}.jpg", frames)
        shutil.copy(media_dir / "davis16" / "dog" / "Annotations" / f"{i:05d}.png", masks)
    shutil.copy(masks / "00001.png", masks / "frame_0012.png")
    assert main(["--config", str(project.config), "import", "dog", str(masks)]) == 0
    out = capsys.readouterr().out
    assert "white is object 1" in out and "skipped 1 file(s) not named like 00012.png: frame_0012.png" in out
    assert "imported 3 masks" in out and "objects 1)" in out
    ws = project.workspace_of(frames)
    truth = np.asarray(Image.open(masks / "00001.png"))
    assert set(np.unique(ws.read_mask(1)).tolist()) == {0, 1} and ws.read_mask(1).sum() > 0
    assert (ws.read_mask(1) > 0).mean() == pytest.approx((truth == 255).mean(), abs=0.01)
    ws.compact()
    assert set(json.loads((ws.root / "state.json").read_text())["objects"]) == {"1"}  # registered
