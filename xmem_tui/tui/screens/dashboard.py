"""Home screen: every source video with its workspace state, live, and the selected one's propagation."""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static
from textual.worker import Worker, get_current_worker

from xmem_tui.tui.contract import SourceSummary
from xmem_tui.tui.messages import SourcesChanged, SourcesScanned
from xmem_tui.tui.watcher import SourceWatcher
from xmem_tui.tui.widgets.propagation_panel import PropagationPanel
from xmem_tui.tui.widgets.tables import fill_table

#: Sized for an 80-column terminal: size, duration and object count are in the line under the table.
COLUMNS = ("", "source", "fps", "frames", "keys", "masked", "stale", "last export")
#: The first column marks videos selected (v) for a batch export.
SELECTED = "[b green]✓[/]"
CHECK_STYLE = {"passed": "green", "failed": "bold red"}


def export_cell(s: SourceSummary) -> str:
    """The last export's kind and codec or preset (its file is ``<stem>_<kind>_<codec or preset>.<ext>``) and
    self-check result."""
    if not s.last_export:
        return ""
    stem = Path(s.last_export).stem
    kind = stem[len(Path(s.name).stem) + 1:] if stem.startswith(Path(s.name).stem + "_") else stem
    check = f" [{CHECK_STYLE.get(s.last_check, '')}]{s.last_check}[/]" if s.last_check else ""
    return f"{kind}{check}"


def summary_cells(s: SourceSummary, selected: bool = False) -> tuple[str, ...]:
    """Table cells for one source (an unreadable source shows its error instead)."""
    mark = SELECTED if selected else ""
    if s.error:
        return (mark, escape(s.name), "unreadable", "", "", "", "", "")
    fps = f"{s.fps:.2f}{' VFR' if s.vfr else ''}"
    return (mark, escape(s.name), fps, str(s.frames), str(s.keyframes), f"{s.masked_pct:.0f}%",
            str(s.stale) if s.stale else "", export_cell(s))


class DashboardScreen(Screen):
    """Sources table (Enter opens a video), selected source's details and propagation status."""

    BINDINGS = [
        Binding("enter", "open", "Open", id="confirm", tooltip="open the selected video"),
        Binding("a", "annotate", "Annotate", id="annotate",
                tooltip="annotate frame 0 (OpenCV window, needs X forwarding)"),
        Binding("e", "export", "Export", id="export",
                tooltip="export the videos marked with v, all the same way (or the one under the cursor)"),
        Binding("v", "select", "Select", id="select", show=False, tooltip="mark / unmark a video for a batch export"),
        Binding("f5", "rescan", "Rescan", id="rescan", show=False, tooltip="rescan the source folder"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.summaries: list[SourceSummary] = []
        #: Videos marked for a batch export (by path, so a rescan keeps the marks).
        self.marked: set[Path] = set()
        self._watcher: SourceWatcher | None = None
        self._finished_jobs: frozenset[str] = frozenset()

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(id="sources", cursor_type="row", zebra_stripes=True)
        yield Static("", id="source-info")
        yield PropagationPanel(id="propagation")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        fill_table(self.query_one("#sources", DataTable), COLUMNS, [], [])
        self.watch(self.app, "engine_label", lambda label: self._show_engine())
        self._watcher = SourceWatcher(self.app.settings.source_dir, lambda: self.post_message(SourcesChanged()))
        self._watcher.start()
        self.scan()
        self.set_interval(1.0, self.refresh_progress)
        self.set_interval(1.0, self._rescan_after_jobs)

    def on_unmount(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()

    @work(thread=True, exclusive=True, group="scan", exit_on_error=False)
    def scan(self) -> None:
        """Probe every source (cached after the first time) off the UI thread."""
        service = self.app.service
        summaries = [service.summarize(path) for path in service.list_sources()]
        if not get_current_worker().is_cancelled:  # a newer scan started meanwhile: its result wins
            self.post_message(SourcesScanned(summaries))

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        self.app.worker_failed(event)

    def on_screen_resume(self) -> None:
        """Coming back from a video or the jobs list: masks or exports may have changed meanwhile."""
        if self._watcher is not None:
            self.scan()

    def _rescan_after_jobs(self) -> None:
        """A job that finished changed its video's masks or last export: rescan (jobs run in another process)."""
        jobs = self.app.last_jobs
        finished = frozenset(r.id for r in jobs.rows if r.state in ("done", "failed", "cancelled")) if jobs \
            else frozenset()
        if finished != self._finished_jobs:
            self._finished_jobs = finished
            self.scan()

    @on(SourcesChanged)
    def _sources_changed(self) -> None:
        self.scan()

    @on(SourcesScanned)
    def _show_sources(self, message: SourcesScanned) -> None:
        self.summaries = message.summaries
        self.marked &= {s.path for s in self.summaries}
        self._fill()
        if not self.summaries:
            self.query_one("#source-info", Static).update(
                f"No videos in {self.app.settings.source_dir} yet: copy some there (they appear here at once).")
        self._show_selected()

    def _fill(self) -> None:
        fill_table(self.query_one("#sources", DataTable), COLUMNS,
                   [summary_cells(s, s.path in self.marked) for s in self.summaries],
                   [str(s.path) for s in self.summaries])

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self._show_selected()
        self.refresh_progress()

    @on(DataTable.RowSelected)
    def _selected(self) -> None:
        self.action_open()

    @property
    def selected(self) -> SourceSummary | None:
        table = self.query_one("#sources", DataTable)
        if not self.summaries or table.cursor_row < 0 or table.cursor_row >= len(self.summaries):
            return None
        return self.summaries[table.cursor_row]

    def _show_engine(self) -> None:
        """The selected video's engine (its own choice, or the project's)."""
        s = self.selected
        self.query_one(PropagationPanel).engine = (s.engine if s is not None else "") or self.app.engine_label

    def _show_selected(self) -> None:
        self._show_engine()
        s = self.selected
        if s is None:
            return
        info = self.query_one("#source-info", Static)
        if s.error:
            info.update(f"[red]{s.error}[/]")
            return
        stale = f", [red]{s.stale} stale[/]" if s.stale else ""
        export = f"\nlast export: {escape(s.last_export)} ({s.last_check or 'no self-check'})" if s.last_export else ""
        marked = f"\n{len(self.marked)} marked for export (v marks, e exports them)" if self.marked else ""
        info.update(f"[b]{escape(s.name)}[/]: {s.width}x{s.height}, {s.duration_s:.1f}s, {s.frames} frames, "
                    f"{s.objects} objects, {s.keyframes} annotated, {s.masked_pct:.0f}% masked{stale}{export}"
                    f"{marked}")

    @work(thread=True, exclusive=True, group="progress", exit_on_error=False)
    def refresh_progress(self) -> None:
        """Read the selected video's propagation progress, whichever process (worker, shell) publishes it."""
        s = self.selected
        if s is None or s.error:
            return
        progress = self.app.service.progress(s.path)
        self.app.call_from_thread(setattr, self.query_one(PropagationPanel), "progress", progress)

    def action_open(self) -> None:
        s = self.selected
        if s is not None and not s.error:
            from xmem_tui.tui.screens.video import VideoScreen

            self.app.push_screen(VideoScreen(s.path))

    def action_annotate(self) -> None:
        s = self.selected
        if s is not None and not s.error:
            self.app.open_annotation(Path(s.path), 0)

    def action_export(self) -> None:
        """Export the marked videos (a batch: one job each, same options), else the one under the cursor."""
        marked = [s.path for s in self.summaries if s.path in self.marked and not s.error]
        s = self.selected
        if marked:
            self.app.ask_export(marked)
        elif s is not None and not s.error:
            self.app.ask_export([Path(s.path)])

    def action_select(self) -> None:
        s = self.selected
        if s is None or s.error:
            return
        self.marked ^= {s.path}
        self._fill()
        self.query_one("#sources", DataTable).action_cursor_down()  # as in file managers: mark the next
        self._show_selected()

    def action_rescan(self) -> None:
        self.scan()
