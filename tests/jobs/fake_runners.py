"""Job kinds registered only in tests: slow, countable, resumable runners, and one that runs out of memory.

The job tests' fixture registers :data:`KINDS` in its process and installs :func:`register` as a plugin
for the workers it starts (:mod:`tests.plugins`). ``slow`` appends one line ``<job id> <unit>`` to a
ledger file per unit of work, so a test can check that every unit ran exactly once across workers, kills
and restarts. It resumes from ``job.resume["done"]``, which the worker records when it re-queues a job
after a stop signal.
"""

from __future__ import annotations

import os
import time
from collections.abc import Generator
from typing import Any

from xmem_tui.jobs.runners import JobKind, register_job_kind
from xmem_tui.params import JobResult
from xmem_tui.progress import Progress


def slow(job: Any, ctx: Any) -> Generator[Progress, None, JobResult]:
    n = int(job.params.get("n", 10))
    delay = float(job.params.get("delay", 0.05))
    ledger = ctx.settings.project_dir / str(job.params.get("ledger", "ledger.txt"))
    first = int(job.resume.get("done", 0))
    for unit in range(first, n):
        if ctx.cancelled():
            return JobResult(complete=False)
        time.sleep(delay)
        fd = os.open(ledger, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{job.id} {unit}\n".encode())
        finally:
            os.close(fd)
        yield Progress(done=unit + 1, total=n, frame=unit, fps=1.0 / max(delay, 1e-3), message="slow work",
                       stats={"pid": os.getpid()})
    return JobResult(done=n, total=n)


def oom(job: Any, ctx: Any) -> Generator[Progress, None, JobResult]:
    """Runs out of "CUDA memory" on every attempt, through the propagation's out-of-memory retry helper."""
    from xmem_tui.inference.estimate import run_with_oom_retry

    attempts: list[int] = []

    def attempt(settings: Any, number: int) -> Generator[Progress, None, None]:
        attempts.append(number)
        yield Progress(done=0, total=1, message=f"attempt {number}")
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")

    yield from run_with_oom_retry(attempt, ctx.settings, engine="xmem", device="cpu", on_retry=ctx.note)
    return JobResult(done=len(attempts))


KINDS = (JobKind("slow", slow), JobKind("oom", oom))


def register() -> None:
    """The plugin entry point of a worker process started by a test."""
    for kind in KINDS:
        register_job_kind(kind)
