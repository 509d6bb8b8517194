"""The job queue: every propagation and export, its state, progress, output, error and self-check."""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static
from textual.worker import Worker

from xmem_tui.tui.contract import JobRow
from xmem_tui.tui.messages import JobsRefreshed
from xmem_tui.tui.widgets.tables import fill_table

COLUMNS = ("job", "kind", "video", "state", "progress", "check", "output / error")
STATE_STYLE = {"queued": "cyan", "running": "bold green", "done": "green", "failed": "bold red",
               "cancelled": "yellow"}
CHECK_STYLE = {"passed": "green", "failed": "bold red"}


def progress_cell(row: JobRow) -> str:
    """``done/total``, or the step a job is in when counting frames says nothing (an export's self-check
    decodes the whole output again after the last frame is written: "68/68" would sit there for seconds)."""
    if row.state == "running" and row.progress is not None and is_self_check(row.progress.message):
        return "self-check"
    return f"{row.done}/{row.total}" if row.total else ""


def is_self_check(message: str) -> bool:
    return message.startswith("self-checking")


def job_cells(row: JobRow) -> tuple[str, ...]:
    """Table cells for one job; the output is the full path (the table scrolls sideways when it is long)."""
    detail = row.error.splitlines()[0] if row.error else (row.output or row.message)
    state = f"[{STATE_STYLE.get(row.state, '')}]{row.state}[/]"
    check = f"[{CHECK_STYLE.get(row.check, '')}]{row.check}[/]" if row.check else ""
    return (row.id[-6:], row.kind, Path(row.video).name, state, progress_cell(row), check, escape(detail))


def job_detail(row: JobRow) -> str:
    """The selected job's whole error, output path or progress message."""
    if row.error:
        return f"[red]{escape(row.error)}[/]"
    if row.output:
        check = f" (self-check {row.check})" if row.check else ""
        return f"output: {escape(row.output)}{check}"
    if row.state == "queued":
        return "waiting for the worker"
    if row.progress is not None and is_self_check(row.progress.message):
        return "step 2 of 2: self-check — the output is decoded again and compared with the source, frame by frame"
    return escape(row.message)


class JobsScreen(Screen):
    """Lists the queue (refreshed by the app's timer); cancel, retry, open the log."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="back", tooltip="back to the screen you came from"),
        Binding("enter", "log", "Log", id="confirm", tooltip="open the selected job's log"),
        Binding("x", "cancel", "Cancel job", id="cancel", tooltip="cancel the selected job"),
        Binding("t", "retry", "Retry", id="retry", tooltip="run the selected job again"),
        Binding("W", "worker", "Worker", id="worker", tooltip="start the worker (Shift+w) if none runs"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[JobRow] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(id="jobs", cursor_type="row", zebra_stripes=True)
        yield Static("", id="job-detail")
        yield Static("", id="worker-status")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        fill_table(self.query_one("#jobs", DataTable), COLUMNS, [], [])
        if self.app.last_jobs is not None:
            self.show(self.app.last_jobs)

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        self.app.worker_failed(event)

    @on(JobsRefreshed)
    def show(self, message: JobsRefreshed) -> None:
        self.rows = message.rows
        fill_table(self.query_one("#jobs", DataTable), COLUMNS, [job_cells(r) for r in self.rows],
                   [r.id for r in self.rows])
        w = message.worker
        text = (f"worker: [green]running[/] (pid {w.pid}, {w.state}{', job ' + w.job if w.job else ''})"
                if w.alive else "worker: [red]not running[/] — press W (Shift+w) to start it (jobs wait in the queue)")
        self.query_one("#worker-status", Static).update(text)
        self._show_selected()

    @on(DataTable.RowSelected)
    def _row_selected(self) -> None:
        self.action_log()

    @on(DataTable.RowHighlighted)
    def _show_selected(self) -> None:
        row = self.selected
        self.query_one("#job-detail", Static).update(job_detail(row) if row is not None else "no jobs yet")

    @property
    def selected(self) -> JobRow | None:
        table = self.query_one("#jobs", DataTable)
        return self.rows[table.cursor_row] if self.rows and 0 <= table.cursor_row < len(self.rows) else None

    def action_cancel(self) -> None:
        if (row := self.selected) is not None:
            self.app.run_service(self.app.service.cancel, row.id, done=f"cancel requested for {row.id}")

    def action_retry(self) -> None:
        if (row := self.selected) is not None:
            self.app.run_service(self.app.service.retry, row.id, done=f"{row.id} queued again")

    def action_log(self) -> None:
        if (row := self.selected) is not None:
            from xmem_tui.tui.screens.log_view import LogScreen

            self.app.push_screen(LogScreen(f"log of job {row.id}", self.app.service.job_log(row.id)))

    def action_back(self) -> None:
        """To the sources mode as it was left (the video view, if one was open)."""
        self.app.switch_mode("sources")

    def action_worker(self) -> None:
        self.app.run_service(self.app.service.ensure_worker, done="worker started")
