"""Fixtures of the reliability tests: a project with a generated 40-frame 96x160 clip, per test."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from .procs import CONFIG, N_FRAMES, RelProject


@pytest.fixture(scope="session")
def clip_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[np.ndarray]]:
    """One generated clip (CFR, 2 moving objects) and its ground-truth index masks, made once."""
    from xmem_tui.media.synthetic import SceneSpec, write_clip

    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    written = write_clip(path, SceneSpec(n_frames=N_FRAMES, seed=3))
    return path, [np.asarray(m, np.uint8) for m in written.masks]


@pytest.fixture
def project(tmp_path: Path, clip_files: tuple[Path, list[np.ndarray]],
            monkeypatch: pytest.MonkeyPatch) -> Iterator[RelProject]:
    """A project folder with config.toml and source/clip.mp4 (no workspace yet)."""
    root = tmp_path / "project"
    (root / "source").mkdir(parents=True)
    (root / "config.toml").write_text(CONFIG)
    shutil.copy(clip_files[0], root / "source" / "clip.mp4")
    monkeypatch.delenv("XMEM_TUI_CONFIG", raising=False)
    proj = RelProject(root, truth=clip_files[1])
    try:
        yield proj
    finally:
        proj.cleanup()


@pytest.fixture
def annotated(project: RelProject) -> RelProject:
    """The project with the ground-truth mask of frame 0 saved as a user annotation."""
    project.workspace().write_frame(0, project.truth[0], provenance="user:import")
    return project
