"""Mask images in the conventions other tools write, read as values of one kind and turned into object ids."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from xmem_tui.media.palette import DAVIS_PALETTE
from xmem_tui.workspace.labels import COLOUR, GREY, INDEX, LabelPlan, read_values


def test_palette_conventions_other_tools_write(tmp_path: Path) -> None:
    ids = np.zeros((8, 10), np.uint8)
    ids[2:5, 2:5], ids[5:, 6:] = 1, 2
    reordered = Image.fromarray(np.select([ids == 1, ids == 2], [7, 3], 0).astype(np.uint8), mode="P")
    palette = np.zeros((256, 3), np.uint8)
    palette[7], palette[3] = DAVIS_PALETTE[1], DAVIS_PALETTE[2]  # an editor renumbered the palette
    reordered.putpalette(palette.tobytes())
    reordered.save(tmp_path / "reordered.png")
    grey = Image.fromarray(np.where(ids > 0, 1, 0).astype(np.uint8), mode="P")
    grey.putpalette(bytes([0, 0, 0, 255, 255, 255]) + bytes(762))  # a black/white palette: 0/255 grey
    grey.save(tmp_path / "grey.png")
    matte = np.zeros((8, 10, 4), np.uint8)
    matte[..., 3] = np.where(ids == 1, 255, 0)  # one colour everywhere, the mask in alpha
    Image.fromarray(matte).save(tmp_path / "matte.png")
    own = Image.fromarray(ids, mode="P")
    own.putpalette(bytes(range(256)) * 3)  # a palette of its own: indices are ids
    own.save(tmp_path / "own.png")
    cases = {"reordered": (COLOUR, ids), "grey": (GREY, (ids > 0).astype(np.uint8)),
             "matte": (GREY, (ids == 1).astype(np.uint8)), "own": (INDEX, ids)}
    for name, (kind, expected) in cases.items():
        values = read_values(tmp_path / f"{name}.png")
        assert values.kind == kind, name
        plan = LabelPlan.decide([values.survey()], 9, colour_coded=False)
        np.testing.assert_array_equal(plan.labels(values), expected, err_msg=name)
