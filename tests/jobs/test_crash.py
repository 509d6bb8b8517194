"""Crash handling: a worker killed with SIGKILL mid-propagation, and what the next worker makes of it."""

from __future__ import annotations

import collections
import json
import os
import signal
import time

import pytest

from xmem_tui.jobs.model import job_to_toml
from xmem_tui.jobs.pidfile import lock_held
from xmem_tui.jobs.worker import Worker
from xmem_tui.progress import Progress, write_progress
from xmem_tui.workspace import Workspace

from .helpers import Project, wait_for

N_FRAMES = 40


def _journal_writes(ws: Workspace) -> collections.Counter[int]:
    """How often each frame was written, from the workspace's journal (one line per write)."""
    counts: collections.Counter[int] = collections.Counter()
    for line in (ws.root / "frames.jsonl").read_text().splitlines():
        entry = json.loads(line)
        if "f" in entry and not entry.get("clear"):
            counts[entry["f"]] += 1
    return counts


@pytest.mark.timeout(300)
def test_sigkill_mid_propagation_resumes_with_no_frame_lost_or_duplicated(clip_project: Project) -> None:
    project = clip_project
    submitted = project.cli("propagate", "source/clip.mp4", "--from", "0", "--engine", "flow", "--queue")
    assert submitted.returncode == 0, submitted.stderr
    job_id = submitted.stdout.strip().splitlines()[-1]
    assert project.cli("worker", "--detach").returncode == 0
    pid = project.wait_alive()
    wait_for(lambda: (p := project.queue.progress(job_id)) and p.done >= 3, 180, what="3 propagated frames")
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not lock_held(project.jobs), 10, what="the killed worker's lock to drop")

    crashed = project.queue.get(job_id)
    run_id = crashed.resume["run"]
    ws = Workspace.for_video(project.settings, project.root / "source" / "clip.mp4")
    written_before = sorted(i for i, r in ws.records().items() if r.run == run_id)
    assert crashed.state == "running" and 3 <= len(written_before) < N_FRAMES - 1
    assert written_before == list(range(1, len(written_before) + 1))

    assert project.cli("worker", "--detach").returncode == 0
    wait_for(lambda: project.queue.get(job_id).state not in ("queued", "running"), 180, what="the resumed job")
    job = project.queue.get(job_id)
    assert job.state == "done", (job.error, project.queue.log_path(job_id).read_text())
    assert job.attempts == 1 and job.result["resumed_after"] == written_before[-1]
    assert job.result["done"] == job.result["total"] == N_FRAMES - 1

    records = ws.records()
    assert sorted(records) == list(range(N_FRAMES))  # every frame has a mask
    assert records[0].user and all(records[i].run == run_id and not records[i].user for i in range(1, N_FRAMES))
    assert all(ws.read_mask(i) is not None and ws.read_mask(i).any() for i in range(N_FRAMES))
    writes = _journal_writes(ws)
    assert {i: writes[i] for i in range(1, N_FRAMES)} == {i: 1 for i in range(1, N_FRAMES)}  # none twice
    log_text = project.queue.log_path(job_id).read_text()
    assert f"resuming after frame {job.result['resumed_after']}" in log_text


def _orphan(project: Project, attempts: int, state: str = "running") -> str:
    """A job file left in running/ by a worker that died (written as that worker would have)."""
    job = project.queue.submit("slow", "a.mp4", {"n": 10})
    queue = project.queue
    os.rename(queue.path("queued", job.id), queue.path("running", job.id))
    queue.path("running", job.id).write_text(job_to_toml(job.replace(state=state, attempts=attempts,
                                                                     worker="gone:1", resume={"run": "r"})))
    write_progress(queue.progress_path(job.id), Progress(done=4, total=10, frame=3))
    return job.id


def test_recovery_requeues_once_with_progress_then_fails(project: Project) -> None:
    first, second, moved = _orphan(project, 0), _orphan(project, 1), _orphan(project, 0, state="done")
    cancelled = _orphan(project, 0)
    project.queue.cancel(cancelled)  # requested while no worker was alive
    project.queue.cancel_path("long-gone").write_text("")
    Worker(project.settings).recover(heartbeat=None)
    requeued, failed = project.queue.get(first), project.queue.get(second)
    assert requeued.state == "queued" and requeued.attempts == 1
    assert requeued.resume == {"run": "r", "done": 4, "total": 10, "frame": 3}
    assert "died after frame 3 (4/10)" in requeued.error and "gone:1" in requeued.error
    assert failed.state == "failed" and failed.attempts == 2 and "already been retried" in failed.error
    assert project.queue.get(moved).state == "done"
    assert project.queue.get(cancelled).state == "cancelled" and project.queue.get(cancelled).result["done"] == 4
    assert not project.queue.cancel_path("long-gone").exists()


def test_recovery_finishes_a_client_move_cut_short(project: Project) -> None:
    job = project.queue.submit("slow", "a.mp4")
    failed_dir = project.jobs / "failed"
    failed_dir.mkdir(parents=True, exist_ok=True)
    staged = failed_dir / f".{job.id}.toml.staged"
    os.rename(project.queue.path("queued", job.id), staged)
    Worker(project.settings).recover()
    assert staged.exists()  # too fresh: the client may still be finishing the move
    os.utime(staged, (time.time() - 60, time.time() - 60))
    Worker(project.settings).recover()
    assert project.queue.get(job.id).state == "failed"
