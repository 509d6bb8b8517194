"""The Textual app: routes keys and messages between screens and the service; does no work itself."""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Sequence
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
from xmem_tui.tui.graphics import detect_graphics
from xmem_tui.tui.logs import AppLogHandler, route_logging
from xmem_tui.tui.messages import JobsRefreshed, LogRecorded
from xmem_tui.tui.screens.dashboard import DashboardScreen
from xmem_tui.tui.screens.export_dialog import ExportDialog
from xmem_tui.tui.screens.help import HelpScreen
from xmem_tui.tui.screens.jobs import JobsScreen
from xmem_tui.tui.screens.log_view import LogScreen
from xmem_tui.tui.screens.video import VideoScreen
from xmem_tui.tui.service import DashboardService

log = logging.getLogger(__name__)

#: The same error is shown again only after this long (timers retry failed reads every second or so).
REPEAT_ERROR_S = 10.0


class XMemApp(App[str | None]):
    """xmem-tui dashboard. Create it with :func:`make_app`."""

    CSS_PATH = "app.tcss"
    TITLE = "xmem-tui"
    MODES = {"sources": DashboardScreen, "jobs": JobsScreen}
    #: Keys of every screen. ``id`` names the meaning where the annotation window binds the same key (its
    #: action name in :mod:`xmem_tui.annotate.keymap`): one key, one meaning in both.
    BINDINGS = [
        Binding("question_mark", "help", "Help", id="help", tooltip="this help"),
        Binding("h", "help", "Help", id="help", show=False, tooltip="this help"),
        Binding("s", "sources", "Sources", id="sources", tooltip="the list of source videos, from any screen"),
        Binding("j", "switch_mode('jobs')", "Jobs", id="jobs", tooltip="the job queue"),
        Binding("L", "log", "Log", id="log", show=False,
                tooltip="the dashboard's log (also appended to workspace/dashboard.log)"),
        Binding("q", "quit", "Quit", id="quit", tooltip="quit (jobs keep running in the worker)"),
    ]

    #: What the next propagation will run on; screens watch it (it is read off the UI thread at start-up).
    engine_label: reactive[str] = reactive("…")

    def __init__(self, settings: Settings, service: Service | None = None, jobs_interval: float = 1.0,
                 graphics: str | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.service: Service = service if service is not None else DashboardService(settings)
        self.jobs_interval = jobs_interval
        #: How the preview draws frames: "kitty", "sixel", "truecolor" or "256" (see tui/graphics.py).
        self.graphics = graphics or detect_graphics(os.environ, settings.tui.graphics)
        self.last_jobs: JobsRefreshed | None = None
        self._shown_errors: dict[str, float] = {}
        self.log_handler = AppLogHandler(lambda line, record: self.post_message(LogRecorded(line, record.levelno,
                                                                                            record.name)))
        self._logging = contextlib.ExitStack()

    def on_mount(self) -> None:
        self._logging.enter_context(route_logging(self.log_handler, self.settings.workspace_dir / "dashboard.log"))
        self.sub_title = str(self.settings.project_dir)
        self.switch_mode("sources")
        self.load_engine_label()
        self.refresh_jobs()
        self.set_interval(self.jobs_interval, self.refresh_jobs)

    def on_unmount(self) -> None:
        self._logging.close()

    @on(LogRecorded)
    def _log_recorded(self, message: LogRecorded) -> None:
        """A warning or an error is worth a toast (once per text); every line goes to an open log screen."""
        for screen in self.screen_stack:
            if isinstance(screen, LogScreen) and screen.live:
                screen.append(message.line)
        if message.level >= logging.WARNING and not message.logger.startswith(__package__ or "xmem_tui.tui"):
            # The dashboard's own errors are notified where they happen; these come from the core.
            self.notify_once(message.line.splitlines()[0], title="log (L shows all)",
                             severity="error" if message.level >= logging.ERROR else "warning")

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
        self.notify_once(text, title="error", severity="error")

    def notify_once(self, text: str, *, title: str, severity: Any) -> None:
        """Notify ``text`` unless the same text was shown in the last :data:`REPEAT_ERROR_S` seconds."""
        now = time.monotonic()
        if now - self._shown_errors.get(text, float("-inf")) < REPEAT_ERROR_S:
            return
        self._shown_errors[text] = now
        self.notify(text, title=title, severity=severity, timeout=8)

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

    def ask_export(self, paths: Sequence[Path]) -> None:
        """The export dialog for one video, or for several (the same export of each: a batch)."""
        videos = [Path(p) for p in paths]

        def submit(request: ExportRequest | None) -> None:
            if request is None:
                return
            if len(videos) == 1:
                self.run_service(self.service.export, videos[0], request,
                                 done=f"export of {videos[0].name} queued (job {{result}})")
            else:
                self.run_service(self.service.export_all, videos, request,
                                 done=f"{len(videos)} exports queued (jobs {{result}}); j shows them")

        self.push_screen(ExportDialog(videos, self.settings.export.kind), submit)

    def action_help(self) -> None:
        self.push_screen(HelpScreen(help_sections()))

    def action_sources(self) -> None:
        """The sources list, from anywhere: the video view over it is closed (``switch_mode`` alone
        would come back to it, and does nothing at all when the sources mode is already current)."""
        self.switch_mode("sources")
        while len(self.screen_stack) > 1 and not isinstance(self.screen, DashboardScreen):
            self.pop_screen()

    def action_log(self) -> None:
        self.push_screen(LogScreen("dashboard log", "\n".join(self.log_handler.lines) or "(nothing logged yet)",
                                   live=True))

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


def help_sections() -> list[tuple[str, Any]]:
    """The help screen's sections, each a screen's own binding table."""
    return [("everywhere", XMemApp.BINDINGS), ("sources", DashboardScreen.BINDINGS), ("video", VideoScreen.BINDINGS),
            ("jobs", JobsScreen.BINDINGS), ("export dialog", ExportDialog.BINDINGS)]


def make_app(settings: Settings, service: Service | None = None, graphics: str | None = None) -> XMemApp:
    """The one app factory, used by the CLI and by tests (tests pass a fake ``service`` and ``graphics``)."""
    return XMemApp(settings, service, graphics=graphics)
