"""The dashboard over the real service: a detached worker, real propagation, a real export, live sources.

This is issue 8's acceptance flow, all from the keyboard: open a video, (launch the annotation window),
propagate, watch progress, queue a green-screen export and see it finish with a passing self-check. The
clip is tiny (96x160, 24 frames) and the engine is the weight-free flow engine, so it runs on any CPU.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from rich.text import Text

from xmem_tui.jobs.pidfile import ensure_worker, worker_status
from xmem_tui.tui import service as service_module
from xmem_tui.tui.app import make_app
from xmem_tui.tui.screens.dashboard import DashboardScreen
from xmem_tui.tui.screens.export_dialog import ExportDialog
from xmem_tui.tui.screens.jobs import JobsScreen, job_cells
from xmem_tui.tui.screens.video import VideoScreen
from xmem_tui.tui.widgets.preview import Preview
from xmem_tui.tui.widgets.propagation_panel import PropagationPanel
from xmem_tui.workspace import Workspace

pytestmark = pytest.mark.slow  # real worker processes

SIZE = (100, 30)
#: Generous bounds: a cold worker imports torch and OpenCV before its first frame.
PROPAGATION_S = 90.0
EXPORT_S = 60.0


def panel_text(app) -> str:
    return str(app.screen.query_one(PropagationPanel).render())


def table_rows(screen, table_id: str) -> list[list[str]]:
    """The table's cells as plain text (markup rendered away), row by row."""
    table = screen.query_one(table_id)
    return [[Text.from_markup(cell).plain if isinstance(cell, str) else str(cell) for cell in table.get_row_at(i)]
            for i in range(table.row_count)]


async def test_acceptance_flow_propagate_and_export(real_settings, wait_for, monkeypatch) -> None:
    settings = real_settings
    video = settings.source_dir / "clip.mp4"
    launched: list[list[str]] = []
    real_popen = subprocess.Popen

    def popen(command, *args, **kwargs):
        if "annotate" in command:  # the OpenCV window needs a display; record its command line instead
            launched.append([str(part) for part in command])
            return None
        return real_popen(command, *args, **kwargs)  # the worker is started for real

    monkeypatch.setattr(service_module.subprocess, "Popen", popen)
    monkeypatch.setenv("DISPLAY", ":99")  # the service refuses to launch the window without a display
    app = make_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        dashboard = app.screen
        assert isinstance(dashboard, DashboardScreen)
        await wait_for(pilot, lambda: dashboard.query_one("#sources").row_count == 1, 20, "the source row")
        assert table_rows(dashboard, "#sources")[0][1:4] == ["clip.mp4", "24.00", "24"]

        await pilot.press("enter")
        video_screen = app.screen
        assert isinstance(video_screen, VideoScreen)
        await wait_for(pilot, lambda: video_screen.detail is not None, 20, "the video's details")
        assert video_screen.detail.states[0] == "user" and video_screen.detail.states[1] == ""
        await wait_for(pilot, lambda: video_screen.query_one(Preview).image is not None, 20, "the preview")

        await pilot.press("a")
        await wait_for(pilot, lambda: bool(launched), 10, "the annotation window's launch")
        assert launched[0][-4:] == ["annotate", str(video), "--frame", "0"]
        assert launched[0][:3] == [sys.executable, "-m", "xmem_tui"]

        await pilot.press("p")
        ws = Workspace.for_video(settings, video)
        took = await wait_for(pilot, lambda: "done" in panel_text(app) and len(ws.records()) == 24, PROPAGATION_S,
                       "the propagation to finish (panel shows done, 24 masks on disk)")
        assert "23/23" in panel_text(app) and "weight-free" in panel_text(app)
        assert worker_status(settings).alive
        mask = ws.read_mask(23)
        assert mask is not None and mask.any() and set(np.unique(mask)) <= {0, 1, 2}, "a propagated mask"
        await wait_for(pilot, lambda: video_screen.query_one("Timeline").states.count("propagated") == 23, 10,
                       "the timeline to show the propagated frames")

        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportDialog), 5, "the export dialog")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, ExportDialog), 20, "the dialog to accept")

        def export_row():
            rows = app.last_jobs.rows if app.last_jobs else []
            return next((r for r in rows if r.kind == "export"), None)

        took_export = await wait_for(
            pilot, lambda: (row := export_row()) is not None and row.state not in ("queued", "running"), EXPORT_S,
            "the export job to finish")
        print(f"propagation seen done after {took:.1f} s (cold worker), export after {took_export:.1f} s")
        row = export_row()
        assert row.state == "done", row.error
        output = settings.exports_dir / "clip_greenscreen_h264.mp4"
        assert Path(row.output) == output and output.is_file()
        assert row.check == "passed"

        await pilot.press("j")
        jobs = app.screen
        assert isinstance(jobs, JobsScreen)
        await wait_for(pilot, lambda: any(r.kind == "export" for r in jobs.rows), 5, "the jobs table")
        cells = next(job_cells(r) for r in jobs.rows if r.kind == "export")
        assert "done" in cells[3] and cells[6] == str(output) and "passed" in cells[5]  # the full path
        assert "passed" in next(c for c in table_rows(jobs, "#jobs") if "export" in c)[5]

        await pilot.press("escape")  # back to the sources mode, where the video is still open
        assert isinstance(app.screen, VideoScreen)
        await pilot.press("j", "s")  # s: the sources list itself, from anywhere
        assert app.screen is dashboard
        await wait_for(pilot, lambda: "passed" in table_rows(dashboard, "#sources")[0][-1], 10,
                       "the sources table's last export column")
        assert table_rows(dashboard, "#sources")[0][-1] == "greenscreen_h264 passed"
        assert table_rows(dashboard, "#sources")[0][5] == "100%"


async def test_progress_of_a_propagation_queued_from_the_shell(real_settings, wait_for) -> None:
    settings = real_settings
    app = make_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        dashboard = app.screen
        await wait_for(pilot, lambda: dashboard.query_one("#sources").row_count == 1, 20, "the source row")
        assert "idle" in panel_text(app)
        queued = subprocess.run([sys.executable, "-m", "xmem_tui", "propagate", "clip.mp4", "--from", "0",
                                 "--to", "8", "--queue"], cwd=settings.project_dir, capture_output=True,
                                text=True, timeout=60, check=False)
        assert queued.returncode == 0, queued.stderr
        ensure_worker(settings)  # as `xmem-tui worker` would, from yet another shell
        await wait_for(pilot, lambda: "8/8" in panel_text(app) and "done" in panel_text(app), PROPAGATION_S,
                       "the dashboard's panel to show the shell's propagation finished")
        await wait_for(pilot, lambda: table_rows(dashboard, "#sources")[0][5] == "38%", 10,
                       "the masked column to count 9 of 24 frames")


async def test_sources_follow_the_folder_live(tmp_path, make_project, wait_for) -> None:
    settings = make_project(tmp_path, import_frame0=False)
    spare = tmp_path / "spare.mp4"
    shutil.copy(settings.source_dir / "clip.mp4", spare)
    app = make_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        dashboard = app.screen

        def names() -> list[str]:
            return [row[1] for row in table_rows(dashboard, "#sources")]

        await wait_for(pilot, lambda: names() == ["clip.mp4"], 20, "the first scan")
        await pilot.pause(0.3)
        shutil.copy(spare, settings.source_dir / "added.mp4")
        took = [await wait_for(pilot, lambda: names() == ["added.mp4", "clip.mp4"], 5, "the copied file")]
        os.rename(settings.source_dir / "added.mp4", settings.source_dir / "renamed.mp4")
        took.append(await wait_for(pilot, lambda: names() == ["clip.mp4", "renamed.mp4"], 5, "the rename"))
        (settings.source_dir / "clip.mp4").unlink()
        took.append(await wait_for(pilot, lambda: names() == ["renamed.mp4"], 5, "the removal"))
        row = table_rows(dashboard, "#sources")[0]
        assert row[2:4] == ["24.00", "24"], "the new file was probed, not just listed"
        print(f"watcher latency (add, rename, remove): {', '.join(f'{t:.2f} s' for t in took)}")
