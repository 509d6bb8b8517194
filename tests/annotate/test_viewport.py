"""Display geometry: the mask pixel drawn under the cursor is the one a click edits, at any zoom."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from xmem_tui.annotate.viewport import Viewport


def drawn_mask_coords(vp: Viewport) -> tuple[np.ndarray, np.ndarray]:
    """Which mask column/row each display pixel shows, drawn exactly as the renderer draws masks."""
    cols = np.tile(np.arange(vp.mask_w, dtype=np.float32), (vp.mask_h, 1))
    rows = np.tile(np.arange(vp.mask_h, dtype=np.float32)[:, None], (1, vp.mask_w))
    size = (vp.width, vp.height)
    m = vp.mask_matrix()
    return (cv2.warpAffine(cols, m, size, flags=cv2.INTER_NEAREST, borderValue=-1),
            cv2.warpAffine(rows, m, size, flags=cv2.INTER_NEAREST, borderValue=-1))


@pytest.mark.parametrize("zoom_steps", [0, 1, 2])
def test_mouse_maps_to_the_mask_pixel_drawn_under_it_at_1080p(zoom_steps: int) -> None:
    vp = Viewport((1920, 1080), (853, 480), (1600, 900))
    assert (vp.width, vp.height) == (1600, 900)
    vp.zoom(zoom_steps, 700, 400)
    cols, rows = drawn_mask_coords(vp)
    rng = np.random.default_rng(0)
    xs, ys = rng.integers(0, vp.width, 3000), rng.integers(0, vp.height, 3000)
    mapped = np.array([vp.to_mask(int(x), int(y)) for x, y in zip(xs, ys, strict=True)])
    agree = (mapped[:, 0] == cols[ys, xs]) & (mapped[:, 1] == rows[ys, xs])
    # Only pixels whose centre falls exactly on a mask pixel edge may round the other way.
    assert agree.mean() > 0.995


def test_fit_scale_and_no_upscaling_of_small_frames() -> None:
    vp = Viewport((854, 480), (854, 480), (1600, 900))
    assert vp.fitted and (vp.width, vp.height) == (854, 480)
    assert all(vp.to_mask(x, y) == (x, y) for x, y in [(0, 0), (853, 479), (400, 123)])
    assert vp.levels[-1] == 4.0 and 1.0 in vp.levels


def test_zoom_keeps_the_point_under_the_cursor_and_reaches_1_to_1() -> None:
    vp = Viewport((1920, 1080), (1920, 1080), (1600, 900))
    before = vp.to_source(800, 300)
    assert vp.zoom(1, 800, 300)
    assert vp.scale == 1.0
    after = vp.to_source(800, 300)
    assert abs(after[0] - before[0]) < 1 and abs(after[1] - before[1]) < 1
    assert vp.to_mask(801, 300)[0] - vp.to_mask(800, 300)[0] == 1  # one display pixel = one source pixel
    assert not vp.zoom(-5, 0, 0) or vp.fitted
    assert vp.fitted and (vp.ox, vp.oy) == (0.0, 0.0)


def test_pan_stays_inside_the_frame() -> None:
    vp = Viewport((1920, 1080), (1920, 1080), (1600, 900))
    assert not vp.pan(10, 10)  # nothing to pan at fit
    vp.zoom(2, 0, 0)
    vp.pan(100000, 100000)
    assert (vp.ox, vp.oy) == (0.0, 0.0)
    vp.pan(-100000, -100000)
    assert vp.to_mask(vp.width - 1, vp.height - 1) == (1919, 1079)


def test_mask_to_display_inverts_to_mask() -> None:
    vp = Viewport((1920, 1080), (853, 480), (1600, 900))
    for mx, my in [(0, 0), (852, 479), (400, 200)]:
        assert vp.to_mask(*vp.mask_to_display(mx, my)) == (mx, my)
