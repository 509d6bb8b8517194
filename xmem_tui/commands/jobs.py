"""``xmem-tui jobs [list|show ID|log ID|cancel ID|retry ID|clean|submit KIND VIDEO]``: the queue from a shell.

Everything here only reads and moves files under ``jobs/``, so it works while a detached worker runs
(or while none does). ``--json`` prints machine-readable output for scripts.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import time
import tomllib
from typing import TYPE_CHECKING, Any

from xmem_tui.config import Settings
from xmem_tui.errors import JobError

if TYPE_CHECKING:
    from xmem_tui.jobs.model import Job
    from xmem_tui.jobs.queue import JobQueue

NAME = "jobs"
HELP = "list, show, log, cancel, retry, clean or submit background jobs"
ACTIONS = ("list", "show", "log", "cancel", "retry", "clean", "submit")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhd]?)")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", nargs="?", choices=ACTIONS, default="list", help="what to do (default: list)")
    parser.add_argument("args", nargs="*", metavar="ARG",
                        help="job id (show/log/cancel/retry; a unique prefix or the random suffix is enough), "
                             "or KIND VIDEO for submit")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--older-than", metavar="AGE", default=None,
                        help="clean: only jobs finished longer ago than AGE (e.g. 90m, 12h, 7d; default: all)")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                        help="submit: a job parameter (VALUE read as TOML: 12, true, \"text\"); repeatable")
    parser.add_argument("--priority", type=int, default=0, help="submit: higher runs first (default 0)")


def check_project(settings: Settings) -> None:
    """Refuse to read a queue that cannot exist: outside a project, "no jobs" would be a misleading answer.

    Raises:
        UserError: the folder has no config.toml, source/ or jobs/ (the signs of ``xmem-tui init``).
    """
    from xmem_tui.errors import UserError

    if settings.config_file is None and not settings.jobs_dir.is_dir() and not settings.source_dir.is_dir():
        raise UserError(f"{settings.project_dir} is not a project folder (no config.toml, source/ or jobs/); "
                        "cd into your project, or make one here with `xmem-tui init`.")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from xmem_tui.jobs.queue import JobQueue

    check_project(settings)
    queue = JobQueue.for_settings(settings)
    action = args.action
    needs_id = action in ("show", "log", "cancel", "retry")
    if needs_id and len(args.args) != 1:
        raise JobError(f"`xmem-tui jobs {action}` needs one job id; list ids with `xmem-tui jobs list`.")
    if action == "list":
        return _list(queue, settings, args.json)
    if action == "show":
        return _show(queue, args.args[0], args.json)
    if action == "log":
        job = queue.get(args.args[0])
        path = queue.log_path(job.id)
        print(path.read_text(encoding="utf-8", errors="replace") if path.exists() else f"(no log yet: {path})",
              end="" if path.exists() else "\n")
        return 0
    if action == "cancel":
        job = queue.cancel(args.args[0])
        _emit(args.json, job, f"cancel {'requested for running' if job.state == 'running' else 'done for'} "
                              f"job {job.id}")
        return 0
    if action == "retry":
        job = queue.retry(args.args[0])
        _emit(args.json, job, f"job {job.id} queued again")
        return 0
    if action == "clean":
        removed = queue.clean(parse_age(args.older_than) if args.older_than else None)
        print(json.dumps({"removed": removed}) if args.json else f"removed {removed} finished job(s)")
        return 0
    if len(args.args) != 2:
        raise JobError("`xmem-tui jobs submit` needs KIND and VIDEO, e.g. "
                       "`xmem-tui jobs submit propagate source/clip.mp4 --param start=0`.")
    job = queue.submit(args.args[0], args.args[1], parse_params(args.param), priority=args.priority)
    _emit(args.json, job, job.id)
    return 0


def parse_age(text: str) -> float:
    """Seconds in "90", "90s", "15m", "12h" or "7d".

    Raises:
        JobError: anything else.
    """
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise JobError(f"--older-than {text!r} is not an age; use e.g. 90m, 12h or 7d.")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_params(items: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs; VALUE as a TOML value when it parses (12, 1.5, true, [1, 2]), else as text."""
    params: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise JobError(f"--param {item!r} is not KEY=VALUE.")
        try:
            params[key.strip()] = tomllib.loads(f"v = {value}")["v"]
        except tomllib.TOMLDecodeError:
            params[key.strip()] = value
    return params


def _job_dict(job: Job, queue: JobQueue) -> dict[str, Any]:
    data = dataclasses.asdict(job)
    progress = queue.progress(job.id)
    data["progress"] = dataclasses.asdict(progress) if progress is not None else None
    return data


def _emit(as_json: bool, job: Job, text: str) -> None:
    print(json.dumps(dataclasses.asdict(job), sort_keys=True, default=str) if as_json else text)


def _list(queue: JobQueue, settings: Settings, as_json: bool) -> int:
    from xmem_tui.commands.worker import describe
    from xmem_tui.jobs.pidfile import worker_status

    jobs = queue.list()
    if as_json:
        print(json.dumps([_job_dict(j, queue) for j in jobs], sort_keys=True, default=str))
        return 0
    print(describe(worker_status(settings)))
    if not jobs:
        print(f"no jobs (queue: {queue.root})")
        return 0
    rows = [("ID", "STATE", "KIND", "VIDEO", "PROGRESS", "AGE", "INFO")]
    for job in jobs:
        rows.append((job.id, job.state, job.kind or "?", job.video or "?", _progress_text(queue, job),
                     _age(job.created), (job.error or _result_text(job))[:60]))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return 0


def _show(queue: JobQueue, job_id: str, as_json: bool) -> int:
    job = queue.get(job_id)
    if as_json:
        print(json.dumps(_job_dict(job, queue), sort_keys=True, default=str))
        return 0
    for name in ("id", "state", "kind", "video", "priority", "attempts", "worker", "error"):
        print(f"{name:9} {getattr(job, name)}")
    for name in ("created", "started", "finished"):
        value = getattr(job, name)
        print(f"{name:9} {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(value)) if value else '-'}")
    for name in ("params", "resume", "result"):
        print(f"{name:9} {json.dumps(getattr(job, name), sort_keys=True, default=str)}")
    for output in _outputs(job):
        print(f"output    {output}")
    print(f"progress  {_progress_text(queue, job)}")
    log_path = queue.log_path(job.id)
    if log_path.exists():
        tail = log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-10:]
        print(f"log       {log_path} (last {len(tail)} lines)")
        for line in tail:
            print(f"  {line}")
    if job.raw:
        print("raw file text:")
        print(job.raw)
    return 0


def _progress_text(queue: JobQueue, job: Job) -> str:
    progress = queue.progress(job.id)
    if progress is None:
        return "-"
    text = f"{progress.done}/{progress.total}"
    if job.state == "running":
        eta = "" if progress.eta_s is None else f" ETA {int(progress.eta_s) // 60}:{int(progress.eta_s) % 60:02d}"
        text += f" {progress.fps:.1f}/s{eta}"
    return text


def _outputs(job: Job) -> tuple[str, ...]:
    """The full paths a finished export wrote (nothing for other jobs)."""
    from xmem_tui.jobs.runners import result_of

    return tuple(getattr(result_of(job), "outputs", ())) if job.result else ()


def _result_text(job: Job) -> str:
    from xmem_tui.jobs.runners import result_of

    return result_of(job).summary() if job.result else ""


def _age(created: float) -> str:
    seconds = max(0, int(time.time() - created)) if created else 0
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
