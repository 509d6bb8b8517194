"""What each job kind does: a runner is a generator ``(job, context) -> Iterator[Progress]``.

Runners hold no queue logic: the worker drives them, publishes what they yield, and decides what a
cancel request or a stop signal means. A runner returns a :class:`~xmem_tui.params.JobResult` (the job
kind's own subclass), stored in the job file; ``complete=False`` tells the worker that it stopped early
(after a cancel request) rather than finishing.

Every kind is a :class:`JobKind` in :data:`JOB_KINDS`: the built-in ones are the modules of
:mod:`xmem_tui.jobs.kinds` (propagate, export), others register with :func:`register_job_kind` (a
plugin, or a test's deliberately slow runner). Heavy modules (torch, the workspace, export) are
imported inside the runners, so listing the kinds stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xmem_tui.config import Settings
from xmem_tui.errors import JobError
from xmem_tui.jobs.model import Job
from xmem_tui.params import JobRequest, JobResult
from xmem_tui.plugins import Registry
from xmem_tui.progress import Progress


@dataclass
class RunContext:
    """What a runner may use besides its job.

    Attributes:
        settings: the worker's settings.
        job: the job being run (``job.resume`` says where an interrupted attempt stopped).
        cancelled: True once the user asked to cancel (cheap; poll it between units of work).
        engine_cache: the worker's warm engine cache (an ``EngineCache``, made on first use so runners
            that need no engine never import torch), or None to build fresh engines.
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


@dataclass(frozen=True)
class JobKind:
    """One kind of job.

    Attributes:
        name: the job file's ``kind``.
        run: its runner.
        result: the :class:`JobResult` subclass its runner returns (how clients read ``job.result``).
        order: place in listings (lower first).
        request: the :class:`JobRequest` its ``[params]`` hold, checked when the job is submitted and again
            when a worker claims it (None: the runner checks its params itself).
    """

    name: str
    run: Runner
    result: type[JobResult] = JobResult
    order: int = 100
    request: type[JobRequest] | None = None


JOB_KINDS: Registry[JobKind] = Registry("job kind", "xmem_tui.jobs.kinds")


def register_job_kind(kind: JobKind, *, replace: bool = False) -> JobKind:
    """Make ``kind`` submittable and runnable (``replace`` lets it stand in for a built-in one)."""
    return JOB_KINDS.register(kind, replace=replace)


def unregister_job_kind(name: str) -> None:
    JOB_KINDS.unregister(name)


def runner_kinds() -> frozenset[str]:
    return frozenset(JOB_KINDS.names())


def get_runner(kind: str) -> Runner:
    """The runner for ``kind``.

    Raises:
        JobError: no such job kind.
    """
    spec = JOB_KINDS.get(kind)
    if spec is None:
        raise JobError(f"unknown job kind {kind!r}; use one of: {', '.join(sorted(JOB_KINDS.names()))}.")
    return spec.run


def check_params(job: Job) -> None:
    """Check a job's ``[params]`` against its kind's request type (unknown keys, types, ranges).

    Raises:
        JobError: ``"job <id>: params.<key> ..."`` naming what is wrong and what is allowed.
    """
    spec = JOB_KINDS.get(job.kind)
    if spec is not None and spec.request is not None:
        spec.request.from_params(job.params, f"job {job.id}")


def result_of(job: Job) -> JobResult:
    """``job.result`` read as its kind's result type (the base type for a kind no longer registered)."""
    from xmem_tui.params import read_result

    spec = JOB_KINDS.get(job.kind)
    return read_result(spec.result if spec is not None else JobResult, job.result)
