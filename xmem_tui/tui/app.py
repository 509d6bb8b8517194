"""The Textual app: routes keys and messages between screens and the service; does no work itself."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from xmem_tui.config import Settings
from xmem_tui.errors import UserError
from xmem_tui.export.request import ExportRequest
from xmem_tui.tui.contract import Service
from xmem_tui.tui.messages import JobsRefreshed
from xmem_tui.tui.screens.dashboard import DashboardScreen
from xmem_tui.tui.screens.help import HelpScreen
from xmem_tui.tui.screens.jobs import JobsScreen
from xmem_tui.tui.service import DashboardService

log = logging.getLogger(__name__)

#: The same error is shown again only after this long (timers retry failed reads every second or so).
REPEAT_ERROR_S = 10.0


class XMemApp(App[str | None]):
    """xmem-tui dashboard. Create it with :func:`make_app`."""

    CSS_PATH = "app.tcss"
    TITLE = "xmem-tui"
    MODES = {"sources": DashboardScreen, "jobs": JobsScreen}
    BINDINGS = [
        Binding("question_mark", "help", "Help"),
        Binding("s", "switch_mode('sources')", "Sources"),
        Binding("j", "switch_mode('jobs')", "Jobs"),
        Binding("q", "quit", "Quit"),
    ]

    #: What the next propagation will run on; screens watch it (it is read off the UI thread at start-up).
    engine_label: reactive[str] = reactive("…")

    def __init__(self, settings: Settings, service: Service | None = None, jobs_interval: float = 1.0) -> None:
        super().__init__()
        self.settings = settings
        self.service: Service = service if service is not None else DashboardService(settings)
        self.jobs_interval = jobs_interval
        self.last_jobs: JobsRefreshed | None = None
        self._shown_errors: dict[str, float] = {}

    def on_mount(self) -> None:
        self.sub_title = str(self.settings.project_dir)
        self.switch_mode("sources")
        self.load_engine_label()
        self.refresh_jobs()
        self.set_interval(self.jobs_interval, self.refresh_jobs)

    # ------------------------------------------------------------------ background reads
    @work(thread=True, exclusive=True, group="engine", exit_on_error=False)
    def load_engine_label(self) -> None:
        label = self.service.engine_label()
        self.call_from_thread(setattr, self, "engine_label", label)

    @work(thread=True, exclusive=True, group="jobs", exit_on_error=False)
    def refresh_jobs(self) -> None:
        self.post_message(JobsRefreshed(self.service.jobs(), self.service.worker()))

    @on(JobsRefreshed)
    def _jobs_refreshed(self, message: JobsRefreshed) -> None:
        self.last_jobs = message
        for screen in self.screen_stack:
            if isinstance(screen, JobsScreen):
                screen.show(message)

    @on(Worker.StateChanged)
    def worker_failed(self, event: Worker.StateChanged) -> None:
        """Every error of a background task ends here and is shown, with its reason, not a traceback.

        Worker state messages do not bubble, so screens forward theirs here. A user error's message
        already names the thing at fault and the fix; anything else is a bug, logged with its traceback.
        """
        error = event.worker.error
        if event.state != WorkerState.ERROR or error is None:
            return
        if isinstance(error, UserError):
            text = str(error)
        else:
            log.error("background task %s failed", event.worker.name, exc_info=error)
            text = f"{type(error).__name__}: {error}"
        now = time.monotonic()
        if now - self._shown_errors.get(text, float("-inf")) < REPEAT_ERROR_S:
            return
        self._shown_errors[text] = now
        self.notify(text, title="error", severity="error", timeout=8)

    # ------------------------------------------------------------------ actions the screens share
    def run_service(self, call: Callable[..., Any], *args: Any, done: str = "") -> None:
        """Run a service call off the UI thread; notify ``done`` on success (errors go to the handler)."""
        self._run(call, args, done)

    @work(thread=True, group="service", exit_on_error=False)
    def _run(self, call: Callable[..., Any], args: tuple[Any, ...], done: str) -> None:
        result = call(*args)
        if done:
            self.call_from_thread(self.notify, done.format(result=result))
        self.call_from_thread(self.refresh_jobs)

    def open_annotation(self, path: Path, frame: int) -> None:
        self.run_service(self.service.annotate, path, frame,
                         done=f"annotation window opening on frame {frame} (it needs X forwarding)")

    def queue_propagation(self, path: Path, frame: int, *, backward: bool, one_frame: bool,
                          clear_memory: bool) -> None:
        direction = "backward" if backward else "forward"
        what = "one frame" if one_frame else "propagation"
        self.run_service(self.service.propagate, path, frame, backward, one_frame, clear_memory,
                         done=f"{what} {direction} from frame {frame} queued (job {{result}})")

    def cancel_video_jobs(self, path: Path) -> None:
        rows = self.last_jobs.rows if self.last_jobs else []
        active = [r for r in rows if r.state in ("queued", "running") and r.kind == "propagate"
                  and Path(self.settings.resolve(r.video)) == Path(path).resolve()]
        if not active:
            self.notify("no propagation of this video is queued or running")
        for row in active:
            self.run_service(self.service.cancel, row.id, done=f"cancel requested for {row.id}")

    def ask_export(self, path: Path) -> None:
        from xmem_tui.tui.screens.export_dialog import ExportDialog

        def submit(request: ExportRequest | None) -> None:
            if request is not None:
                self.run_service(self.service.export, path, request, done="export queued (job {result})")

        self.push_screen(ExportDialog(Path(path), self.settings.export.kind), submit)

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    async def action_quit(self) -> None:
        """Leave; jobs keep running in the worker, and the goodbye line says how many (read afresh)."""
        try:
            rows = self.service.jobs()
        except Exception:  # a broken queue must not stop the user from quitting
            log.exception("reading the job queue on quit failed")
            rows = self.last_jobs.rows if self.last_jobs else []
        running = [r for r in rows if r.state in ("queued", "running")]
        if running:
            self.notify(f"{len(running)} job(s) keep running in the worker; reopen xmem-tui to watch them.")
        # The CLI prints the result after the terminal is restored, so the line stays on the user's screen.
        self.exit(f"{len(running)} job(s) still queued or running in the worker; `xmem-tui jobs list` shows "
                  "them." if running else None)

    def get_system_commands(self, screen: Screen) -> Any:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Sources", "List source videos", lambda: self.switch_mode("sources"))
        yield SystemCommand("Jobs", "Show the job queue", lambda: self.switch_mode("jobs"))
        yield SystemCommand("Start worker", "Start the background worker if none runs",
                            lambda: self.run_service(self.service.ensure_worker, done="worker running"))
        yield SystemCommand("Help", "Every key", self.action_help)


def make_app(settings: Settings, service: Service | None = None) -> XMemApp:
    """The one app factory, used by the CLI and by tests (tests pass a fake ``service``)."""
    return XMemApp(settings, service)
