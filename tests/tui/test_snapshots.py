"""Snapshot tests of every main screen at 80x24 (the smallest terminal the dashboard supports).

The fake service returns fixed data and the test pins the one thing that varies between runs (the
project folder in the header), so a changed snapshot means a changed layout. Review a failure with the
HTML report pytest-textual-snapshot writes, and accept it with ``pytest --snapshot-update``.
"""

from __future__ import annotations

from xmem_tui.progress import Progress
from xmem_tui.tui.app import make_app

SIZE = (80, 24)


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


def test_sources_screen(snap_compare, settings, fake) -> None:
    fake.progress_value = running_progress()
    assert snap_compare(make_app(settings, fake), terminal_size=SIZE, run_before=pinned())


def test_video_screen_with_preview(snap_compare, settings, fake) -> None:
    fake.progress_value = running_progress()
    assert snap_compare(make_app(settings, fake), terminal_size=SIZE, run_before=pinned("enter", "right"))


def test_jobs_screen(snap_compare, settings, fake) -> None:
    fake.propagate(fake.sources[0], 0)
    fake.worker_alive = True
    assert snap_compare(make_app(settings, fake), terminal_size=SIZE, run_before=pinned("j", jobs=True))


def test_help_screen(snap_compare, settings, fake) -> None:
    assert snap_compare(make_app(settings, fake), terminal_size=SIZE, run_before=pinned("question_mark"))


def test_export_dialog(snap_compare, settings, fake) -> None:
    assert snap_compare(make_app(settings, fake), terminal_size=SIZE, run_before=pinned("enter", "e"))
