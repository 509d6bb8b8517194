"""Propagate jobs: a :class:`~xmem_tui.inference.request.PropagationRequest` run by the worker, resumably."""

from __future__ import annotations

from collections.abc import Generator

from xmem_tui.inference.request import PropagationRequest, PropagationResult
from xmem_tui.jobs.model import Job
from xmem_tui.jobs.runners import JobKind, RunContext
from xmem_tui.progress import Progress


def run(job: Job, ctx: RunContext) -> Generator[Progress, None, PropagationResult]:
    """Propagate masks through the job's video, resuming after the last frame an earlier attempt wrote.

    The params are a stored :class:`PropagationRequest` (unknown keys refused). The propagation run id is
    registered and saved in the job file before the first frame is written, so after a crash
    :func:`~xmem_tui.inference.propagation.resume_point` finds exactly the frames written;
    :func:`~xmem_tui.inference.service.run_propagation` resumes there, and retries once with a smaller
    memory budget on out-of-memory before failing with the config keys to lower.
    """
    request = PropagationRequest.from_params(job.params, f"job {job.id}")
    from xmem_tui.inference.propagation import resume_point
    from xmem_tui.inference.service import run_propagation
    from xmem_tui.workspace import Workspace

    ws = Workspace.for_video(ctx.settings, ctx.video_path)
    run_id = job.resume.get("run")
    if not isinstance(run_id, str) or not run_id:
        run_id = ws.begin_run(request.start, request.backward)
        ctx.save_resume({"run": run_id})
    resumed = resume_point(ws, run_id, request.start, request.backward)
    if resumed != request.start:
        ctx.note(f"run {run_id} already wrote frames up to {resumed}: resuming after it")
    last = None
    for last in run_propagation(ws, ctx.settings, request, cancel=ctx.cancelled, run_id=run_id, cache=ctx.engines,
                                on_retry=ctx.note):
        yield last.to_progress()
    resumed_after = resumed if resumed != request.start else None
    if last is None:
        return PropagationResult(run=run_id, resumed_after=resumed_after, complete=not ctx.cancelled())
    return PropagationResult(run=run_id, resumed_after=resumed_after, done=last.done, total=last.total,
                             last_frame=last.frame, engine=last.engine, weight_free=last.weight_free,
                             complete=last.done == last.total)


SPEC = JobKind(name="propagate", run=run, result=PropagationResult, order=10, request=PropagationRequest)
