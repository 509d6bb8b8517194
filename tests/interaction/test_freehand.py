"""Brush, lasso and eraser on index masks and scribble maps."""

from __future__ import annotations

import numpy as np

from xmem_tui.interaction import freehand


def test_fast_drag_leaves_no_gap() -> None:
    region = freehand.stroke_mask((50, 200), [(10, 25), (190, 25)], radius=3)
    # every column between the two far-apart points is painted on the stroke's row
    assert region[25, 10:191].all()
    # the brush is round and as wide as its diameter, not wider
    assert region[22:29, 100].all() and not region[21, 100] and not region[29, 100]


def test_single_point_is_a_disc() -> None:
    region = freehand.stroke_mask((40, 40), [(20, 20)], radius=5)
    yy, xx = np.mgrid[0:40, 0:40]
    disc = (yy - 20) ** 2 + (xx - 20) ** 2 <= 25
    assert (region == disc).mean() > 0.97  # rasterised circle vs exact disc
    assert region[20, 20] and not region[20, 27]


def test_brush_paints_current_object_and_erase_with_zero() -> None:
    mask = np.zeros((30, 30), np.uint8)
    mask[5:15, 5:15] = 1
    painted = freehand.brush(mask, [(20, 20), (25, 20)], radius=2, label=2)
    assert (painted[18:23, 20:26] == 2).all()
    assert (painted[5:15, 5:15] == 1).all()
    assert mask.max() == 1  # input untouched
    erased = freehand.brush(painted, [(10, 10)], radius=2, label=0)
    assert erased[10, 10] == 0 and erased[5, 5] == 1


def test_lasso_fills_polygon_and_takes_pixels_from_other_objects() -> None:
    mask = np.full((40, 40), 1, np.uint8)
    out = freehand.lasso(mask, [(10, 10), (30, 10), (30, 30), (10, 30)], label=3)
    assert (out[10:31, 10:31] == 3).all()
    assert (out[:10] == 1).all() and (out[31:] == 1).all()
    # one label per pixel: object 1 lost exactly the lasso pixels
    assert ((out == 1) | (out == 3)).all()


def test_degenerate_lasso_keeps_outline() -> None:
    out = freehand.lasso(np.zeros((20, 20), np.uint8), [(2, 2), (12, 2)], label=1)
    assert out[2, 2:13].all() and out.sum() == 11


def test_scribble_map_uses_no_scribble_value() -> None:
    scribbles = np.full((20, 20), 255, np.uint8)
    out = freehand.scribble(scribbles, [(5, 5), (15, 5)], radius=1, label=0)
    assert out[5, 10] == 0 and out[15, 10] == 255
