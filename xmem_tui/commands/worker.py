"""``xmem-tui worker``: run queued jobs; ``--detach`` keeps it running after the terminal or SSH link goes.

In the foreground the worker logs to stderr and stops cleanly on Ctrl-C (the running job is re-queued).
``--detach`` starts it in its own session with output in ``jobs/worker.log`` and returns at once;
``--stop`` asks a running worker to stop; ``--status`` prints whether one is alive and what it does.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import TYPE_CHECKING

from xmem_tui.config import Settings

if TYPE_CHECKING:
    from xmem_tui.jobs.pidfile import WorkerStatus

NAME = "worker"
HELP = "run queued jobs (propagation, export); --detach keeps it running after you log out"


def register(parser: argparse.ArgumentParser) -> None:
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--detach", action="store_true",
                      help="start in the background (own session, log in jobs/worker.log) and return")
    mode.add_argument("--stop", action="store_true", help="stop the running worker (its job is re-queued)")
    mode.add_argument("--status", action="store_true", help="print the worker's status and exit")
    parser.add_argument("--once", action="store_true", help="exit when the queue is empty")
    parser.add_argument("--json", action="store_true", help="with --status: print JSON")
    parser.add_argument("--rescan", type=float, default=None, metavar="S",
                        help="seconds between safety-net rescans of the queue (default 3; new jobs are "
                             "normally noticed at once through file-system events)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from xmem_tui.jobs.pidfile import LOG_NAME, WorkerBusy, ensure_worker, stop_worker, worker_status

    if args.status:
        status = worker_status(settings)
        if args.json:
            print(json.dumps({"alive": status.alive, "pid": status.pid, "host": status.host,
                              "state": status.state, "job": status.job, "heartbeat": status.heartbeat,
                              "stale": status.stale}, sort_keys=True))
        else:
            print(describe(status))
        return 0
    if args.stop:
        stopped = stop_worker(settings)
        print("worker stopped" if stopped else "no worker is running")
        return 0
    if args.detach:
        status = worker_status(settings)
        if status.alive:
            raise WorkerBusy(f"a worker is already running (pid {status.pid}); "
                             "stop it first with `xmem-tui worker --stop`.")
        extra = (("--once",) if args.once else ()) + (("--rescan", str(args.rescan)) if args.rescan else ())
        pid = ensure_worker(settings, extra_args=extra)
        print(f"worker started in the background (pid {pid}); log: {settings.jobs_dir / LOG_NAME}; "
              "stop it with `xmem-tui worker --stop`")
        return 0
    from xmem_tui.jobs.worker import run_worker

    return run_worker(settings, once=args.once, rescan_s=args.rescan)


def describe(status: WorkerStatus) -> str:
    """One line about the worker (shared with ``xmem-tui jobs``)."""
    if not status.alive:
        return "worker: not running (start one with `xmem-tui worker --detach`)"
    age = status.heartbeat_age
    beat = "no heartbeat yet" if age is None else f"heartbeat {age:.0f} s ago"
    stale = " - STALE, the worker looks stuck" if status.stale else ""
    doing = f"running job {status.job}" if status.job else status.state
    since = f", up since {time.strftime('%H:%M:%S', time.localtime(status.started))}" if status.started else ""
    return f"worker: pid {status.pid} on {status.host or '?'}, {doing}{since}, {beat}{stale}"
