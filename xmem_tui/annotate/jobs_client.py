"""The window's view of propagation jobs: submit, cancel, and a short status line for the HUD.

Propagation never runs inside the window: it is a ``propagate`` job in the project's queue, run by the
detached worker (started on demand), so closing the window or losing the SSH connection stops nothing.
The window learns about progress from the files the worker writes (the job file's folder and
``ws.progress_path``), polled about once a second: a few small reads, nothing sent over X.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from xmem_tui.errors import UserError
from xmem_tui.progress import read_progress

if TYPE_CHECKING:
    from xmem_tui.config import Settings
    from xmem_tui.jobs.model import Job
    from xmem_tui.jobs.queue import JobQueue
    from xmem_tui.workspace import Workspace

log = logging.getLogger(__name__)

ACTIVE = ("queued", "running")


class PropagationClient:
    """Submits and follows propagation jobs for one video.

    Args:
        settings: project settings (queue folder, engine choice).
        ws: the video's workspace.
        queue: the job queue (default: the project's).
        start_worker: called after each submit so a worker runs the job (default:
            :func:`xmem_tui.jobs.pidfile.ensure_worker`).
    """

    def __init__(self, settings: Settings, ws: Workspace, queue: JobQueue | None = None,
                 start_worker: Callable[[Settings], Any] | None = None) -> None:
        from xmem_tui.jobs.queue import JobQueue

        self.settings = settings
        self.ws = ws
        self.queue = queue if queue is not None else JobQueue.for_settings(settings)
        self._start_worker = start_worker
        self.last_job: str | None = None
        self._announced: set[str] = set()

    def _video(self) -> str:
        path = self.ws.video_path.resolve()
        project = self.queue.project_dir
        return str(path.relative_to(project)) if path.is_relative_to(project) else str(path)

    def active_jobs(self) -> list[Job]:
        """Queued or running propagation jobs on this video (from any client), oldest first."""
        video = self._video()
        return [j for j in self.queue.list(ACTIVE) if j.kind == "propagate" and j.video == video]

    def submit(self, start: int, end: int, backward: bool, clear_memory: bool = False) -> str:
        """Queue a propagation from ``start`` to ``end`` (inclusive) and make sure a worker runs it.

        ``clear_memory`` memorises only the start frame, not the video's other annotated frames.

        Returns:
            A message for the HUD.
        Raises:
            UserError: a propagation is already queued or running on this video.
        """
        active = self.active_jobs()
        if active:
            raise UserError(f"propagation {active[0].id} is already {active[0].state} on this video; "
                            "wait for it or press x to cancel it")
        from xmem_tui.inference.request import PropagationRequest

        # no engine named: the run uses the video's choice (set in the dashboard), else processing.engine
        request = PropagationRequest(start=start, end=end, backward=backward, clear_memory=clear_memory)
        job = self.queue.submit(kind="propagate", video=self._video(), params=request.to_params())
        self.last_job = job.id
        self._ensure_worker()
        return f"propagating {request.direction} {start}->{end} with {self.engine_label()} (job {job.id})"

    def engine_label(self) -> str:
        """The engine this video's propagations run with ("Cutie", "XMem" ...), as the worker will choose it."""
        from xmem_tui.inference.service import video_engine_label

        return video_engine_label(self.settings, self.ws)

    def _ensure_worker(self) -> None:
        start = self._start_worker
        if start is None:
            from xmem_tui.jobs.pidfile import ensure_worker

            start = ensure_worker
        start(self.settings)

    def cancel(self) -> str:
        """Cancel the propagation running (or queued) on this video; returns a message for the HUD."""
        active = self.active_jobs()
        if not active:
            return "no propagation is running on this video"
        for job in active:
            self.queue.cancel(job.id)
        return f"cancelling propagation {active[0].id}"

    def status(self) -> tuple[str, str | None]:
        """``(hud_text, message)``: the progress text ('' when idle) and, once, how a job of ours ended."""
        active = self.active_jobs()
        if active:
            job = active[0]
            if job.state == "queued":
                return "prop queued", None
            progress = read_progress(self.ws.progress_path)
            if progress is None or progress.time < (job.started or 0) - 1:
                return "prop starting", None
            eta = f" eta {progress.eta_s:.0f}s" if progress.eta_s is not None else ""
            engine = " weight-free" if progress.stats.get("weight_free") else f" {progress.stats.get('engine', '')}"
            return (f"prop {progress.done}/{progress.total} {progress.fps:.1f}fps{eta}{engine}".rstrip(), None)
        return "", self._outcome()

    def _outcome(self) -> str | None:
        job_id = self.last_job
        if job_id is None or job_id in self._announced:
            return None
        try:
            job = self.queue.get(job_id)
        except UserError:
            return None
        if job.state in ACTIVE:
            return None
        self._announced.add(job_id)
        if job.state == "done":
            from xmem_tui.jobs.runners import result_of

            return f"propagation done ({result_of(job).done} frames)"
        return f"propagation {job.state}: {job.error or 'see xmem-tui jobs log ' + job_id}"


def review_list(ws: Workspace) -> list[tuple[int, str]]:
    """Frames worth a look, most suspicious first, with the reason: quality ranking, then stale frames."""
    from xmem_tui.inference.quality import load_signals, rank_frames

    user = ws.user_frames()
    ranked = [(frame, "; ".join(reasons[:2])) for frame, _score, reasons in
              rank_frames(load_signals(ws.quality_path), exclude=user)]
    seen = {f for f, _ in ranked}
    ranked += [(f, "stale: an upstream annotation changed") for f in ws.stale_frames() if f not in seen]
    return ranked

