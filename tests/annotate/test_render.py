"""What the canvas shows in each view mode, and that unchanged layers are not recomputed."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from xmem_tui.annotate.controller import Controller
from xmem_tui.annotate.render import GREEN_BGR, HUD_HEIGHT, Renderer
from xmem_tui.media.palette import object_color

from .drive import drag, press


def painted(make_controller: Callable[..., Controller]) -> Controller:
    ctl = make_controller()
    press(ctl, "l", "2")
    drag(ctl, [(100, 100), (300, 100), (300, 300), (100, 300)])
    return ctl


def test_each_view_mode(make_controller: Callable[..., Controller]) -> None:
    ctl = painted(make_controller)
    renderer = Renderer()
    source = cv2.cvtColor(ctl.source, cv2.COLOR_RGB2BGR).astype(int)
    r, g, b = object_color(2)
    inside, outside = (200, 200), (400, 200)  # (row, col)
    canvas = {}
    for view in ("overlay", "mask", "cutout", "contour", "source"):
        ctl.view = view
        canvas[view] = renderer.render(ctl).astype(int)
        assert canvas[view].shape == (480 + HUD_HEIGHT, 854, 3)
    assert np.array_equal(canvas["source"][:480], source)
    assert np.array_equal(canvas["overlay"][outside], source[outside])
    assert np.abs(canvas["overlay"][inside] - (source[inside] + np.array([b, g, r])) / 2).max() <= 1
    assert list(canvas["mask"][inside]) == [b, g, r] and list(canvas["mask"][outside]) == [0, 0, 0]
    assert np.array_equal(canvas["cutout"][inside], source[inside])
    assert list(canvas["cutout"][outside]) == list(GREEN_BGR)
    assert list(canvas["contour"][100, 200]) == [b, g, r]  # the lasso's top edge
    assert np.array_equal(canvas["contour"][inside], source[inside])


def test_hud_strip_and_help_overlay(make_controller: Callable[..., Controller]) -> None:
    ctl = painted(make_controller)
    renderer = Renderer()
    plain = renderer.render(ctl)
    hud = plain[480:]
    assert (hud > 200).any() and hud.mean() < 80  # light text on a dark strip
    ctl.show_help = True
    helped = renderer.render(ctl)
    assert helped[:480].mean() < plain[:480].mean() * 0.6


def test_stroke_preview_and_cached_layers(make_controller: Callable[..., Controller]) -> None:
    ctl = painted(make_controller)
    renderer = Renderer()
    renderer.render(ctl)
    composite = renderer._composite
    press(ctl, "f")
    ctl.mouse_down("left", 500, 400)
    ctl.mouse_move(600, 400)
    with_stroke = renderer.render(ctl)
    assert renderer._composite is composite  # the frame and mask did not change: no recomposition
    r, g, b = object_color(2)
    assert list(with_stroke[400, 550]) == [b, g, r]
    ctl.mouse_up("left", 600, 400)
    renderer.render(ctl)
    assert renderer._composite is not composite
