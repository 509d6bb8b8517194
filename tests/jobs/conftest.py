"""Fixtures of the job tests: a project folder per test, optionally with a generated clip."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from xmem_tui.jobs.runners import EXTRA_ENV

from .helpers import CONFIG, EXTRA, HERE, Project, cli_env


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Project]:
    root = tmp_path / "project"
    root.mkdir()
    (root / "config.toml").write_text(CONFIG)
    monkeypatch.setenv(EXTRA_ENV, EXTRA)
    monkeypatch.setenv("PYTHONPATH", cli_env()["PYTHONPATH"])  # for workers spawned by ensure_worker()
    monkeypatch.syspath_prepend(str(HERE))
    monkeypatch.delenv("XMEM_TUI_CONFIG", raising=False)
    proj = Project(root)
    try:
        yield proj
    finally:
        proj.cleanup()


@pytest.fixture
def clip_project(project: Project) -> Project:
    """The project with a generated 40-frame 96x160 clip in source/ and a user mask on frame 0."""
    from xmem_tui.media.synthetic import SceneSpec, write_clip
    from xmem_tui.workspace import Workspace

    clip = write_clip(project.root / "source" / "clip.mp4", SceneSpec(n_frames=40, seed=3))
    ws = Workspace.for_video(project.settings, project.root / "source" / "clip.mp4")
    ws.write_frame(0, clip.masks[0], provenance="user:import")
    return project
