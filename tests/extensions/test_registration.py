"""An engine and an export kind, each one file registered through the public API, show up everywhere.

``dummy_engine`` and ``dummy_kind`` are registered by a fixture and unregistered afterwards; no module of
the application names them. Each is then seen by the CLI (argument choices), the config (validation and
the generated file), the dashboard (engine label, export dialog) and a job the worker runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from xmem_tui.cli import build_parser, command_modules
from xmem_tui.config import Settings, default_config_toml, load_settings
from xmem_tui.errors import ConfigError
from xmem_tui.export.registry import kind_names, register_kind, unregister_kind
from xmem_tui.export.request import ExportRequest
from xmem_tui.inference.registry import engine_choices, register_engine, unregister_engine
from xmem_tui.inference.request import PropagationRequest
from xmem_tui.jobs.queue import JobQueue
from xmem_tui.jobs.worker import Worker

from . import dummy_engine, dummy_kind

N_FRAMES = 12


@pytest.fixture
def extensions() -> Iterator[None]:
    register_engine(dummy_engine.SPEC)
    register_kind(dummy_kind.SPEC)
    try:
        yield
    finally:
        unregister_engine(dummy_engine.NAME)
        unregister_kind(dummy_kind.NAME)


@pytest.fixture
def project(tmp_path: Path, extensions: None) -> Settings:
    """A project whose config chooses both extensions, with a generated clip annotated on frame 0."""
    from xmem_tui.media.synthetic import SceneSpec, write_clip
    from xmem_tui.workspace import Workspace

    root = tmp_path / "project"
    (root / "source").mkdir(parents=True)
    (root / "config.toml").write_text(f'[processing]\nsize = 64\nengine = "{dummy_engine.NAME}"\nthreads = 1\n'
                                      f'[export]\nkind = "{dummy_kind.NAME}"\n', encoding="utf-8")
    settings = load_settings(root / "config.toml")
    clip = write_clip(root / "source" / "clip.mp4", SceneSpec(height=64, width=96, n_frames=N_FRAMES, seed=5))
    Workspace.for_video(settings, root / "source" / "clip.mp4").write_frame(0, clip.masks[0],
                                                                             provenance="user:import")
    return settings


def test_the_cli_offers_both(extensions: None) -> None:
    parser = build_parser(command_modules())
    args = parser.parse_args(["propagate", "clip.mp4", "--from", "0", "--engine", dummy_engine.NAME])
    assert args.engine == dummy_engine.NAME
    assert parser.parse_args(["export", "clip.mp4", "--kind", dummy_kind.NAME]).kind == dummy_kind.NAME


def test_the_config_accepts_both_and_lists_them(tmp_path: Path, extensions: None) -> None:
    settings = load_settings(None, {"processing.engine": dummy_engine.NAME, "export.kind": dummy_kind.NAME},
                             project_dir=tmp_path)
    assert (settings.processing.engine, settings.export.kind) == (dummy_engine.NAME, dummy_kind.NAME)
    text = default_config_toml()
    assert f"Propagation engine: auto, xmem, cutie, flow, {dummy_engine.NAME};" in text
    assert f"Default export kind: greenscreen, mask, alpha, overlay, masks, reframe, {dummy_kind.NAME}." in text


def test_unregistered_they_are_gone(tmp_path: Path) -> None:
    assert dummy_engine.NAME not in engine_choices() and dummy_kind.NAME not in kind_names()
    with pytest.raises(ConfigError, match="use one of: auto, xmem, cutie, flow"):
        load_settings(None, {"processing.engine": dummy_engine.NAME}, project_dir=tmp_path)


async def test_the_dashboard_shows_the_engine_and_offers_the_kind(project: Settings) -> None:
    from textual.widgets import Select

    from xmem_tui.tui.app import make_app
    from xmem_tui.tui.screens.export_dialog import ExportDialog
    from xmem_tui.tui.widgets.propagation_panel import PropagationPanel

    app = make_app(project)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert f"engine: {dummy_engine.LABEL}" in str(app.screen.query_one(PropagationPanel).render())
        await pilot.press("e")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ExportDialog)
        # The config's default kind is preselected: a Select refuses a value that is not among its options.
        assert dialog.query_one("#kind", Select).value == dummy_kind.NAME
        assert dialog.request().kind == dummy_kind.NAME


def test_a_worker_runs_both(project: Settings) -> None:
    from xmem_tui.jobs.runners import result_of
    from xmem_tui.tui.service import DashboardService
    from xmem_tui.workspace import Workspace

    queue = JobQueue.for_settings(project)
    video = project.source_dir / "clip.mp4"
    propagate = queue.submit("propagate", video, PropagationRequest(start=0, engine=dummy_engine.NAME).to_params())
    assert Worker(project, once=True).run() == 0
    done = queue.get(propagate.id)
    assert done.state == "done", done.error
    assert (result_of(done).engine, result_of(done).done) == (dummy_engine.LABEL, N_FRAMES - 1)
    ws = Workspace.for_video(project, video)
    assert sorted(ws.records()) == list(range(N_FRAMES))
    for i in range(1, N_FRAMES):  # the engine carries frame 0's mask
        np.testing.assert_array_equal(ws.read_mask(i), ws.read_mask(0))

    export = queue.submit("export", video, ExportRequest(kind=dummy_kind.NAME).to_params())
    assert Worker(project, once=True).run() == 0
    row = next(r for r in DashboardService(project).jobs() if r.id == export.id)
    assert (row.state, row.check) == ("done", "passed"), row.error
    assert Path(row.output).name == f"clip_{dummy_kind.NAME}_ffv1.mkv" and Path(row.output).is_file()
