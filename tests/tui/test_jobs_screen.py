"""The jobs screen: the output's full path, and an export's self-check shown as its own step."""

from __future__ import annotations

from xmem_tui.progress import Progress
from xmem_tui.tui.app import make_app
from xmem_tui.tui.contract import JobRow
from xmem_tui.tui.screens.jobs import job_cells, job_detail

OUTPUT = "/home/user/project/exports/deliveries/dance_greenscreen.mp4"


def checking() -> JobRow:
    return JobRow(id="20261204-export-abc123", kind="export", video="source/dance.mp4", state="running", done=68,
                  total=68, progress=Progress(done=68, total=68, message="self-checking", time=0.0))


def test_a_self_checking_export_says_so_instead_of_68_of_68() -> None:
    cells = job_cells(checking())
    assert cells[4] == "self-check"
    assert "step 2 of 2: self-check" in job_detail(checking())


def test_a_finished_export_shows_its_full_path() -> None:
    row = JobRow(id="x-export-1", kind="export", video="source/dance.mp4", state="done", done=40, total=40,
                 output=OUTPUT, check="passed")
    assert job_cells(row)[6] == OUTPUT and job_cells(row)[4] == "40/40"
    assert OUTPUT in job_detail(row)


async def test_the_jobs_table_shows_the_whole_path_at_200_columns(settings, fake) -> None:
    fake.rows = [JobRow(id="x-export-1", kind="export", video="source/dance.mp4", state="done", done=40, total=40,
                        output=OUTPUT, check="passed"), checking()]
    app = make_app(settings, fake, graphics="truecolor")
    async with app.run_test(size=(200, 60)) as pilot:
        await pilot.press("j")
        app.refresh_jobs()
        await app.workers.wait_for_complete()
        await pilot.pause()
        lines = [strip.text for strip in app.screen._compositor.render_strips()]
        assert any(OUTPUT in line for line in lines)
        assert any("self-check" in line and "68/68" not in line for line in lines)
