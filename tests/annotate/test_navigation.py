"""Frame navigation, playback, import, review and the HUD of the annotation controller (no window)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np

from xmem_tui.annotate.controller import POLL_MASK_S, Controller
from xmem_tui.annotate.render import hud_text
from xmem_tui.inference.quality import FrameSignals, ObjectSignal, QualityLog
from xmem_tui.media.masks import read_index_mask
from xmem_tui.workspace import Workspace

from .drive import click, press


def test_frame_keys_move_and_clamp(make_controller: Callable[..., Controller]) -> None:
    ctl = make_controller(start_frame=5)
    steps = [("right", 6), ("right", 7), ("left", 6), ("left", 5), ("shift+right", 15), ("shift+left", 5),
             ("pgdn", 15), ("pgup", 5), ("end", 15), ("right", 15), ("home", 0), ("left", 0)]
    for key, expected in steps:
        press(ctl, key)
        assert ctl.frame == expected, key


def test_trackbar_seek_loads_that_frames_image_and_mask(make_controller: Callable[..., Controller],
                                                        ws: Workspace, judo_frames: Path) -> None:
    ctl = make_controller()
    click(ctl, 300, 200)
    ctl.seek(9)
    assert ctl.frame == 9 and not ctl.edit.index.any()
    import cv2

    expected = cv2.cvtColor(cv2.imread(str(judo_frames / "00009.jpg")), cv2.COLOR_BGR2RGB)
    assert np.abs(ctl.source.astype(int) - expected).mean() < 1.0
    ctl.seek(0)
    assert ctl.edit.index[200, 300] == 1


def test_space_plays_at_the_video_rate_and_stops_at_the_end(make_controller: Callable[..., Controller]) -> None:
    ctl = make_controller(start_frame=12)
    press(ctl, "space")
    assert ctl.playing
    t = 100.0
    ctl.tick(t)
    assert ctl.frame == 13
    ctl.tick(t + 0.01)  # 24 fps: too early for the next frame
    assert ctl.frame == 13
    for n in range(1, 10):
        ctl.tick(t + n / 24 + 0.001)
    assert ctl.frame == 15 and not ctl.playing
    press(ctl, "space", "space")
    assert not ctl.playing


def test_view_cycles_through_five_modes_and_help_toggles(make_controller: Callable[..., Controller]) -> None:
    ctl = make_controller()
    seen = [ctl.view]
    for _ in range(5):
        press(ctl, "o")
        seen.append(ctl.view)
    assert seen == ["overlay", "mask", "cutout", "contour", "source", "overlay"]
    press(ctl, "h")
    assert ctl.show_help
    press(ctl, "h")
    assert not ctl.show_help


def test_quit_keys_close(make_controller: Callable[..., Controller]) -> None:
    for key in ("q", "esc"):
        ctl = make_controller()
        press(ctl, key)
        assert ctl.closed


def test_hud_shows_frame_time_mode_object_brush_and_engine(make_controller: Callable[..., Controller],
                                                           ws: Workspace) -> None:
    ctl = make_controller(start_frame=12)
    ws.set_object(2, name="referee")
    press(ctl, "2", "w")
    ctl.tick(1000.0)  # picks up object names
    text = hud_text(ctl)
    assert "frame 12/15" in text and "00:00.50" in text  # frame 12 of 0-15, at 24 fps: one convention
    assert "scribble" in text and "obj 2 referee" in text and f"brush {ctl.radius}" in text
    assert "fake-scribble" in text and "weight-free" not in text
    press(ctl, "c")
    assert "fake-click weight-free" in hud_text(ctl)
    press(ctl, "f")
    assert "manual" in hud_text(ctl)


def test_import_reads_the_convention_file_and_resizes_a_near_miss(make_controller: Callable[..., Controller],
                                                                  ws: Workspace, media_dir: Path) -> None:
    ctl = make_controller(start_frame=5)
    press(ctl, "i")
    assert "no mask to import" in ctl.message and ws.read_mask(5) is None
    source = media_dir / "judo" / "Annotations" / "00005.png"  # 853x480: one pixel narrower than the frames
    (ws.root / "import").mkdir()
    shutil.copy(source, ws.root / "import" / "00005.png")
    press(ctl, "i")
    mask = ws.read_mask(5)
    assert mask is not None and mask.shape == ws.shape
    original = read_index_mask(source)
    assert (mask[:, :853] == original).mean() > 0.99 and set(np.unique(mask)) == set(np.unique(original))
    assert ws.records()[5].provenance == "user:import"


def test_import_from_the_folder_next_to_the_video(make_controller: Callable[..., Controller], ws: Workspace,
                                                  media_dir: Path) -> None:
    folder = ws.video_path.parent / f"{ws.video_path.stem}_masks"
    folder.mkdir()
    shutil.copy(media_dir / "judo" / "Annotations" / "00000.png", folder / "00000.png")
    ctl = make_controller()
    press(ctl, "i")
    mask = ws.read_mask(0)
    assert mask is not None and mask.max() == 1


def test_a_mask_written_by_a_job_appears_without_a_key(make_controller: Callable[..., Controller],
                                                       ws: Workspace) -> None:
    ctl = make_controller(start_frame=3)
    ctl.tick(10.0)
    version = ctl.mask_version
    mask = np.zeros(ws.shape, np.uint8)
    mask[100:200, 100:200] = 2
    ws.write_frame(3, mask, provenance="propagated", run="r1")
    ctl.dirty = False
    ctl.tick(10.0 + POLL_MASK_S / 2)
    assert ctl.mask_version == version  # not polled yet
    ctl.tick(10.0 + POLL_MASK_S + 0.01)
    assert ctl.mask_version == version + 1 and ctl.dirty
    assert np.array_equal(ctl.edit.index, mask)
    ctl.tick(20.0)  # picks up the new object's name and colour
    assert 2 in ctl.objects
    ctl.dirty = False
    ctl.tick(30.0)
    assert not ctl.dirty  # nothing changed: no redraw


def test_review_key_walks_the_ranked_frames(make_controller: Callable[..., Controller], ws: Workspace) -> None:
    ctl = make_controller()
    press(ctl, "n")
    assert "review list is empty" in ctl.message
    log = QualityLog(ws.quality_path)
    fine = ObjectSignal(area=0.1, area_change=0.0, centroid_shift=0.0, iou_prev=0.95, uncertainty=0.0)
    bad = ObjectSignal(area=0.1, area_change=0.9, centroid_shift=0.0, iou_prev=0.3, uncertainty=0.0)
    worse = ObjectSignal(area=0.1, area_change=1.5, centroid_shift=0.1, iou_prev=0.1, uncertainty=0.0)
    for frame, sig in ((4, fine), (7, bad), (11, worse)):
        log.append(FrameSignals(frame=frame, prev=frame - 1, run="r", objects={1: sig}, vanished=(), appeared=()))
    press(ctl, "n")
    assert ctl.frame == 11 and "review 1/2" in ctl.message
    press(ctl, "n")
    assert ctl.frame == 7
    press(ctl, "n")
    assert ctl.frame == 11


def test_zoom_follows_the_cursor_and_edits_land_under_it(make_controller: Callable[..., Controller],
                                                         ws: Workspace) -> None:
    ctl = make_controller()
    ctl.mouse_move(400, 240)
    press(ctl, "+")
    assert ctl.viewport.scale == 2.0 and "zoom 2:1" in hud_text(ctl)
    press(ctl, "f")
    click(ctl, 600, 240)  # 200 display pixels right of the zoom centre = 100 mask pixels
    mask = ws.read_mask(0)
    assert mask is not None and mask[240, 500] == 1 and mask[240, 600] == 0
    ctl.mouse_down("middle", 600, 240)
    ctl.mouse_move(700, 240)  # drag the picture right: the view moves left by 50 mask pixels
    ctl.mouse_up("middle", 700, 240)
    assert ctl.viewport.to_mask(600, 240) == (450, 240)
    press(ctl, "-")
    assert ctl.viewport.fitted and ctl.viewport.to_mask(600, 240) == (600, 240)
