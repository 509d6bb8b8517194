"""Long work (propagation, export) as jobs: a file queue under ``jobs/`` and a detached worker.

Clients use :class:`~xmem_tui.jobs.queue.JobQueue` to submit and watch jobs and
:func:`~xmem_tui.jobs.pidfile.ensure_worker` / :func:`~xmem_tui.jobs.pidfile.worker_status` to make sure
a worker serves them; :mod:`xmem_tui.jobs.worker` is the worker itself. Nothing here imports torch.
"""

from xmem_tui.jobs.model import Job, JobState
from xmem_tui.jobs.pidfile import WorkerStatus, ensure_worker, stop_worker, worker_status
from xmem_tui.jobs.queue import JobQueue

__all__ = ["Job", "JobQueue", "JobState", "WorkerStatus", "ensure_worker", "stop_worker", "worker_status"]
