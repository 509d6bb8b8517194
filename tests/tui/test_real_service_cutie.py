"""The dashboard over the real service with Cutie: a video's engine chosen with ``g``, then a propagation
from the keyboard run by a real detached worker on a real clip (the judo frames encoded to H.264), with
the reference recipe's synthesized weights as ``models/cutie-base-mega.pth``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from xmem_tui.config import Settings, load_settings
from xmem_tui.jobs.pidfile import stop_worker
from xmem_tui.jobs.queue import JobQueue
from xmem_tui.jobs.runners import result_of
from xmem_tui.tui.app import make_app
from xmem_tui.tui.screens.engine_dialog import EngineDialog
from xmem_tui.tui.screens.video import VideoScreen
from xmem_tui.workspace import Workspace

from .test_real_service import PROPAGATION_S, SIZE, panel_text

pytestmark = pytest.mark.slow  # a real worker process


@pytest.fixture
def settings(cutie_project: Path) -> Iterator[Settings]:
    settings = load_settings(cutie_project / "config.toml")
    yield settings
    stop_worker(settings)


async def test_choose_cutie_for_a_video_and_propagate_it(settings: Settings, wait_for) -> None:
    video = settings.source_dir / "judo.mp4"
    ws = Workspace.for_video(settings, video)
    app = make_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one("#sources").row_count == 1, 20, "the source row")
        await pilot.press("enter")
        screen = app.screen
        assert isinstance(screen, VideoScreen)
        await wait_for(pilot, lambda: screen.detail is not None, 20, "the video's details")
        # "auto" without XMem.pth settles on Cutie already; choose it for this video explicitly
        assert "engine: Cutie" in panel_text(app)
        await pilot.press("g")
        await wait_for(pilot, lambda: isinstance(app.screen, EngineDialog), 10, "the engine dialog")
        dialog = app.screen
        names = [c.name for c in dialog.choices]
        assert names == ["", "auto", "xmem", "cutie", "flow"]
        assert dialog.choices[2].missing == "XMem.pth" and dialog.choices[3].missing == ""
        await pilot.press(*["down"] * names.index("cutie"), "enter")
        await wait_for(pilot, lambda: ws.engine == "cutie", 10, "the choice stored in the workspace")

        await pilot.press("p")
        took = await wait_for(pilot, lambda: "done" in panel_text(app) and len(ws.records()) == 16, PROPAGATION_S,
                              "the propagation to finish (panel shows done, 16 masks on disk)")
        assert "15/15" in panel_text(app) and "engine: Cutie" in panel_text(app)
        assert "weight-free" not in panel_text(app)
        job = next(j for j in JobQueue.for_settings(settings).list() if j.kind == "propagate")
        assert "engine" not in job.params and result_of(job).engine == "Cutie"
        print(f"Cutie propagation seen done after {took:.1f} s (cold worker)")
