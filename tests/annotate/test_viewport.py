"""Display geometry: the mask pixel drawn under the cursor is the one a click edits, at any zoom."""

from __future__ import annotations

import numpy as np
import pytest

from xmem_tui.annotate.render import display_mask
from xmem_tui.annotate.viewport import Viewport


@pytest.mark.parametrize("zoom_steps", [0, 1, 2])
@pytest.mark.parametrize("sizes", [((1920, 1080), (853, 480), (1600, 900)), ((1280, 720), (854, 480), (1600, 900)),
                                   ((640, 360), (640, 360), (1600, 900)), ((1080, 1920), (480, 853), (1600, 900))])
def test_mouse_maps_to_the_mask_pixel_drawn_under_it(zoom_steps: int, sizes: tuple) -> None:
    """Every canvas pixel shows exactly the mask pixel a click there edits (not only most of them)."""
    vp = Viewport(*sizes)
    vp.zoom(zoom_steps, vp.width * 7 // 16, vp.height * 4 // 9)
    vp.pan(-37.5, 21.25)
    rng = np.random.default_rng(zoom_steps)
    # A mask whose every pixel differs from its neighbours, so a one-pixel slip is always seen.
    index = rng.integers(0, 256, (vp.mask_h, vp.mask_w), dtype=np.uint8)
    drawn = display_mask(index, vp)
    assert drawn.shape == (vp.height, vp.width)
    xs, ys = rng.integers(0, vp.width, 4000), rng.integers(0, vp.height, 4000)
    clicked = np.array([index[my, mx] for mx, my in (vp.to_mask(int(x), int(y)) for x, y in zip(xs, ys, strict=True))])
    assert np.array_equal(clicked, drawn[ys, xs])


def test_drawn_mask_agrees_with_the_continuous_mapping() -> None:
    """The lookup is the documented rule: the mask pixel containing the display pixel's centre."""
    vp = Viewport((1920, 1080), (853, 480), (1600, 900))
    vp.zoom(1, 700, 400)
    cols, rows = vp.mask_lookup()
    for dx in (0, 1, 399, 1599):
        x, _ = vp.to_source(dx, 0)
        assert cols[dx] == min(max(int(np.floor(x * 853 / 1920)), 0), 852)
    for dy in (0, 450, 899):
        _, y = vp.to_source(0, dy)
        assert rows[dy] == min(max(int(np.floor(y * 480 / 1080)), 0), 479)


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
