"""What each job kind does: a runner is a generator ``(job, context) -> Iterator[Progress]``.

Runners hold no queue logic: the worker drives them, publishes what they yield, and decides what a
cancel request or a stop signal means. A runner may ``return`` a result dict (stored in the job file);
``{"complete": False}`` tells the worker that it stopped early (after a cancel request) rather than
finishing. Heavy modules (torch, the workspace, export) are imported inside the runners, so importing
this module to list the kinds stays cheap.

``XMEM_TUI_EXTRA_RUNNERS="kind=package.module:function,..."`` registers more runners; the test-suite
uses it for deliberately slow runners, and it is the hook for site-specific job kinds.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xmem_tui.config import Settings
from xmem_tui.errors import JobError
from xmem_tui.jobs.model import Job
from xmem_tui.progress import Progress

EXTRA_ENV = "XMEM_TUI_EXTRA_RUNNERS"


@dataclass
class RunContext:
    """What a runner may use besides its job.

    Attributes:
        settings: the worker's settings.
        job: the job being run (``job.resume`` says where an interrupted attempt stopped).
        cancelled: True once the user asked to cancel (cheap; poll it between units of work).
        engines: the worker's warm engine cache (an ``EngineCache``, made on first use so runners that
            need no engine never import torch), or None to build fresh engines.
        save_resume: persist resume information in the running job file *before* work that depends on it,
            so a crash at any moment can be resumed (e.g. a propagation's run id).
        note: append a line to the job's log (the worker's logging also lands there).
    """

    settings: Settings
    job: Job
    cancelled: Callable[[], bool] = lambda: False
    engine_cache: Callable[[], Any] = lambda: None
    save_resume: Callable[[dict[str, Any]], None] = lambda _info: None
    note: Callable[[str], None] = lambda _text: None

    @property
    def engines(self) -> Any:
        return self.engine_cache()

    @property
    def video_path(self) -> Path:
        return (self.settings.project_dir / self.job.video).resolve()


Runner = Callable[[Job, RunContext], Iterator[Progress]]


def _int_param(params: dict[str, Any], key: str, job: Job, default: int | None = None) -> int | None:
    value = params.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise JobError(f"job {job.id}: params.{key} must be a frame number, got {value!r}.")
    return value


def run_propagate(job: Job, ctx: RunContext) -> Generator[Progress, None, dict[str, Any]]:
    """Propagate masks through the job's video, resuming after the last frame an earlier attempt wrote.

    Params: ``start`` (required), ``end``, ``backward``, ``until_keyframe``, ``engine`` (auto/xmem/flow),
    ``clear_memory`` (memorise only the start frame, not the video's other annotated frames).
    The propagation run id is registered and saved in the job file before the first frame is written,
    so after a crash :func:`~xmem_tui.inference.propagation.resume_point` finds exactly the frames written;
    :func:`~xmem_tui.inference.service.run_propagation` resumes there, and retries once with a smaller
    memory budget on out-of-memory before failing with the config keys to lower.
    """
    params = job.params
    start = _int_param(params, "start", job)
    if start is None:
        raise JobError(f"job {job.id}: params.start is missing; give the annotated frame to propagate from.")
    end = _int_param(params, "end", job)
    backward = bool(params.get("backward", False))
    from xmem_tui.inference.propagation import resume_point
    from xmem_tui.inference.service import run_propagation
    from xmem_tui.workspace import Workspace

    ws = Workspace.for_video(ctx.settings, ctx.video_path)
    run_id = job.resume.get("run")
    if not isinstance(run_id, str) or not run_id:
        run_id = ws.begin_run(start, backward)
        ctx.save_resume({"run": run_id})
    resumed = resume_point(ws, run_id, start, backward)
    summary: dict[str, Any] = {"run": run_id}
    if resumed != start:
        summary["resumed_after"] = resumed
        ctx.note(f"run {run_id} already wrote frames up to {resumed}: resuming after it")
    for result in run_propagation(ws, ctx.settings, start, end=end, backward=backward,
                                  until_keyframe=bool(params.get("until_keyframe", False)),
                                  kind=str(params.get("engine") or ctx.settings.processing.engine),
                                  cancel=ctx.cancelled, run_id=run_id, cache=ctx.engines, on_retry=ctx.note,
                                  keyframe_memory=not bool(params.get("clear_memory", False))):
        summary.update(done=result.done, total=result.total, last_frame=result.frame, engine=result.engine,
                       weight_free=result.weight_free)
        yield result.to_progress()
    summary["complete"] = (summary.get("done") == summary.get("total")
                           or ("total" not in summary and not ctx.cancelled()))
    return summary


def run_export(job: Job, ctx: RunContext) -> Generator[Progress, None, dict[str, Any]]:
    """Export through ``xmem_tui.export.job.run_export`` (params as documented by the export module)."""
    try:
        export_job = importlib.import_module("xmem_tui.export.job")
    except ImportError as exc:
        raise JobError(f"job {job.id}: exporting is not available in this installation ({exc}); "
                       "update xmem-tui.") from exc
    result = yield from export_job.run_export(dict(job.params), ctx.settings, ctx.video_path, ctx.cancelled)
    return dict(result) if isinstance(result, dict) else {}


BUILTIN: dict[str, Runner] = {"propagate": run_propagate, "export": run_export}


def _extra_runners() -> dict[str, Runner]:
    extra: dict[str, Runner] = {}
    for item in filter(None, (part.strip() for part in os.environ.get(EXTRA_ENV, "").split(","))):
        kind, _, target = item.partition("=")
        module_name, _, attr = target.partition(":")
        if not kind or not module_name or not attr:
            raise JobError(f"{EXTRA_ENV}: {item!r} is not kind=module:function.")
        try:
            extra[kind] = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise JobError(f"{EXTRA_ENV}: cannot load {target!r} ({exc}).") from exc
    return extra


def runners() -> dict[str, Runner]:
    """Every registered runner by kind (built-ins plus ``XMEM_TUI_EXTRA_RUNNERS``)."""
    return {**BUILTIN, **_extra_runners()}


def runner_kinds() -> frozenset[str]:
    return frozenset(runners())


def get_runner(kind: str) -> Runner:
    """The runner for ``kind``.

    Raises:
        JobError: no runner is registered for it.
    """
    table = runners()
    if kind not in table:
        raise JobError(f"unknown job kind {kind!r}; use one of: {', '.join(sorted(table))}.")
    return table[kind]
