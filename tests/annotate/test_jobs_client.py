"""Propagation keys of the annotation controller: jobs in the queue, cancel, progress in the HUD."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from xmem_tui.annotate.controller import Controller
from xmem_tui.annotate.render import hud_text
from xmem_tui.config import Settings
from xmem_tui.jobs.queue import JobQueue
from xmem_tui.progress import Progress, write_progress
from xmem_tui.workspace import Workspace

from .drive import click, press


@pytest.mark.parametrize(("keys", "start", "end", "backward"), [
    (("p",), 6, 15, False),
    (("shift+p",), 6, 0, True),
    ((".",), 6, 7, False),
    ((",",), 6, 5, True),
])
def test_propagation_keys_queue_a_job_and_start_a_worker(make_controller: Callable[..., Controller],
                                                          settings: Settings, started_workers: list[Settings],
                                                          keys: tuple[str, ...], start: int, end: int,
                                                          backward: bool) -> None:
    ctl = make_controller(start_frame=6)
    click(ctl, 300, 200)
    press(ctl, *keys)
    jobs = JobQueue.for_settings(settings).list(["queued"])
    assert len(jobs) == 1
    job = jobs[0]
    assert job.kind == "propagate" and job.video == "source/judo"
    # no engine in the request: the worker runs the video's choice (or processing.engine) when the job starts
    assert job.params == {"start": start, "end": end, "backward": backward, "until_keyframe": False,
                          "clear_memory": False}
    assert started_workers == [settings]
    assert "propagating" in ctl.message and "with weight-free (optical flow)" in ctl.message


def test_the_window_names_the_videos_engine(make_controller: Callable[..., Controller], settings: Settings,
                                            ws: Workspace) -> None:
    ws.set_engine("cutie")
    ctl = make_controller()
    click(ctl, 300, 200)
    press(ctl, "p")
    assert "with Cutie (job" in ctl.message
    job = JobQueue.for_settings(settings).claim_next()
    assert job is not None and "engine" not in job.params
    write_progress(ws.progress_path, Progress(done=3, total=15, frame=3, fps=1.5, stats={"engine": "Cutie"}))
    ctl.tick(100.0)
    assert ctl.progress_text == "prop 3/15 1.5fps Cutie"


def test_m_clears_memory_for_the_next_propagation_only(make_controller: Callable[..., Controller],
                                                        settings: Settings, started_workers: list[Settings]) -> None:
    ctl = make_controller(start_frame=6)
    click(ctl, 300, 200)
    press(ctl, "m")
    assert "only this frame in memory" in ctl.message
    press(ctl, "p")
    queue = JobQueue.for_settings(settings)
    first = queue.list(["queued"])[0]
    assert first.params["clear_memory"] is True
    queue.cancel(first.id)
    press(ctl, ".")
    assert queue.list(["queued"])[0].params["clear_memory"] is False


def test_propagation_needs_a_mask_and_is_not_queued_twice(make_controller: Callable[..., Controller],
                                                          settings: Settings) -> None:
    ctl = make_controller(start_frame=6)
    press(ctl, "p")
    assert "annotate it before propagating" in ctl.message
    click(ctl, 300, 200)
    press(ctl, "p")
    press(ctl, "p")
    assert "already queued" in ctl.message
    assert len(JobQueue.for_settings(settings).list(["queued"])) == 1
    press(ctl, "end")
    click(ctl, 300, 200)
    press(ctl, "x")
    press(ctl, "p")
    assert "last frame" in ctl.message


def test_cancel_key_cancels_the_job_on_this_video(make_controller: Callable[..., Controller],
                                                  settings: Settings) -> None:
    ctl = make_controller()
    press(ctl, "x")
    assert "no propagation is running" in ctl.message
    click(ctl, 300, 200)
    press(ctl, "p", "x")
    queue = JobQueue.for_settings(settings)
    assert queue.list(["queued"]) == [] and len(queue.list(["cancelled"])) == 1


def test_progress_of_a_running_job_shows_in_the_hud_then_its_outcome(
        make_controller: Callable[..., Controller], settings: Settings, ws: Workspace) -> None:
    ctl = make_controller()
    click(ctl, 300, 200)
    press(ctl, "p")
    ctl.tick(100.0)
    assert ctl.progress_text == "prop queued"
    queue = JobQueue.for_settings(settings)
    job = queue.claim_next()
    assert job is not None
    write_progress(ws.progress_path, Progress(done=4, total=15, frame=4, fps=2.5, eta_s=4.4,
                                              stats={"engine": "flow", "weight_free": True}))
    ctl.dirty = False
    ctl.tick(101.5)
    assert ctl.progress_text == "prop 4/15 2.5fps eta 4s weight-free" and ctl.dirty
    assert "prop 4/15" in hud_text(ctl)
    queue.finish(job, "done", result={"done": 15})
    ctl.tick(103.0)
    assert ctl.progress_text == "" and ctl.message == "propagation done (15 frames)"
