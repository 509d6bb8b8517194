"""Fixtures for the annotation window: a project holding the real judo frames, controllers with fake segmenters."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from xmem_tui.annotate.controller import Controller
from xmem_tui.annotate.jobs_client import PropagationClient
from xmem_tui.annotate.segmenters import Segmenters
from xmem_tui.config import Settings, load_settings
from xmem_tui.jobs.queue import JobQueue
from xmem_tui.media.frames import FrameReader, open_frames
from xmem_tui.workspace import Workspace

from .fakes import DiscClicks, PaintScribbles


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
