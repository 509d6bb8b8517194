"""Mask files are the truth: a mask changed by another program is detected by its pixels, converted where
unambiguous, kept as the user's edit with soft masks rebuilt from it, or refused naming file, size and values."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from xmem_tui.errors import UserError
from xmem_tui.media.masks import read_mask_text, write_index_mask
from xmem_tui.media.palette import DAVIS_PALETTE
from xmem_tui.media.synthetic import SceneSpec, write_image_folder
from xmem_tui.workspace import Workspace

SPEC = SceneSpec(height=64, width=96, n_frames=8, n_objects=2, seed=3)


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    clip = tmp_path / "source" / "clip"
    write_image_folder(clip, SPEC)
    ws = Workspace.open(tmp_path / "workspace" / "clip", clip, processing_size=48, max_objects=3)
    old = np.zeros(ws.shape, np.uint8)
    old[5:20, 5:20] = 1
    soft = np.zeros((1, *ws.shape), np.uint8)
    soft[0, 5:20, 5:20] = 180  # a propagated frame with smooth soft masks
    ws.write_frame(4, old, soft, provenance="propagated", run="r1")
    return ws


def _new_mask(ws: Workspace, k: int = 2) -> np.ndarray:
    mask = np.zeros(ws.shape, np.uint8)
    mask[20:40, 30:60] = k
    return mask


def _reopened(ws: Workspace) -> Workspace:
    return Workspace.open(ws.root, ws.video_path, processing_size=48, max_objects=3)


def _assert_adopted(ws: Workspace, expected: np.ndarray) -> None:
    """Every reader agrees on the edited mask: records, mask, soft masks, another process's view."""
    assert ws.records()[4].provenance == "user:edit" and 4 in ws.user_frames()
    np.testing.assert_array_equal(ws.read_mask(4), expected)
    soft = ws.read_soft(4)
    for k in range(1, soft.shape[0] + 1):
        np.testing.assert_array_equal(soft[k - 1], (expected == k) * 255)  # no stale propagated edges
    other = _reopened(ws)
    assert other.records()[4].provenance == "user:edit"
    np.testing.assert_array_equal(other.read_soft(4)[:soft.shape[0]], soft)
    meta = json.loads(read_mask_text(ws.mask_path(4))["xmem-tui"])
    assert meta["provenance"] == "user:edit"  # saved back in this app's format


def test_a_palette_mask_from_another_tool_is_the_users_edit(ws: Workspace) -> None:
    new = _new_mask(ws)
    write_index_mask(ws.mask_path(4), new)  # no provenance, no checksums: another tool's palette PNG
    _assert_adopted(ws, new)


def test_an_edit_that_keeps_the_text_chunks_is_found_by_its_pixels(ws: Workspace) -> None:
    text = read_mask_text(ws.mask_path(4))
    new = _new_mask(ws, 1)
    write_index_mask(ws.mask_path(4), new, text=text)  # an editor that preserves metadata
    _assert_adopted(ws, new)


def test_another_frames_file_copied_over_is_an_edit(ws: Workspace) -> None:
    other = _new_mask(ws, 1)
    ws.write_frame(6, other, provenance="user:free")
    shutil.copy(ws.mask_path(6), ws.mask_path(4))
    _assert_adopted(ws, other)


def test_greyscale_and_rgb_masks_are_converted(ws: Workspace) -> None:
    binary = np.zeros(ws.shape, np.uint8)
    binary[10:30, 10:40] = 255
    Image.fromarray(binary).save(ws.mask_path(4))  # DAVIS-2016 style 0/255 grey
    _assert_adopted(ws, (binary == 255).astype(np.uint8))

    ids = _new_mask(ws, 3)
    ids[0:5, 0:5] = 1
    Image.fromarray(DAVIS_PALETTE[ids]).save(ws.mask_path(4))  # flattened to RGB by an editor
    _assert_adopted(ws, ids)

    levels = np.zeros(ws.shape, np.uint8)
    levels[:, :20], levels[:, 40:] = 128, 255  # a few grey levels: ids in order
    Image.fromarray(levels).save(ws.mask_path(4))
    _assert_adopted(ws, np.select([levels == 128, levels == 255], [1, 2], 0).astype(np.uint8))


def _noise(shape: tuple[int, int]) -> np.ndarray:
    return np.random.default_rng(1).integers(0, 255, (*shape, 3), dtype=np.uint8)


UNUSABLE = {  # name: (write the file, fragments of the error)
    "wrong_size": (lambda p, s: write_index_mask(p, np.ones((s[0] * 2, s[1] * 2), np.uint8)),
                   ["(144x96, palette)", "72x48"]),
    "id_200": (lambda p, s: write_index_mask(p, np.full(s, 200, np.uint8)),
               ["(72x48, palette) has object id 200", "processing.max_objects = 3"]),
    "rgb_noise": (lambda p, s: Image.fromarray(_noise(s)).save(p), ["(72x48, colour)", "#"]),
    "anti_aliased_grey": (lambda p, s: Image.fromarray(np.arange(s[0] * s[1]).reshape(s).astype(np.uint8)).save(p),
                          ["(72x48, greyscale)", "grey values 0, 1, 2"]),
}


@pytest.mark.parametrize("case", sorted(UNUSABLE))
def test_an_unusable_edit_is_refused_naming_file_size_and_values(ws: Workspace, case: str) -> None:
    write, fragments = UNUSABLE[case]
    write(ws.mask_path(4), ws.shape)
    before = ws.mask_path(4).read_bytes()
    for read in (ws.read_mask, ws.read_soft):
        with pytest.raises(UserError) as info:
            read(4)
        assert "00004.png" in str(info.value) and "\n" not in str(info.value)
        for fragment in fragments:
            assert fragment in str(info.value), (fragment, str(info.value))
    assert ws.records()[4].provenance == "user:edit"  # still the user's: nothing replaces it
    assert not ws.soft_path(4).exists()  # its stale soft masks are gone
    assert ws.mask_path(4).read_bytes() == before  # the user's file is left as it is
    ws.write_frame(4, _new_mask(ws), provenance="propagated", run="r2")
    assert ws.mask_path(4).read_bytes() == before


def test_a_propagation_never_overwrites_an_external_edit(ws: Workspace) -> None:
    new = _new_mask(ws, 1)
    write_index_mask(ws.mask_path(4), new)
    record = ws.write_frame(4, _new_mask(ws, 2), provenance="propagated", run="r2")  # no records() read first
    assert record.provenance == "user:edit"
    np.testing.assert_array_equal(ws.read_mask(4), new)


def test_a_touched_file_is_not_an_edit_and_a_deleted_one_loses_its_record(ws: Workspace) -> None:
    os.utime(ws.mask_path(4), (1, 1))
    assert ws.records()[4].provenance == "propagated"
    assert ws.read_soft(4).max() == 180  # its own soft masks are still used
    ws.mask_path(4).unlink()
    assert 4 not in ws.records() and not ws.soft_path(4).exists()
    assert 4 not in _reopened(ws).records()


def test_masks_saved_before_the_pixel_checksum_are_trusted_until_changed(ws: Workspace) -> None:
    """A workspace of an earlier version: masks carry provenance and the soft-mask link, no pixel checksum."""
    text = read_mask_text(ws.mask_path(4))
    old_mask = ws.read_mask(4)
    write_index_mask(ws.mask_path(4), old_mask, text={k: v for k, v in text.items() if k != "xmem-tui-mask-crc32"})
    ws.compact()
    state = json.loads((ws.root / "state.json").read_text())
    state.pop("files")
    state["version"] = 1
    (ws.root / "state.json").write_text(json.dumps(state))
    upgraded = _reopened(ws)
    assert upgraded.records()[4].provenance == "propagated" and upgraded.read_soft(4).max() == 180
    write_index_mask(ws.mask_path(4), _new_mask(ws, 1), text=text | {"xmem-tui-mask-crc32": "0"})
    assert upgraded.records()[4].provenance == "user:edit"
