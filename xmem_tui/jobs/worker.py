"""The worker: runs queued jobs one at a time, publishing progress, surviving its clients and its own death.

Lifecycle: take the queue lock (one worker per queue, see :mod:`xmem_tui.jobs.pidfile`), recover what a
dead predecessor left in ``running/``, then loop: claim the next job (priority, then FIFO), drive its
runner, publish progress a few times a second, record the outcome. New jobs wake the loop through
watchdog; a rescan every few seconds catches anything the watcher missed. Engines stay warm between
jobs in one :class:`~xmem_tui.inference.service.EngineCache`.

Stopping: SIGTERM, SIGINT or SIGHUP ask for a clean stop. The runner is closed right after the frame in
flight (every frame is written atomically by then) and the job goes back to ``queued/`` with its resume
point, without counting as a failed attempt. A second signal stops at once; the job is still re-queued.

Crash recovery: a job found in ``running/`` while this worker holds the lock belongs to a dead worker.
It is re-queued once (``attempts`` + 1, resume point kept: a propagation continues after its last
written frame); if that worker dies too, the job fails with the reason.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from typing import Any

from xmem_tui.config import Settings
from xmem_tui.errors import JobError, UserError
from xmem_tui.jobs.model import FINISHED, Job, parse_job, written_state
from xmem_tui.jobs.pidfile import STATUS_NAME, WorkerBusy, WorkerLock, worker_status, write_status
from xmem_tui.jobs.queue import SUFFIX, JobQueue, read_job_text, unparsed_job, worker_name
from xmem_tui.jobs.runners import RunContext, get_runner
from xmem_tui.jobs.watcher import QueueWatcher
from xmem_tui.params import JobResult, to_params
from xmem_tui.progress import Progress, Throttle, write_progress

log = logging.getLogger(__name__)

HEARTBEAT_S = 1.0
RESCAN_S = 3.0
PROGRESS_INTERVAL = 0.25
#: A hidden ``.staged`` file older than this was left by a client that died in the middle of a move.
STAGED_GRACE_S = 10.0
#: Re-queues allowed after a worker death or an out-of-memory error before the job fails.
MAX_RETRIES = 1


class Worker:
    """One worker process's job loop.

    Args:
        settings: project settings (the queue is ``settings.jobs_dir``).
        once: exit when the queue is empty instead of waiting for more jobs.
        rescan_s: safety-net rescan period when no file event arrives.
    """

    def __init__(self, settings: Settings, *, once: bool = False, rescan_s: float = RESCAN_S) -> None:
        self.settings = settings
        self.queue = JobQueue.for_settings(settings)
        self.once = once
        self.rescan_s = rescan_s
        self.name = worker_name()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._closed = threading.Event()
        self._state = "idle"
        self._current: Job | None = None
        self._engines: Any = None

    def request_stop(self) -> None:
        """Stop after the frame in flight (thread- and signal-safe)."""
        self._stop.set()
        self._wake.set()

    def install_signal_handlers(self) -> None:
        """SIGTERM/SIGINT/SIGHUP stop cleanly; a second one interrupts at once (main thread only)."""
        def handler(signum: int, _frame: Any) -> None:
            if self._stop.is_set():
                raise KeyboardInterrupt
            log.info("%s received: stopping after the current frame", signal.Signals(signum).name)
            self.request_stop()

        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, handler)

    def run(self) -> int:
        """Serve the queue until stopped (or, with ``once``, until it is empty).

        Raises:
            WorkerBusy: another worker already serves this queue.
        """
        queue = self.queue
        queue.ensure()
        previous = worker_status(queue.root)  # read before our own pid and status replace the predecessor's
        lock = WorkerLock(queue.root)
        if not lock.acquire():
            other = worker_status(queue.root)
            raise WorkerBusy(f"another worker (pid {other.pid} on {other.host or '?'}) already serves "
                             f"{queue.root}; use it, or stop it first (`xmem-tui worker --stop`).")
        watcher = QueueWatcher(queue.root, self._wake.set)
        beat = threading.Thread(target=self._heartbeat, name="worker-heartbeat", daemon=True)
        try:
            self._publish()
            beat.start()
            self.recover(previous.heartbeat)
            watcher.start()
            log.info("worker %s serving %s", self.name, queue.root)
            while not self._stop.is_set():
                self._wake.clear()
                job = queue.claim_next(self.name)
                if job is not None:
                    self._run_job(job)
                elif self.once:
                    break
                else:
                    self._wake.wait(self.rescan_s)
        finally:
            self._closed.set()
            watcher.stop()
            watcher.join(2.0)
            beat.join(2.0)
            self._state = "stopped"
            self._publish()
            lock.release()
            log.info("worker %s stopped", self.name)
        return 0

    # --- recovery ------------------------------------------------------------------------------------

    def recover(self, heartbeat: float | None = None) -> None:
        """Finish moves cut short by a crash and re-queue (or fail) jobs whose worker died.

        Args:
            heartbeat: the dead worker's last heartbeat (epoch seconds), quoted in the recorded reason.
        """
        queue = self.queue
        for hidden in queue.staged_paths():
            try:
                if time.time() - hidden.stat().st_mtime < STAGED_GRACE_S:
                    continue  # a live client is in the middle of this move
                visible = hidden.with_name(hidden.name[1: hidden.name.index(SUFFIX) + len(SUFFIX)])
                if visible.exists():
                    hidden.unlink()
                else:
                    os.rename(hidden, visible)
            except FileNotFoundError:
                continue  # the client finished it after all
        for job_id in queue.ids("running"):
            path = queue.path("running", job_id)
            try:
                text = read_job_text(path)
            except FileNotFoundError:
                continue
            except JobError as exc:
                queue.finish(unparsed_job(job_id, "", "running"), "failed", error=str(exc))
                continue
            target = written_state(text)
            if target in (*FINISHED, "queued"):  # the move itself was interrupted
                os.rename(path, queue.path(target, job_id))
                log.info("job %s: finished an interrupted move to %s/", job_id, target)
                continue
            try:
                job = parse_job(text, job_id, "running")
            except JobError as exc:
                queue.finish(unparsed_job(job_id, text, "running"), "failed", error=str(exc))
                continue
            self._recover_job(job, heartbeat)
        for request in (queue.root / "cancel").glob("*"):
            if not queue.path("running", request.name).exists():
                request.unlink(missing_ok=True)

    def _recover_job(self, job: Job, heartbeat: float | None) -> None:
        progress = self.queue.progress(job.id)
        where = f" after frame {progress.frame} ({progress.done}/{progress.total})" if progress else ""
        seen = f", last heartbeat {time.time() - heartbeat:.0f} s ago" if heartbeat else ""
        reason = f"the worker running it ({job.worker or 'unknown'}) died{where}{seen}"
        if self.queue.cancel_requested(job.id):  # the user cancelled it meanwhile: do not run it again
            self.queue.finish(job, "cancelled", result=_counts(progress), error=f"cancelled by the user; {reason}")
            return
        attempts = job.attempts + 1
        if attempts > MAX_RETRIES:
            self.queue.finish(job, "failed", attempts=attempts,
                              error=f"{reason}; it had already been retried after a crash, so it was not "
                                    f"retried again (see {self.queue.log_path(job.id)}; `xmem-tui jobs retry`).")
            log.warning("job %s failed: %s", job.id, reason)
            return
        self.queue.finish(job, "queued", attempts=attempts, error=f"re-queued: {reason}",
                          resume={**job.resume, **_resume_from(progress)})
        log.warning("job %s re-queued (attempt %d): %s", job.id, attempts + 1, reason)

    # --- running one job -----------------------------------------------------------------------------

    def _run_job(self, job: Job) -> None:
        handler = logging.FileHandler(self.queue.log_path(job.id), encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger()
        root.addHandler(handler)
        self._current, self._state = job, "running"
        self._publish()
        try:
            log.info("job %s: %s %s %s (worker %s, earlier failed attempts %d)", job.id, job.kind, job.video,
                     job.params, self.name, job.attempts)
            outcome = self._drive(job)
            log.info("job %s: %s%s", job.id, outcome.state, f" ({outcome.error})" if outcome.error else "")
        finally:
            root.removeHandler(handler)
            handler.close()
            self._current, self._state = None, ("stopping" if self._stop.is_set() else "idle")
            self._publish()

    def _drive(self, job: Job) -> Job:
        queue = self.queue
        if self._stop.is_set():  # a stop signal arrived while claiming: hand the job straight back
            return queue.finish(job, "queued", error="")
        holder = [job]

        def save_resume(info: dict[str, Any]) -> None:
            holder[0] = holder[0].replace(resume={**holder[0].resume, **info})
            queue.update_running(holder[0])

        ctx = RunContext(self.settings, job, cancelled=lambda: queue.cancel_requested(job.id),
                         engine_cache=self._engine_cache, save_resume=save_resume,
                         note=lambda text: log.info("job %s: %s", job.id, text))
        throttle = Throttle(PROGRESS_INTERVAL)
        last: Progress | None = None
        result: dict[str, Any] = {}
        complete = False
        try:
            steps = get_runner(job.kind)(job, ctx)
            while True:
                try:
                    last = next(steps)
                except StopIteration as stop:
                    returned = JobResult() if stop.value is None else stop.value
                    if not isinstance(returned, JobResult):
                        raise TypeError(f"the {job.kind} runner returned {type(returned).__name__}, "
                                        "not a JobResult") from None
                    result, complete = to_params(returned), returned.complete
                    break
                if throttle.ready():
                    self._write_progress(job.id, last)
                if self._stop.is_set() or ctx.cancelled():
                    steps.close()
                    break
        except (KeyboardInterrupt, SystemExit):
            self._write_progress(job.id, last)
            queue.finish(holder[0], "queued", error="re-queued: the worker was interrupted",
                         resume={**holder[0].resume, **_resume_from(last)})
            raise
        except UserError as exc:
            return self._fail(holder[0], last, str(exc))
        except Exception as exc:
            log.exception("job %s crashed", job.id)
            return self._fail(holder[0], last, f"{type(exc).__name__}: {exc} (traceback in "
                                               f"{queue.log_path(job.id)})")
        self._write_progress(job.id, last)
        counts = _counts(last)
        current = holder[0]
        if not complete and ctx.cancelled():
            return queue.finish(current, "cancelled", result={**result, **counts}, error="cancelled by the user")
        if not complete and self._stop.is_set():
            return queue.finish(current, "queued", error="", resume={**current.resume, **_resume_from(last)})
        return queue.finish(current, "done", result={**result, **counts})

    def _fail(self, job: Job, last: Progress | None, error: str) -> Job:
        self._write_progress(job.id, last)
        log.error("job %s failed: %s", job.id, error)
        return self.queue.finish(job, "failed", result=_counts(last), error=error)

    def _engine_cache(self) -> Any:
        if self._engines is None:
            from xmem_tui.inference.service import EngineCache

            self._engines = EngineCache()
        return self._engines

    def _write_progress(self, job_id: str, progress: Progress | None) -> None:
        if progress is None:
            return
        try:
            write_progress(self.queue.progress_path(job_id), progress)
        except OSError as exc:  # a full disk must not kill the job over a progress file
            log.warning("cannot write progress of job %s: %s", job_id, exc)

    # --- status --------------------------------------------------------------------------------------

    def _publish(self) -> None:
        job = self._current
        try:
            write_status(self.queue.root, self._state, job.id if job is not None else None)
        except OSError as exc:
            log.warning("cannot write %s: %s", self.queue.root / STATUS_NAME, exc)

    def _heartbeat(self) -> None:
        while not self._closed.wait(HEARTBEAT_S):
            self._publish()


def _resume_from(progress: Progress | None) -> dict[str, Any]:
    if progress is None:
        return {}
    info = {"done": progress.done, "total": progress.total, "frame": progress.frame}
    return {k: v for k, v in info.items() if v is not None}


def _counts(progress: Progress | None) -> dict[str, Any]:
    return {} if progress is None else {"done": progress.done, "total": progress.total}


def run_worker(settings: Settings, *, once: bool = False, rescan_s: float | None = None) -> int:
    """Entry point of ``xmem-tui worker`` in the foreground (signals handled, lock held while it runs)."""
    worker = Worker(settings, once=once, rescan_s=rescan_s or RESCAN_S)
    worker.install_signal_handlers()
    with contextlib.suppress(KeyboardInterrupt):
        return worker.run()
    return 130
