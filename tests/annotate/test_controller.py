"""Editing tools of the annotation controller, driven without a window: events in, masks on disk out."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from xmem_tui.annotate.controller import Controller
from xmem_tui.annotate.render import hud_text
from xmem_tui.annotate.segmenters import Segmenters
from xmem_tui.config import Settings
from xmem_tui.media.frames import FrameReader
from xmem_tui.workspace import Workspace

from .drive import click, disc, drag, press
from .fakes import CLICK_RADIUS


def test_click_segments_current_object_and_saves_it_as_user_click(make_controller: Callable[..., Controller],
                                                                    ws: Workspace) -> None:
    ctl = make_controller()
    press(ctl, "2")
    click(ctl, 300, 200)
    mask = ws.read_mask(0)
    assert mask is not None
    assert np.array_equal(mask == 2, disc(ws.shape, 300, 200, CLICK_RADIUS))  # judo: display == mask grid
    assert ws.records()[0].provenance == "user:click"


def test_clicks_of_one_session_refine_one_object(make_controller: Callable[..., Controller], ws: Workspace) -> None:
    ctl = make_controller()
    click(ctl, 300, 200)
    click(ctl, 330, 200)
    click(ctl, 315, 200, button="right")
    mask = ws.read_mask(0)
    assert mask is not None
    expected = (disc(ws.shape, 300, 200, CLICK_RADIUS) | disc(ws.shape, 330, 200, CLICK_RADIUS)) & ~disc(
        ws.shape, 315, 200, CLICK_RADIUS)
    assert np.array_equal(mask == 1, expected)
    assert ctl.segmenters.click().sessions == 1


def test_a_new_object_keeps_the_others(make_controller: Callable[..., Controller], ws: Workspace) -> None:
    ctl = make_controller()
    click(ctl, 200, 200)
    press(ctl, "3")
    click(ctl, 600, 300)
    mask = ws.read_mask(0)
    assert mask is not None
    assert mask[200, 200] == 1 and mask[300, 600] == 3
    assert set(np.unique(mask)) == {0, 1, 3}


def test_click_with_background_selected_explains_instead_of_writing(make_controller: Callable[..., Controller],
                                                                     ws: Workspace) -> None:
    ctl = make_controller()
    press(ctl, "0")
    click(ctl, 300, 200)
    assert ws.read_mask(0) is None
    assert "1-9" in ctl.message


def test_free_brush_paints_and_right_button_erases_only_the_current_object(
        make_controller: Callable[..., Controller], ws: Workspace) -> None:
    ctl = make_controller()
    press(ctl, "f", "1")
    drag(ctl, [(100, 100), (300, 100)])
    press(ctl, "2")
    drag(ctl, [(100, 130), (300, 130)])
    mask = ws.read_mask(0)
    assert mask is not None
    r = ctl.radius
    assert mask[100, 200] == 1 and mask[130, 200] == 2
    width = int((mask[:, 200] == 1).sum())
    assert 2 * r + 1 <= width <= 2 * r + 3  # the brush diameter (freehand may round the edge outward)
    assert ws.records()[0].provenance == "user:free"
    press(ctl, "1")
    drag(ctl, [(200, 100), (200, 130)], button="right")  # crosses both strokes
    mask = ws.read_mask(0)
    assert mask is not None
    assert mask[100, 200] == 0 and mask[130, 200] == 2 and mask[100, 120] == 1


def test_background_object_is_an_eraser(make_controller: Callable[..., Controller], ws: Workspace) -> None:
    ctl = make_controller()
    press(ctl, "f")
    drag(ctl, [(100, 100), (300, 100)])
    press(ctl, "0")
    drag(ctl, [(200, 60), (200, 140)])
    mask = ws.read_mask(0)
    assert mask is not None
    assert mask[100, 200] == 0 and mask[100, 120] == 1


def test_lasso_fills_the_polygon_and_right_button_clears_it(make_controller: Callable[..., Controller],
                                                             ws: Workspace) -> None:
    ctl = make_controller()
    press(ctl, "l", "4")
    drag(ctl, [(100, 100), (200, 100), (200, 200), (100, 200)])
    mask = ws.read_mask(0)
    assert mask is not None
    assert (mask[101:200, 101:200] == 4).all() and mask[99, 150] == 0 and mask[150, 201] == 0
    assert ws.records()[0].provenance == "user:lasso"
    drag(ctl, [(150, 90), (250, 90), (250, 210), (150, 210)], button="right")
    mask = ws.read_mask(0)
    assert mask is not None
    assert mask[150, 120] == 4 and mask[150, 170] == 0


def test_scribble_feeds_the_segmenter_positive_and_background_scribbles(
        make_controller: Callable[..., Controller], ws: Workspace) -> None:
    ctl = make_controller()
    press(ctl, "w", "2")
    drag(ctl, [(400, 250), (500, 250)])
    mask = ws.read_mask(0)
    assert mask is not None
    assert mask[250, 450] == 2 and mask[250 - ctl.radius - 2, 450] == 0
    assert ws.records()[0].provenance == "user:scribble"
    drag(ctl, [(450, 240), (450, 260)], button="right")  # a background scribble across it
    mask = ws.read_mask(0)
    assert mask is not None
    assert mask[250, 450] == 0 and mask[250, 410] == 2


def test_brush_size_keys_and_wheel(make_controller: Callable[..., Controller]) -> None:
    ctl = make_controller()
    start = ctl.radius
    press(ctl, "]")
    assert ctl.radius > start
    press(ctl, "[", "[")
    assert ctl.radius < start
    before = ctl.radius
    ctl.wheel(120)
    assert ctl.radius == before + 1
    for _ in range(200):
        ctl.wheel(-120)
    assert ctl.radius == 1


def test_brush_grows_gently_and_comes_back(make_controller: Callable[..., Controller]) -> None:
    """Twenty ``]`` from the default 8 px gave 217 px (20% a step); the size must stay dialable."""
    ctl = make_controller()
    assert ctl.radius == 8
    sizes = []
    for _ in range(20):
        press(ctl, "]")
        sizes.append(ctl.radius)
    assert 40 <= ctl.radius <= 64, sizes
    assert all(b - a <= max(1, round(a / 8)) for a, b in zip([8, *sizes], sizes, strict=False)), sizes
    for _ in range(20):
        press(ctl, "[")
    assert ctl.radius == 8

def test_every_stroke_is_saved_before_moving_on(make_controller: Callable[..., Controller], ws: Workspace) -> None:
    ctl = make_controller()
    press(ctl, "f")
    ctl.mouse_down("left", 50, 50)
    ctl.mouse_move(90, 50)  # still drawing when the user presses Right
    press(ctl, "right")
    assert ctl.frame == 1
    mask = ws.read_mask(0)
    assert mask is not None and mask[50, 70] == 1


@pytest.mark.parametrize("mode", ["free", "lasso"])
def test_stroke_in_progress_is_not_on_disk_yet(make_controller: Callable[..., Controller], ws: Workspace,
                                               mode: str) -> None:
    ctl = make_controller()
    press(ctl, mode[0])
    ctl.mouse_down("left", 50, 50)
    ctl.mouse_move(90, 90)
    ctl.mouse_move(50, 90)
    assert ws.read_mask(0) is None
    ctl.close()
    assert ws.read_mask(0) is not None


def test_undo_and_redo_survive_a_new_window_session(make_controller: Callable[..., Controller],
                                                     ws: Workspace) -> None:
    ctl = make_controller()
    press(ctl, "f")
    drag(ctl, [(100, 100), (120, 100)])
    drag(ctl, [(100, 200), (120, 200)])
    press(ctl, "q")
    ctl = make_controller()
    assert ctl.edit.index[200, 110] == 1
    press(ctl, "z")
    assert ctl.edit.index[200, 110] == 0 and ctl.edit.index[100, 110] == 1
    mask = ws.read_mask(0)
    assert mask is not None and mask[200, 110] == 0
    press(ctl, "z")
    assert ws.read_mask(0) is None and not ctl.edit.index.any()
    press(ctl, "z")
    assert "nothing to undo" in ctl.message
    press(ctl, "y", "y")
    mask = ws.read_mask(0)
    assert mask is not None and mask[200, 110] == 1


def test_reset_clears_the_frame_and_can_be_undone(make_controller: Callable[..., Controller], ws: Workspace) -> None:
    ctl = make_controller()
    click(ctl, 300, 200)
    press(ctl, "r")
    assert ws.read_mask(0) is None and not ctl.edit.index.any()
    press(ctl, "z")
    mask = ws.read_mask(0)
    assert mask is not None and mask[200, 300] == 1


def test_weight_free_grabcut_click_on_a_real_frame(ws: Workspace, frames: FrameReader, settings: Settings) -> None:
    from xmem_tui.interaction.grabcut import GrabCutClickSegmenter, GrabCutScribbleSegmenter

    ctl = Controller(ws, frames, settings, Segmenters(GrabCutClickSegmenter, GrabCutScribbleSegmenter))
    ctl.segmenters.warm_up()
    assert "weight-free" in hud_text(ctl)
    ctl.mouse_down("left", 380, 260)  # the trousers of the judoka with the black belt
    assert ctl.pending is not None and "segmenting" in hud_text(ctl)
    ctl.mouse_up("left", 380, 260)
    ctl.run_pending()
    mask = ws.read_mask(0)
    assert mask is not None and mask[260, 380] == 1
    assert 2000 < (mask == 1).sum() < mask.size // 4
    assert mask[260, 470] == 0 and mask[100, 100] == 0  # not the other judoka, not the wall


def test_a_mask_another_program_left_unusable_is_said_and_can_be_drawn_again(
        make_controller: Callable[..., Controller], ws: Workspace) -> None:
    from PIL import Image

    noise = np.random.default_rng(0).integers(0, 255, (*ws.shape, 3), dtype=np.uint8)
    Image.fromarray(noise).save(ws.mask_path(0))  # an RGB picture, not object labels
    ctl = make_controller()
    assert "00000.png" in ctl.message and "colour" in ctl.message  # said, not a crash
    assert not ctl.edit.index.any()
    click(ctl, 300, 200)  # drawing the frame again replaces the user's unusable file
    assert ws.records()[0].provenance == "user:click" and ws.read_mask(0)[200, 300] == 1
