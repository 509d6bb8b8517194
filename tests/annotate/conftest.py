"""Fixtures for the annotation window: a project holding the real judo frames, and fake segmenters.

The fake segmenters are deliberately simple (discs around clicks, the scribbled pixels themselves), so
the tests check what the window does with a segmenter's answer, not the segmenter.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from xmem_tui.annotate.controller import Controller
from xmem_tui.annotate.jobs_client import PropagationClient
from xmem_tui.annotate.segmenters import Segmenters
from xmem_tui.config import Settings, load_settings
from xmem_tui.jobs.queue import JobQueue
from xmem_tui.media.frames import FrameReader, open_frames
from xmem_tui.workspace import Workspace

CLICK_RADIUS = 20


class DiscClicks:
    """Click segmenter stand-in: the object is the union of discs around positive clicks minus negative ones."""

    name = "fake-click"
    weight_free = True

    def __init__(self) -> None:
        self.image: np.ndarray | None = None
        self.clicks: list[tuple[int, int, bool]] = []
        self.sessions = 0

    def set_image(self, image: np.ndarray) -> None:
        self.image, self.clicks = image, []
        self.sessions += 1

    def add_click(self, x: int, y: int, positive: bool) -> np.ndarray:
        assert self.image is not None, "set_image must come first"
        self.clicks.append((x, y, positive))
        h, w = self.image.shape[:2]
        yy, xx = np.mgrid[:h, :w]
        prob = np.zeros((h, w), np.float32)
        for cx, cy, pos in self.clicks:
            prob[(xx - cx) ** 2 + (yy - cy) ** 2 <= CLICK_RADIUS**2] = 1.0 if pos else 0.0
        return prob

    def reset(self) -> None:
        self.clicks = []


class PaintScribbles:
    """Scribble segmenter stand-in: each object is its previous pixels plus its scribbled pixels."""

    name = "fake-scribble"
    weight_free = False

    def interact(self, image: np.ndarray, prev_mask: np.ndarray, scribbles: np.ndarray,
                 num_objects: int) -> np.ndarray:
        index = prev_mask.copy()
        drawn = scribbles != 255
        index[drawn] = scribbles[drawn]
        return np.stack([(index == k).astype(np.float32) for k in range(1, num_objects + 1)])


@pytest.fixture(scope="session")
def judo_frames(media_dir: Path) -> Path:
    return media_dir / "judo" / "JPEGImages"


@pytest.fixture
def project(tmp_path: Path, judo_frames: Path) -> Path:
    """A project folder whose source/judo/ holds the 16 real judo JPEGs (an image folder is a video)."""
    shutil.copytree(judo_frames, tmp_path / "source" / "judo")
    return tmp_path


@pytest.fixture
def settings(project: Path) -> Settings:
    return load_settings(None, project_dir=project)


@pytest.fixture
def video(project: Path) -> Path:
    return project / "source" / "judo"


@pytest.fixture
def ws(settings: Settings, video: Path) -> Workspace:
    return Workspace.for_video(settings, video)


@pytest.fixture
def frames(ws: Workspace) -> Iterator[FrameReader]:
    with open_frames(ws.video_path, info=ws.info) as reader:
        yield reader


@pytest.fixture
def started_workers() -> list[Settings]:
    return []


@pytest.fixture
def make_controller(ws: Workspace, frames: FrameReader, settings: Settings,
                    started_workers: list[Settings]) -> Callable[..., Controller]:
    """Controllers on the judo workspace with fake segmenters; the fake worker starter records calls."""

    def make(start_frame: int = 0, **kwargs: object) -> Controller:
        segs = Segmenters(DiscClicks, PaintScribbles)
        jobs = PropagationClient(settings, ws, JobQueue.for_settings(settings), start_worker=started_workers.append)
        ctl = Controller(ws, frames, settings, segs, jobs=jobs, start_frame=start_frame, **kwargs)
        segs.warm_up()
        return ctl

    return make
