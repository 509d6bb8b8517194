"""The video view: the drift chart (area per object, review score, marks), ``n`` to the next review frame,
full review reasons, and objects that follow the masks on disk (real service, no worker)."""

from __future__ import annotations

import dataclasses

import numpy as np
from rich.text import Text

from xmem_tui.inference.quality import QualityLog, frame_signals
from xmem_tui.tui.app import make_app
from xmem_tui.tui.service import DashboardService
from xmem_tui.tui.widgets.drift_chart import DriftChart, marks, sparkline
from xmem_tui.tui.widgets.timeline import bucket_ranges
from xmem_tui.workspace import Workspace


async def settle(pilot, app) -> None:
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


async def open_video(settings, fake, pilot, app):
    """The video view of the fake's first video, with its data loaded."""
    await settle(pilot, app)
    await pilot.press("enter")
    await settle(pilot, app)
    return app.screen


def test_sparkline_and_marks_share_the_timeline_buckets() -> None:
    assert bucket_ranges(4, 8) == [(0, 1), (0, 1), (1, 2), (1, 2), (2, 3), (2, 3), (3, 4), (3, 4)]
    assert sparkline([0.1, 0.2, -1, 0.0], 4, 0.2) == ["▅", "█", " ", "·"]  # half of the top: bar 4 of 0-7
    assert sparkline([0.1, 0.2, -1, 0.0], 2, 0.2) == ["█", "·"]
    assert marks(6, 3, keyframes=[0], review=[1, 4]).plain == "K !"


async def test_the_chart_shows_each_object_the_score_and_the_marks(settings, fake) -> None:
    app = make_app(settings, fake, graphics="truecolor")
    async with app.run_test(size=(80, 24)) as pilot:
        chart = (await open_video(settings, fake, pilot, app)).query_one(DriftChart)
        width = chart.size.width
        assert chart.size.height == 4  # two objects, the score, the marks
        rows = [Text.from_markup(line).plain for line in str(chart.render()).splitlines()]
        dancer, hat, score, mark = rows
        assert len(dancer) == width and dancer[-1] == " "  # no masks at the end
        columns = bucket_ranges(40, width)
        lost = next(b for b, (lo, _hi) in enumerate(columns) if lo == 16)
        assert hat[lost] == "·", "the hat vanishes at frame 15: a dot, not a bar"
        drop = next(b for b, (lo, _hi) in enumerate(columns) if lo == 13)
        assert dancer[drop - 3] >= "▇" and dancer[drop] < dancer[drop - 3], "the dancer's area sags"
        assert score[drop - 1] != "_" and mark[0] == "K" and mark.count("!") >= 2


async def test_n_goes_to_the_next_review_frame_and_wraps(settings, fake) -> None:
    app = make_app(settings, fake, graphics="truecolor")
    async with app.run_test(size=(80, 24)) as pilot:
        video = await open_video(settings, fake, pilot, app)
        seen = []
        for _ in range(3):
            await pilot.press("n")
            seen.append(video.frame)
        assert seen == [12, 15, 12]


async def test_review_entries_show_every_reason(settings, fake) -> None:
    app = make_app(settings, fake, graphics="truecolor")
    async with app.run_test(size=(200, 60)) as pilot:
        video = await open_video(settings, fake, pilot, app)
        labels = [str(item.query_one("Label").render()) for item in video.query_one("#review").children]
        assert any("object 1 area -40%; object 1 IoU 0.55 with frame 11" in text for text in labels), labels
        assert video.query_one("#video-side").size.width >= 80, "the side panel grows at 200 columns"


def test_objects_follow_the_masks_after_an_import_replaced_them(tmp_path, make_project) -> None:
    settings = make_project(tmp_path, import_frame0=False)
    video = settings.source_dir / "clip.mp4"
    ws = Workspace.for_video(settings, video)
    h, w = ws.shape
    two = np.zeros((h, w), np.uint8)
    two[10:40, 10:40] = 1
    two[50:70, 60:100] = 2
    for frame in range(3):
        ws.write_frame(frame, two, provenance="user:free" if frame == 0 else "propagated")
    log = QualityLog(ws.quality_path)
    log.append(frame_signals(1, two, None, [1, 2], two, prev=0))
    service = DashboardService(settings)
    detail = service.detail(video)
    assert [o[0] for o in detail.objects] == [1, 2]
    assert detail.areas[1][:4] == (800 / (h * w),) * 3 + (-1.0,)
    assert detail.scores[:3] == (-1.0, 0.0, -1.0), "frame 0 is a keyframe, frame 2 has no signals"
    one = np.where(two == 1, 1, 0).astype(np.uint8)
    for frame in range(3):  # what `xmem-tui import` does: every mask replaced, object 2 gone
        ws.write_frame(frame, one, provenance="user:import")
    detail = service.detail(video)
    assert [o[0] for o in detail.objects] == [1], "object 2 is in no mask any more"
    assert 2 in ws.objects, "the workspace still knows its name (it may come back)"
    assert service.summarize(video).objects == 1


async def test_lists_keep_their_items_and_cursor_while_a_propagation_changes_the_review(settings, fake) -> None:
    """A running propagation changes the review list at every refresh (twice a second); the lists went
    blank and the cursor jumped back to the top."""
    from xmem_tui.tui.contract import ReviewEntry

    detail = fake.detail
    calls = [0]

    def growing(path):
        calls[0] += 1
        base = detail(path)
        extra = tuple(ReviewEntry(20 + i, 1.0, ("object 1 area +30%",)) for i in range(calls[0] % 5))
        return dataclasses.replace(base, review=base.review + extra)

    fake.detail = growing
    app = make_app(settings, fake, graphics="truecolor")
    async with app.run_test(size=(80, 30)) as pilot:
        video = await open_video(settings, fake, pilot, app)
        review = video.query_one("#review")
        review.focus()
        await pilot.press("down", "down")
        assert review.index == 2
        for _ in range(4):
            await pilot.pause(0.6)
            await settle(pilot, app)
            assert len(video.query_one("#objects").children) == 2
            assert len(review.children) >= 3 and review.index == 2


def test_a_long_first_read_is_spread_over_refreshes(tmp_path, make_project) -> None:
    from xmem_tui.tui.mask_stats import MaskStats

    settings = make_project(tmp_path, import_frame0=False)
    ws = Workspace.for_video(settings, settings.source_dir / "clip.mp4")
    mask = np.zeros(ws.shape, np.uint8)
    mask[5:20, 5:20] = 1
    for frame in range(6):
        ws.write_frame(frame, mask, provenance="propagated")
    stats = MaskStats(budget_s=0.0)  # no time at all: at most one mask per refresh
    first = stats.update(ws, range(6))
    assert len(first) <= 1 and not stats.complete
    stats.budget_s = 10.0
    assert set(stats.update(ws, range(6))) == set(range(6)) and stats.complete
