"""The real OpenCV window under Xvfb, driven with xdotool like a user: clicks, drags, keys, propagation."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from xmem_tui.config import Settings
from xmem_tui.jobs.queue import JobQueue
from xmem_tui.workspace import Workspace

from .x11 import MISSING, SKIP_REASON, App, wait_for, xvfb

pytestmark = [pytest.mark.x11, pytest.mark.slow, pytest.mark.skipif(bool(MISSING), reason=SKIP_REASON),
              pytest.mark.timeout(300)]
TITLE = "xmem-tui annotate: judo"


@pytest.fixture(scope="module")
def display() -> Iterator[str]:
    with xvfb() as name:
        yield name


def labels_at(ws: Workspace, frame: int) -> set[int]:
    mask = ws.read_mask(frame)
    return set() if mask is None else {int(v) for v in np.unique(mask)}


def test_two_objects_click_and_brush_then_propagate_with_p(project: Path, settings: Settings, display: str) -> None:
    """The issue's acceptance: weight-free click + brush on a real frame, ``p``, masks on disk, a screenshot."""
    ws = Workspace.for_video(settings, project / "source" / "judo")
    app = App(project, display, "source/judo", "--frame", "11")
    try:
        app.wait_window(TITLE)
        app.click(440, 300)  # object 1: weight-free click on the trousers of the judoka in the blue belt
        wait_for(lambda: 1 in labels_at(ws, 11), 60, "the click's mask on frame 11")
        app.screenshot("annotate_click_weight_free")
        app.keys("2", "f", "bracketright", "bracketright")
        app.drag([(372, 130), (370, 190), (372, 250), (375, 300), (380, 360)])  # object 2: the black belt
        wait_for(lambda: 2 in labels_at(ws, 11), 20, "the brush stroke on frame 11")
        app.screenshot("annotate_two_objects")
        app.keys("p")
        queue = JobQueue.for_settings(settings)
        wait_for(lambda: queue.list(["done", "failed", "cancelled"]), 180, "the propagation job to finish",
                 interval=0.5)
        app.keys("End")
        time.sleep(1.0)
        app.screenshot("annotate_propagated_last_frame")
        assert app.close() == 0
    finally:
        app.close()
        subprocess.run([sys.executable, "-m", "xmem_tui", "worker", "--stop"], cwd=project, env=app.env,
                       capture_output=True, timeout=60)
    job = JobQueue.for_settings(settings).list(["done", "failed", "cancelled"])[0]
    assert job.state == "done", job.error
    assert job.params["start"] == 11 and job.params["end"] == 15 and not job.params["backward"]
    mask = ws.read_mask(11)
    assert mask is not None
    assert mask[300, 440] == 1 and mask[250, 372] == 2
    assert 2000 < (mask == 1).sum() < mask.size // 4
    records = ws.records()
    assert records[11].provenance == "user:free" and ws.user_frames() == [11]
    assert sorted(records) == [11, 12, 13, 14, 15]
    for frame in range(12, 16):
        assert records[frame].provenance == "propagated", frame
        assert labels_at(ws, frame) == {0, 1, 2}, frame
    assert "1 frame(s) annotated" in app.log.read_text()


def test_a_second_window_on_the_same_video_is_refused(project: Path, display: str) -> None:
    app = App(project, display, "source/judo")
    try:
        app.wait_window(TITLE)
        second = subprocess.run([sys.executable, "-m", "xmem_tui", "annotate", "source/judo"], cwd=project,
                                env=app.env, capture_output=True, text=True, timeout=120)
        assert second.returncode == 2
        assert "open in another window" in second.stderr and "pid" in second.stderr
        assert app.close() == 0
    finally:
        app.close()


def test_keys_zoom_undo_and_help_in_the_window(project: Path, settings: Settings, display: str) -> None:
    ws = Workspace.for_video(settings, project / "source" / "judo")
    app = App(project, display, "source/judo", "--frame", "3")
    try:
        app.wait_window(TITLE)
        app.keys("l", "3", "Right", "Right")  # lasso, object 3, frame 5
        app.drag([(100, 100), (200, 100), (200, 200), (100, 200)])
        wait_for(lambda: labels_at(ws, 5) == {0, 3}, 20, "the lasso on frame 5")
        app.keys("Next")  # PageDown: frame 15 (Shift+Right too, but xdotool sends both in one event pump)
        app.keys("f")
        app.xdo("mousemove", "--window", app.window, "400", "240")
        app.keys("plus")  # 2x around the cursor: display (600, 240) shows mask pixel (500, 240)
        app.drag([(600, 240), (602, 240)])
        wait_for(lambda: ws.read_mask(15) is not None, 20, "the brush on the zoomed frame 15")
        mask = ws.read_mask(15)
        assert mask is not None and mask[240, 500] == 3 and mask[240, 600] == 0
        app.keys("z")
        wait_for(lambda: ws.read_mask(15) is None, 20, "undo of frame 15")
        app.keys("minus", "Home", "h")
        app.screenshot("annotate_help")
        app.keys("h", "Escape")
        assert app.close() == 0
    finally:
        app.close()
    assert ws.user_frames() == [5]


def test_a_small_clip_gets_the_minimum_canvas_with_its_status_bar_whole(tmp_path: Path, display: str) -> None:
    """A 320x240 clip: the window is 800x624 (image scaled up 2.5x, HUD below), never too small to read."""
    from xmem_tui.media.synthetic import SceneSpec, write_clip

    write_clip(tmp_path / "source" / "small.mp4", SceneSpec(height=240, width=320, n_frames=6))
    app = App(tmp_path, display, "source/small.mp4", "--frame", "2")
    try:
        window = app.wait_window("xmem-tui annotate: small")
        geometry = subprocess.run(["xdotool", "getwindowgeometry", window], env=app.env, capture_output=True,
                                  text=True, check=True).stdout
        assert "Geometry: 800x6" in geometry, geometry  # 600 image rows + the HUD (+ the trackbar)
        shot = app.screenshot("annotate_small_clip_min_canvas")
        assert shot.stat().st_size > 0
        app.keys("h")
        app.screenshot("annotate_small_clip_help")
        app.keys("h")
        assert app.close() == 0
    finally:
        app.close()
