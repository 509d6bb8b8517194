"""The queue's client and worker operations in one process, and claim races between processes."""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

import pytest

from xmem_tui.errors import JobError
from xmem_tui.jobs.queue import JobQueue
from xmem_tui.progress import Progress, write_progress

from .helpers import Project


def test_submit_writes_a_readable_job_file(project: Project) -> None:
    queue = project.queue
    job = queue.submit("slow", project.root / "source" / "a.mp4", {"n": 3, "engine": "flow"}, priority=1)
    path = project.jobs / "queued" / f"{job.id}.toml"
    assert path.is_file()
    again = queue.get(job.id)
    assert (again.kind, again.video, again.params, again.priority, again.state) == (
        "slow", "source/a.mp4", {"n": 3, "engine": "flow"}, 1, "queued")
    assert [j.id for j in queue.list()] == [job.id]


@pytest.mark.parametrize(("kind", "video", "params", "message"), [
    ("resize", "a.mp4", {}, "unknown kind"),
    ("slow", "/etc/hosts", {}, "outside the project"),
    ("slow", "a.mp4", {"output": "../x.mp4"}, "outside the project"),
])
def test_submit_refuses_bad_jobs(project: Project, kind: str, video: str, params: dict, message: str) -> None:
    with pytest.raises(JobError, match=message):
        project.queue.submit(kind, video, params)
    assert not list((project.jobs / "queued").glob("*.toml"))


def test_claim_order_is_priority_then_fifo(project: Project) -> None:
    queue = project.queue
    low = queue.submit("slow", "a.mp4", priority=0)
    high = queue.submit("slow", "a.mp4", priority=5)
    low2 = queue.submit("slow", "a.mp4", priority=0)
    high2 = queue.submit("slow", "a.mp4", priority=5)
    claimed = [queue.claim_next("test:1") for _ in range(5)]
    assert [j.id if j else None for j in claimed] == [high.id, high2.id, low.id, low2.id, None]
    running = queue.get(high.id)
    assert running.state == "running" and running.worker == "test:1" and running.started is not None


def test_malformed_file_is_failed_with_a_clear_message(project: Project) -> None:
    queue = project.queue
    queue.ensure()
    (project.jobs / "queued" / "broken.toml").write_text('kind = "slow"\nvideo = "a.mp4"\n[params\n')
    (project.jobs / "queued" / "escape.toml").write_text('kind = "slow"\nvideo = "../../etc/passwd"\n')
    good = queue.submit("slow", "a.mp4")
    assert queue.claim_next().id == good.id
    assert queue.claim_next() is None
    broken, escape = queue.get("broken"), queue.get("escape")
    assert broken.state == "failed" and "not valid TOML" in broken.error and "[params" in broken.raw
    assert escape.state == "failed" and "outside the project" in escape.error and escape.video == "../../etc/passwd"


def test_cancel_retry_and_clean(project: Project) -> None:
    queue = project.queue
    queued = queue.submit("slow", "a.mp4")
    running = queue.submit("slow", "a.mp4")
    assert queue.cancel(queued.id).state == "cancelled"
    claimed = queue.claim_next()
    assert claimed is not None and claimed.id == running.id
    assert queue.cancel(running.id).state == "running" and queue.cancel_requested(running.id)
    finished = queue.finish(claimed, "failed", error="boom", result={"done": 2})
    assert not queue.cancel_requested(running.id)
    assert (finished.state, finished.error, finished.result) == ("failed", "boom", {"done": 2})
    with pytest.raises(JobError, match="already finished"):
        queue.cancel(running.id)
    with pytest.raises(JobError, match="only failed or cancelled"):
        queue.retry(queue.submit("slow", "a.mp4").id)
    again = queue.retry(running.id)
    assert (again.state, again.error, again.result, again.attempts) == ("queued", "", {}, 0)
    assert queue.get(running.id).state == "queued"
    assert queue.clean(older_than_s=3600) == 0
    assert queue.clean() == 1
    with pytest.raises(JobError, match="no job"):
        queue.get(queued.id)


def test_get_accepts_prefix_and_suffix(project: Project) -> None:
    queue = project.queue
    job = queue.submit("slow", "a.mp4")
    assert queue.get(job.id.split("-")[1]).id == job.id
    assert queue.get(job.id[:-3]).id == job.id
    queue.submit("slow", "a.mp4")
    with pytest.raises(JobError, match="ambiguous"):
        queue.get(job.id[:8])


def test_progress_is_kept_after_the_job_moves(project: Project) -> None:
    queue = project.queue
    job = queue.submit("slow", "a.mp4")
    assert queue.progress(job.id) is None
    write_progress(queue.progress_path(job.id), Progress(done=3, total=9, frame=2, message="x"))
    queue.finish(queue.claim_next(), "done")
    progress = queue.progress(job.id)
    assert progress is not None and (progress.done, progress.total, progress.frame) == (3, 9, 2)


def test_staged_file_of_an_interrupted_move_is_visible_to_recovery(project: Project) -> None:
    queue = project.queue
    job = queue.submit("slow", "a.mp4")
    os.rename(queue.path("queued", job.id), project.jobs / "queued" / f".{job.id}.toml.staged")
    assert queue.list() == [] and queue.staged_paths() == [project.jobs / "queued" / f".{job.id}.toml.staged"]


def _claim_all(jobs_dir: str, project_dir: str, out: str, start: float) -> None:
    queue = JobQueue(Path(jobs_dir), Path(project_dir), kinds={"slow"})
    while time.time() < start:
        time.sleep(0.001)
    claimed = []
    while (job := queue.claim_next(f"p{os.getpid()}")) is not None:
        claimed.append(job.id)
    Path(out).write_text("\n".join(claimed))


def test_racing_processes_claim_each_job_exactly_once(project: Project, tmp_path: Path) -> None:
    queue = JobQueue(project.jobs, project.root, kinds={"slow"})
    submitted = {queue.submit("slow", "a.mp4").id for _ in range(60)}
    start = time.time() + 0.5
    ctx = multiprocessing.get_context("spawn")
    outs = [tmp_path / f"claimed{i}.txt" for i in range(4)]
    procs = [ctx.Process(target=_claim_all, args=(str(project.jobs), str(project.root), str(o), start)) for o in outs]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    claimed = [line for o in outs for line in o.read_text().split()]
    assert sorted(claimed) == sorted(submitted)  # every job once, none twice
    assert len(set(queue.ids("running"))) == 60 and not queue.ids("queued")
