"""Snapshot tests of every main screen at 80x24 (the smallest terminal the dashboard supports), 120x36 and
200x60 (where the side panel and the dialogs must use the room).

The fake service returns fixed data and the test pins what varies between runs (the project folder in
the header, and the preview's drawing mode, which otherwise follows the terminal), so a changed snapshot
means a changed layout. Review a failure with the HTML report pytest-textual-snapshot writes, and accept
it with ``pytest --snapshot-update``.
"""

from __future__ import annotations

import pytest

from xmem_tui.progress import Progress
from xmem_tui.tui.app import make_app
from xmem_tui.tui.contract import JobRow

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 36), id="120x36"),
         pytest.param((200, 60), id="200x60")]


def running_progress() -> Progress:
    return Progress(done=30, total=60, frame=31, fps=12.5, eta_s=2.4, message="propagating forward: frame 31",
                    stats={"working_mem": 420, "long_term_mem": 128, "engine": "XMem", "state": "running",
                           "device": "cuda:0", "gpu_mem_used": 2 << 30, "gpu_mem_peak": 3 << 30,
                           "gpu_mem_total": 80 << 30}, time=0.0)


def pinned(*keys: str, jobs: bool = False):
    """A ``run_before`` that pins the header, presses ``keys`` and waits until every read has landed."""
    async def run_before(pilot) -> None:
        app = pilot.app
        app.sub_title = "~/project"
        for key in keys:
            await pilot.press(key)
            await pilot.pause()
            await app.workers.wait_for_complete()
        if jobs:
            app.refresh_jobs()
        await app.workers.wait_for_complete()
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()

    return run_before


def app_for(settings, fake, graphics: str = "truecolor"):
    return make_app(settings, fake, graphics=graphics)


@pytest.mark.parametrize("size", SIZES)
def test_sources_screen(snap_compare, settings, fake, size) -> None:
    fake.progress_value = running_progress()
    assert snap_compare(app_for(settings, fake), terminal_size=size, run_before=pinned())


@pytest.mark.parametrize("size", SIZES)
def test_video_screen_with_preview(snap_compare, settings, fake, size) -> None:
    fake.progress_value = running_progress()
    assert snap_compare(app_for(settings, fake), terminal_size=size, run_before=pinned("enter", "right"))


def test_video_screen_dithered_for_256_colours(snap_compare, settings, fake) -> None:
    """What tmux's default terminal gets: the preview in the 256-colour palette, dithered."""
    assert snap_compare(app_for(settings, fake, "256"), terminal_size=(80, 24), run_before=pinned("enter"))


@pytest.mark.parametrize("size", SIZES)
def test_jobs_screen(snap_compare, settings, fake, size) -> None:
    fake.propagate(fake.sources[0], 0)
    fake.rows.insert(0, JobRow(id="20261204-export-abc123", kind="export", video="source/dance.mp4",
                               state="done", done=40, total=40, check="passed",
                               output="/home/user/project/exports/dance_greenscreen.mp4"))
    fake.worker_alive = True
    assert snap_compare(app_for(settings, fake), terminal_size=size, run_before=pinned("j", jobs=True))


@pytest.mark.parametrize("size", SIZES)
def test_help_screen(snap_compare, settings, fake, size) -> None:
    assert snap_compare(app_for(settings, fake), terminal_size=size, run_before=pinned("question_mark"))


@pytest.mark.parametrize("size", SIZES)
def test_export_dialog(snap_compare, settings, fake, size) -> None:
    assert snap_compare(app_for(settings, fake), terminal_size=size, run_before=pinned("enter", "e"))


def test_job_log_dialog(snap_compare, settings, fake) -> None:
    """The title sits above the log in its own frame (it was drawn over a table row)."""
    fake.propagate(fake.sources[0], 0)
    assert snap_compare(app_for(settings, fake), terminal_size=(80, 24),
                        run_before=pinned("j", "enter", jobs=True))
