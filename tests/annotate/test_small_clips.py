"""Small clips get a usable window (the image scaled up, the status bar whole); an empty segmentation says so."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from xmem_tui.annotate.controller import Controller
from xmem_tui.annotate.render import HUD_HEIGHT, PAD_BGR, Renderer, hud_text
from xmem_tui.annotate.segmenters import Segmenters
from xmem_tui.annotate.viewport import Viewport
from xmem_tui.config import load_settings
from xmem_tui.media.frames import open_frames
from xmem_tui.media.synthetic import SceneSpec, write_clip
from xmem_tui.workspace import Workspace

from .drive import click, press
from .fakes import DiscClicks, PaintScribbles


@pytest.mark.parametrize(("source", "canvas"), [((320, 240), (800, 600)), ((640, 360), (800, 450)),
                                                ((240, 320), (450, 600)), ((1920, 1080), (1600, 900)),
                                                ((1000, 700), (1000, 700))])
def test_small_frames_are_scaled_up_to_the_minimum_canvas(source, canvas) -> None:
    vp = Viewport(source, source, (1600, 900), (800, 600))
    assert (vp.width, vp.height) == canvas
    assert vp.to_mask(vp.width - 1, vp.height - 1) == (source[0] - 1, source[1] - 1)


class NothingFound(DiscClicks):
    """GrabCut on a click it cannot use: an empty object."""

    def add_click(self, x: int, y: int, positive: bool) -> np.ndarray:
        super().add_click(x, y, positive)
        assert self.image is not None
        return np.zeros(self.image.shape[:2], np.float32)


@pytest.fixture
def small(tmp_path: Path):
    """A controller on a 320x240 clip (as a DAVIS-era phone clip), with the project's default settings."""
    settings = load_settings(None, project_dir=tmp_path)
    video = tmp_path / "source" / "small.mp4"
    write_clip(video, SceneSpec(height=240, width=320, n_frames=4))
    ws = Workspace.for_video(settings, video)
    with open_frames(video, info=ws.info) as frames:
        segs = Segmenters(NothingFound, PaintScribbles)
        ctl = Controller(ws, frames, settings, segs)
        segs.warm_up()
        yield ctl, ws


def test_a_small_clip_fills_a_window_wide_enough_for_the_status_bar(small) -> None:
    ctl, _ws = small
    canvas = Renderer().render(ctl)
    assert canvas.shape == (600 + HUD_HEIGHT, 800, 3)
    assert hud_text(ctl).startswith("frame 0/3 ")


def test_a_narrow_clip_is_padded_beside_the_image_and_clicks_stay_aligned(tmp_path: Path) -> None:
    settings = load_settings(None, project_dir=tmp_path)
    video = tmp_path / "source" / "tall.mp4"
    write_clip(video, SceneSpec(height=320, width=240, n_frames=2))
    ws = Workspace.for_video(settings, video)
    with open_frames(video, info=ws.info) as frames:
        ctl = Controller(ws, frames, settings, Segmenters(DiscClicks, PaintScribbles))
        canvas = Renderer().render(ctl)
    assert canvas.shape == (600 + HUD_HEIGHT, 800, 3)  # the image is 450 wide; the rest is padding
    assert (canvas[:600, 460:] == PAD_BGR).all()
    assert ctl.viewport.to_mask(449, 599) == (ws.shape[1] - 1, ws.shape[0] - 1)


def test_an_empty_segmentation_says_so_and_saves_nothing(small) -> None:
    ctl, ws = small
    press(ctl, "c")
    click(ctl, 400, 300)
    assert "found no object 1 there" in ctl.message and "brush (f)" in ctl.message
    assert ws.read_mask(0) is None, "no empty keyframe"
