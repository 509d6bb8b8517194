"""One worker per queue: the ``jobs/worker.pid`` lock, the ``jobs/worker.json`` status, and starting a worker.

Liveness is decided by ``fcntl.flock`` on ``worker.pid``, not by the pid it contains: the kernel drops
the lock the instant the worker dies, even by SIGKILL, and a recycled pid cannot fool it. Clients probe
with a shared, non-blocking lock held for microseconds; the worker takes the exclusive lock and retries
briefly so a probe never makes a starting worker give up. ``worker.json`` carries what a client shows:
pid, host, current job and a heartbeat the worker refreshes every second (a worker alive but stuck is
"stale"). The detached worker runs in its own session, so an SSH hangup does not reach it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xmem_tui.errors import JobError
from xmem_tui.fsutil import atomic_write_json, flock_held, try_flock

PID_NAME = "worker.pid"
STATUS_NAME = "worker.json"
LOG_NAME = "worker.log"
#: A live worker whose heartbeat is older than this is reported as stale (stuck).
STALE_S = 30.0
#: Workers this process started; polled now and then so an exited one does not linger as a zombie.
_SPAWNED: list[subprocess.Popen[bytes]] = []


class WorkerBusy(JobError):
    """Another worker already serves this queue."""


@dataclass(frozen=True)
class WorkerStatus:
    """What clients show about the worker of one queue.

    Attributes:
        alive: a worker process holds the queue lock right now.
        pid, host, started: from the pid file (None/"" when no worker ever ran).
        state: "idle", "running", "stopping" or "stopped" (last state the worker published).
        job: id of the job being run, or None.
        heartbeat: epoch seconds of the last status refresh, or None.
    """

    alive: bool
    pid: int | None = None
    host: str = ""
    started: float | None = None
    state: str = "stopped"
    job: str | None = None
    heartbeat: float | None = None

    @property
    def heartbeat_age(self) -> float | None:
        return None if self.heartbeat is None else max(0.0, time.time() - self.heartbeat)

    @property
    def stale(self) -> bool:
        age = self.heartbeat_age
        return self.alive and (age is None or age > STALE_S)


class WorkerLock:
    """The exclusive lock a worker holds on ``worker.pid`` for its whole life."""

    def __init__(self, jobs_dir: Path) -> None:
        self.path = Path(jobs_dir) / PID_NAME
        self._fd: int | None = None

    def acquire(self, wait_s: float = 2.0) -> bool:
        """Take the lock (retrying for ``wait_s`` against client probes); write pid, start time and host."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        if not try_flock(fd, wait_s, interval=0.02):
            os.close(fd)
            return False
        self._fd = fd
        # Rewritten in place: replacing the file would move the lock's inode away from readers' opens.
        info = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()})
        os.ftruncate(fd, 0)
        os.pwrite(fd, (info + "\n").encode(), 0)
        os.fsync(fd)
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock; the file stays so no waiter locks a dead inode
            self._fd = None


def lock_held(jobs_dir: Path) -> bool:
    """True when some process holds the worker lock of this queue."""
    return flock_held(Path(jobs_dir) / PID_NAME)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_status(jobs_dir: Path, state: str, job: str | None) -> None:
    """Publish the worker's state and heartbeat (called by the worker, about once a second)."""
    atomic_write_json(Path(jobs_dir) / STATUS_NAME, {
        "pid": os.getpid(), "host": socket.gethostname(), "state": state, "job": job, "heartbeat": time.time()})


def worker_status(settings: Any) -> WorkerStatus:
    """Status of the worker serving ``settings.jobs_dir`` (also accepts the jobs folder itself)."""
    jobs_dir = Path(getattr(settings, "jobs_dir", settings))
    _SPAWNED[:] = [p for p in _SPAWNED if p.poll() is None]
    alive = lock_held(jobs_dir)
    pid_info = _read_json(jobs_dir / PID_NAME)
    status = _read_json(jobs_dir / STATUS_NAME)
    if alive and not pid_info:  # the pid file is being written right now
        time.sleep(0.05)
        pid_info = _read_json(jobs_dir / PID_NAME)
    same = status.get("pid") == pid_info.get("pid")
    return WorkerStatus(
        alive=alive, pid=pid_info.get("pid"), host=pid_info.get("host", ""), started=pid_info.get("started"),
        state=(status.get("state", "idle") if same else "idle") if alive else "stopped",
        job=status.get("job") if alive and same else None,
        heartbeat=status.get("heartbeat") if same else None)


def spawn_worker(settings: Any, extra_args: tuple[str, ...] = ()) -> subprocess.Popen[bytes]:
    """Start ``xmem-tui worker`` in a new session, logging to ``jobs/worker.log``; returns at once."""
    jobs_dir = Path(settings.jobs_dir)
    jobs_dir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "xmem_tui"]
    if getattr(settings, "config_file", None) is not None:
        command += ["--config", str(settings.config_file)]
    command += ["worker", *extra_args]
    with open(jobs_dir / LOG_NAME, "ab") as log_file:
        process = subprocess.Popen(command, cwd=settings.project_dir, stdin=subprocess.DEVNULL, stdout=log_file,
                                   stderr=subprocess.STDOUT, start_new_session=True, close_fds=True)
    _SPAWNED.append(process)
    return process


def ensure_worker(settings: Any, wait_s: float = 20.0, extra_args: tuple[str, ...] = ()) -> int:
    """The pid of the queue's worker, starting a detached one when none is alive.

    ``extra_args`` are passed to the new ``xmem-tui worker`` (e.g. ``("--once",)``).

    Raises:
        JobError: the new worker exited or did not come up within ``wait_s`` (its log is named).
    """
    status = worker_status(settings)
    if status.alive and status.pid:
        return int(status.pid)
    process = spawn_worker(settings, extra_args)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        status = worker_status(settings)
        if status.alive and status.pid:
            return int(status.pid)
        if process.poll() is not None:
            status = worker_status(settings)  # lost a race to another starter: theirs is fine too
            if status.alive and status.pid:
                return int(status.pid)
            raise JobError(f"the worker exited at once (code {process.returncode}); "
                           f"see {Path(settings.jobs_dir) / LOG_NAME}.")
        time.sleep(0.05)
    raise JobError(f"the worker did not start within {wait_s:.0f} s; see {Path(settings.jobs_dir) / LOG_NAME}.")


def stop_worker(settings: Any, wait_s: float = 30.0) -> bool:
    """Ask the queue's worker to stop (SIGTERM: its running job is re-queued); False if none was running.

    Raises:
        JobError: the worker runs on another host, or did not stop within ``wait_s``.
    """
    status = worker_status(settings)
    if not status.alive or not status.pid:
        return False
    if status.host and status.host != socket.gethostname():
        raise JobError(f"the worker (pid {status.pid}) runs on {status.host}; stop it there.")
    with contextlib.suppress(ProcessLookupError):
        os.kill(int(status.pid), signal.SIGTERM)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if not lock_held(Path(settings.jobs_dir)):
            return True
        time.sleep(0.05)
    raise JobError(f"the worker (pid {status.pid}) did not stop within {wait_s:.0f} s; "
                   f"`kill {status.pid}` again or wait for the current frame to finish.")
