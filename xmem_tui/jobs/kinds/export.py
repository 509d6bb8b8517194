"""Export jobs: an :class:`~xmem_tui.export.request.ExportRequest` run by the worker."""

from __future__ import annotations

import importlib
from collections.abc import Generator

from xmem_tui.errors import JobError
from xmem_tui.export.request import ExportRequest, ExportResult
from xmem_tui.jobs.model import Job
from xmem_tui.jobs.runners import JobKind, RunContext
from xmem_tui.progress import Progress


def run(job: Job, ctx: RunContext) -> Generator[Progress, None, ExportResult]:
    """Export through :func:`xmem_tui.export.job.run_export`; the params are a stored ExportRequest."""
    request = ExportRequest.from_params(job.params, f"job {job.id}")
    try:
        export_job = importlib.import_module("xmem_tui.export.job")
    except ImportError as exc:
        raise JobError(f"job {job.id}: exporting is not available in this installation ({exc}); "
                       "update xmem-tui.") from exc
    return (yield from export_job.run_export(request, ctx.settings, ctx.video_path, ctx.cancelled))


SPEC = JobKind(name="export", run=run, result=ExportResult, order=20, request=ExportRequest)
