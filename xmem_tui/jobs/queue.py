"""The job queue: one folder per state under ``<project>/jobs/``, one small TOML file per job.

Files are the whole protocol, so the dashboard, the annotation window, shell commands and the detached
worker can be separate processes that come and go (an SSH session may drop at any time). Every state
change is a ``rename``, which is atomic: claiming a job is renaming ``queued/<id>.toml`` into
``running/``, and only one of two racing workers can win that rename. A file is rewritten in place
(atomically, through :mod:`xmem_tui.fsutil`) only in a folder nobody else moves files out of: its owner's
``running/`` file, or a hidden ``.<id>.toml.staged`` name used while a client moves a job between
folders. Side files: ``progress/<id>.json`` (:mod:`xmem_tui.progress`), ``logs/<id>.log`` and
``cancel/<id>`` (a cancel request the worker polls between frames).

People (and their tools) put things in these folders too: anything that is not a regular ``<id>.toml``
file (a folder named ``x.toml``, a symbolic link, a pipe, ``notes.txt``) is skipped with one warning, and
a job file that cannot be read, or is far too large to be one, is treated like one that does not parse,
so no file can stop the worker or ``xmem-tui jobs``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from xmem_tui.errors import JobError
from xmem_tui.fsutil import atomic_write_text
from xmem_tui.jobs.model import FINISHED, STATES, Job, JobState, job_to_toml, new_id, parse_job
from xmem_tui.progress import Progress, read_progress

log = logging.getLogger(__name__)

SUFFIX = ".toml"
_STAGED = ".staged"
#: Job files are a few hundred bytes; one larger than this is not read whole (and is refused).
MAX_JOB_BYTES = 1 << 20
#: Stray entries already warned about in this process (so a listing every second does not repeat it).
_WARNED: set[Path] = set()


class JobQueue:
    """Submit, inspect and move jobs; both clients and the worker use it.

    Args:
        jobs_dir: the queue folder (``settings.jobs_dir``).
        project_dir: folder job paths are relative to (default: the parent of ``jobs_dir``).
        kinds: kinds accepted by :meth:`submit` and :meth:`claim_next` (default: the registered runners).
    """

    def __init__(self, jobs_dir: Path, project_dir: Path | None = None, kinds: Iterable[str] | None = None) -> None:
        self.root = Path(jobs_dir)
        self.project_dir = Path(project_dir if project_dir is not None else self.root.parent).resolve()
        self._kinds = frozenset(kinds) if kinds is not None else None

    @classmethod
    def for_settings(cls, settings: Any) -> JobQueue:
        return cls(settings.jobs_dir, settings.project_dir)

    @property
    def kinds(self) -> frozenset[str]:
        if self._kinds is None:
            from xmem_tui.jobs.runners import runner_kinds  # runners import nothing heavy at module level
            self._kinds = runner_kinds()
        return self._kinds

    # --- paths ---------------------------------------------------------------------------------------

    def ensure(self) -> None:
        for name in (*STATES, "progress", "logs", "cancel"):
            (self.root / name).mkdir(parents=True, exist_ok=True)

    def path(self, state: JobState, job_id: str) -> Path:
        return self.root / state / f"{job_id}{SUFFIX}"

    def progress_path(self, job_id: str) -> Path:
        return self.root / "progress" / f"{job_id}.json"

    def log_path(self, job_id: str) -> Path:
        return self.root / "logs" / f"{job_id}.log"

    def cancel_path(self, job_id: str) -> Path:
        return self.root / "cancel" / job_id

    def ids(self, state: JobState) -> list[str]:
        """Ids of visible job files in one folder, oldest first (hidden and temporary files skipped; anything
        else that is not a regular ``.toml`` file is skipped with a warning)."""
        folder = self.root / state
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):
            return []
        ids = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                regular = entry.is_file(follow_symlinks=False)
            except OSError:
                regular = False
            if regular and entry.name.endswith(SUFFIX):
                ids.append(entry.name[: -len(SUFFIX)])
            elif Path(entry.path) not in _WARNED:
                _WARNED.add(Path(entry.path))
                what = ("is a folder" if entry.is_dir(follow_symlinks=False) else
                        "is not named <id>.toml" if regular else "is not a regular file")
                log.warning("%s %s, so it is no job file: skipped; move it out of %s", entry.path, what, folder)
        return sorted(ids)

    # --- client side ---------------------------------------------------------------------------------

    def submit(self, kind: str, video: str | Path, params: dict[str, Any] | None = None, priority: int = 0) -> Job:
        """Queue a job; the file is validated exactly as the worker will validate it.

        Raises:
            JobError: unknown kind, params its kind does not take (or of the wrong type or range), or a
                video/output path outside the project.
        """
        self.ensure()
        video_text = str(video)
        if Path(video_text).is_absolute() and Path(video_text).resolve().is_relative_to(self.project_dir):
            video_text = str(Path(video_text).resolve().relative_to(self.project_dir))
        now = time.time()
        job = Job(id=new_id(now), kind=kind, video=video_text, params=dict(params or {}), created=now,
                  priority=int(priority))
        text = job_to_toml(job)
        self._check_params(parse_job(text, job.id, "queued", kinds=self.kinds, project_dir=self.project_dir))
        atomic_write_text(self.path("queued", job.id), text)
        log.debug("queued job %s (%s %s)", job.id, kind, video_text)
        return job

    def list(self, states: Iterable[JobState] = STATES) -> list[Job]:
        """Every job in the given states; a file that cannot be parsed is listed with its error."""
        jobs: dict[str, Job] = {}
        for state in states:
            for job_id in self.ids(state):
                job = self._load(state, job_id)
                if job is not None:
                    jobs[job_id] = job  # a later state wins if a crash left a copy behind
        return sorted(jobs.values(), key=lambda j: j.id)

    def get(self, job_id: str) -> Job:
        """The job with this id (or unique id prefix, or unique random suffix).

        Raises:
            JobError: no such job, or the prefix is ambiguous.
        """
        for _ in range(20):  # a worker may move the file between finding and reading it: look again
            state, full = self._locate(job_id)
            job = self._load(state, full)
            if job is not None:
                return job
        raise JobError(f"job {job_id} keeps moving between folders; try again.")

    def progress(self, job_id: str) -> Progress | None:
        """The last progress the worker published for this job (kept after it finishes)."""
        return read_progress(self.progress_path(job_id))

    def cancel(self, job_id: str) -> Job:
        """Cancel a job: a queued one moves to ``cancelled/``; a running one gets a cancel request.

        Raises:
            JobError: no such job, or it has already finished.
        """
        state, full = self._locate(job_id)
        if state == "queued":
            try:
                return self._transfer(full, "queued", "cancelled", error="cancelled before it started",
                                      finished=time.time())
            except FileNotFoundError:
                state = "running"  # a worker claimed it in the meantime
        if state == "running":
            self.ensure()
            atomic_write_text(self.cancel_path(full), f"{time.time()}\n")
            log.info("cancel requested for running job %s", full)
            return self.get(full)
        raise JobError(f"job {full} has already finished ({state}); nothing to cancel.")

    def retry(self, job_id: str) -> Job:
        """Queue a failed or cancelled job again, from the start, with its error and attempts reset.

        Raises:
            JobError: no such job, or it is not failed/cancelled.
        """
        state, full = self._locate(job_id)
        if state not in ("failed", "cancelled"):
            raise JobError(f"job {full} is {state}; only failed or cancelled jobs can be retried.")
        self._clear_side_files(full)
        try:
            return self._transfer(full, state, "queued", attempts=0, error="", result={}, resume={},
                                  started=None, finished=None, worker="")
        except FileNotFoundError as exc:
            raise JobError(f"job {full} was moved by someone else meanwhile; check `xmem-tui jobs list`.") from exc

    def clean(self, older_than_s: float | None = None) -> int:
        """Delete finished jobs (and their progress/log files), all or those finished longer ago than given."""
        cutoff = None if older_than_s is None else time.time() - older_than_s
        removed = 0
        for state in FINISHED:
            for job_id in self.ids(state):
                path = self.path(state, job_id)
                if cutoff is not None:
                    job = self._load(state, job_id)
                    when = (job.finished or job.created) if job is not None else path.stat().st_mtime
                    if when > cutoff:
                        continue
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    removed += 1
                self._clear_side_files(job_id, logs=True)
        return removed

    # --- worker side ---------------------------------------------------------------------------------

    def queued_in_order(self) -> list[Job]:
        """Queued jobs in run order (priority, then FIFO); unparsable ones first, so they get failed."""
        jobs = [self._load("queued", i) for i in self.ids("queued")]
        return sorted((j for j in jobs if j is not None), key=lambda j: (j.raw == "", *j.sort_key()))

    def claim_next(self, worker: str | None = None) -> Job | None:
        """Claim the next job by renaming it into ``running/``; invalid files go to ``failed/``.

        Returns:
            The claimed job (state "running", ``started`` and ``worker`` recorded), or None if the queue is
            empty. A job another worker claimed first is skipped.
        """
        for candidate in self.queued_in_order():
            src, dst = self.path("queued", candidate.id), self.path("running", candidate.id)
            try:
                os.rename(src, dst)
            except FileNotFoundError:
                continue
            text = ""
            try:
                text = read_job_text(dst)
                job = parse_job(text, candidate.id, "running", kinds=self.kinds, project_dir=self.project_dir)
                self._check_params(job)
            except JobError as exc:
                self.finish(_lenient(candidate.id, text, "running"), "failed", error=str(exc))
                log.warning("job %s is invalid, moved to failed/: %s", candidate.id, exc)
                continue
            job = job.replace(started=time.time(), worker=worker or worker_name(), finished=None)
            atomic_write_text(dst, job_to_toml(job))
            return job
        return None

    def update_running(self, job: Job) -> None:
        """Rewrite the worker's own running job file (resume point, attempts)."""
        atomic_write_text(self.path("running", job.id), job_to_toml(job.replace(state="running")))

    def finish(self, job: Job, state: JobState, *, result: dict[str, Any] | None = None, error: str = "",
               **changes: Any) -> Job:
        """Move the worker's running job to ``state`` (done/failed/cancelled/queued), recording the outcome.

        The file is rewritten first (with the target state) and renamed second, so a crash between the two
        leaves a file whose written state says where it was going (see :meth:`Worker.recover`).
        """
        finished = None if state == "queued" else time.time()
        done = job.replace(state=state, result=dict(result if result is not None else job.result), error=error,
                           finished=finished, **changes)
        src = self.path("running", job.id)
        atomic_write_text(src, job_to_toml(done))
        (self.root / state).mkdir(parents=True, exist_ok=True)
        os.rename(src, self.path(state, job.id))
        with contextlib.suppress(FileNotFoundError):
            self.cancel_path(job.id).unlink()
        return done

    def cancel_requested(self, job_id: str) -> bool:
        return self.cancel_path(job_id).exists()

    def staged_paths(self) -> list[Path]:
        """Hidden files left by a client killed in the middle of a move (finished by the worker)."""
        return [p for state in STATES for p in (self.root / state).glob(f".*{SUFFIX}{_STAGED}")]

    # --- internals -----------------------------------------------------------------------------------

    @staticmethod
    def _check_params(job: Job) -> None:
        from xmem_tui.jobs.runners import check_params

        check_params(job)

    def _locate(self, job_id: str) -> tuple[JobState, str]:
        if not job_id or "/" in job_id or job_id.startswith("."):
            raise JobError(f"{job_id!r} is not a job id; list ids with `xmem-tui jobs list`.")
        matches: dict[str, JobState] = {}
        for _ in range(2):  # folders are listed one after another: a job moved back (re-queued) can slip by once
            for state in STATES:
                for found in self.ids(state):
                    if found == job_id:
                        return state, found
                    if found.startswith(job_id) or found.endswith("-" + job_id):
                        matches[found] = state
            if matches:
                break
        if len(matches) == 1:
            (full, state), = matches.items()
            return state, full
        if not matches:
            raise JobError(f"no job {job_id} in {self.root}; list ids with `xmem-tui jobs list`.")
        raise JobError(f"job id {job_id!r} is ambiguous ({len(matches)} jobs match); give more characters.")

    def _load(self, state: JobState, job_id: str) -> Job | None:
        try:
            text = read_job_text(self.path(state, job_id))
        except FileNotFoundError:
            return None
        except JobError as exc:
            return unparsed_job(job_id, "", state).replace(error=str(exc))
        try:
            return parse_job(text, job_id, state)
        except JobError as exc:
            return unparsed_job(job_id, text, state).replace(error=str(exc))

    def _transfer(self, job_id: str, src: JobState, dst: JobState, **changes: Any) -> Job:
        """Client-side move: rename to a hidden name in ``dst`` (atomic claim), rewrite, then reveal."""
        (self.root / dst).mkdir(parents=True, exist_ok=True)
        hidden = self.root / dst / f".{job_id}{SUFFIX}{_STAGED}"
        os.rename(self.path(src, job_id), hidden)
        text = ""
        try:
            text = read_job_text(hidden)
            job = parse_job(text, job_id, dst)
        except JobError as exc:
            job = unparsed_job(job_id, text, dst).replace(error=str(exc))
        job = job.replace(state=dst, **changes)
        atomic_write_text(hidden, job_to_toml(job))
        os.rename(hidden, self.path(dst, job_id))
        log.info("job %s: %s -> %s", job_id, src, dst)
        return job

    def _clear_side_files(self, job_id: str, *, logs: bool = False) -> None:
        paths = [self.progress_path(job_id), self.cancel_path(job_id)] + ([self.log_path(job_id)] if logs else [])
        for path in paths:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def read_job_text(path: Path) -> str:
    """The text of a job file (undecodable bytes replaced).

    Raises:
        FileNotFoundError: it is gone (another process moved it).
        JobError: it cannot be read, or is larger than :data:`MAX_JOB_BYTES`.
    """
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_JOB_BYTES + 1)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise JobError(f"job {path.stem}: {path} cannot be read ({exc.strerror or exc}); fix its permissions "
                       "or remove it.") from exc
    if len(data) > MAX_JOB_BYTES:
        raise JobError(f"job {path.stem}: {path} is larger than {MAX_JOB_BYTES >> 20} MiB, which no job file is; "
                       "remove it.")
    return data.decode("utf-8", errors="replace")


def unparsed_job(job_id: str, text: str, state: JobState) -> Job:
    """A stand-in for a file that does not parse: the raw text is kept so the user can repair it."""
    return Job(id=job_id, kind="", video="", state=state, raw=text or " ")


def _lenient(job_id: str, text: str, state: JobState) -> Job:
    """The job as far as it parses (an unknown kind or a bad path still leaves readable fields)."""
    try:
        return parse_job(text, job_id, state)
    except JobError:
        return unparsed_job(job_id, text, state)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"
