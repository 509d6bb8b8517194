"""Fixtures of the job tests: a project folder per test, optionally with a generated clip.

The test job kinds ("slow", "oom", from :mod:`.fake_runners`) are registered in this process for the
test's duration, and installed as a plugin for the workers it starts.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.plugins import install
from xmem_tui.jobs.runners import register_job_kind, unregister_job_kind

from . import fake_runners
from .helpers import CONFIG, HERE, Project, child_pythonpath


@pytest.fixture
def fake_kinds() -> Iterator[None]:
    """The test job kinds, registered in this process."""
    for kind in fake_runners.KINDS:
        register_job_kind(kind)
    try:
        yield
    finally:
        for kind in fake_runners.KINDS:
            unregister_job_kind(kind.name)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_kinds: None) -> Iterator[Project]:
    root = tmp_path / "project"
    root.mkdir()
    (root / "config.toml").write_text(CONFIG)
    plugins = install(tmp_path / "plugins", "xmem-tui-test-jobs", "fake_runners:register")
    monkeypatch.setenv("PYTHONPATH", child_pythonpath(plugins, HERE))  # for workers spawned by ensure_worker()
    monkeypatch.delenv("XMEM_TUI_CONFIG", raising=False)
    proj = Project(root, plugins=plugins)
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
