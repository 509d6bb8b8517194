"""One video: timeline, objects, keyframes, review list, in-terminal preview and propagation controls."""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, Label, ListItem, ListView, Static
from textual.worker import Worker

from xmem_tui.tui.contract import EngineChoice, VideoDetail
from xmem_tui.tui.messages import DetailLoaded, PreviewLoaded
from xmem_tui.tui.widgets.drift_chart import DriftChart
from xmem_tui.tui.widgets.preview import Preview
from xmem_tui.tui.widgets.propagation_panel import PropagationPanel
from xmem_tui.tui.widgets.timeline import LEGEND, Timeline


class Entry(ListItem):
    """A list row that carries the number it stands for (an object id, or a frame)."""

    def __init__(self, text: str, value: int) -> None:
        super().__init__(Label(text))
        self.value = value


async def refill(list_view: ListView, rows: list[tuple[str, int]]) -> None:
    """Make ``list_view`` show ``rows`` (markup, value), updating the rows in place: remounting them all
    made the list flash empty twice a second during a propagation and lost keys pressed meanwhile."""
    entries = list(list_view.query_children(Entry))
    for entry, (text, value) in zip(entries, rows, strict=False):
        entry.query_one(Label).update(text)
        entry.value = value
    if len(rows) > len(entries):
        await list_view.extend(Entry(text, value) for text, value in rows[len(entries):])
    for entry in entries[len(rows):]:
        await entry.remove()
    if rows and (list_view.index is None or list_view.index >= len(rows)):
        list_view.index = min(list_view.index or 0, len(rows) - 1)


class VideoScreen(Screen):
    """Review and drive one source. All long work is queued as jobs; this screen only reads files."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="back", tooltip="back to the sources"),
        Binding("left", "move(-1)", "Prev", id="prev", show=False, tooltip="previous frame"),
        Binding("right", "move(1)", "Next", id="next", show=False, tooltip="next frame"),
        Binding("shift+left,pageup", "move(-10)", "-10", id="prev10", show=False, tooltip="back 10 frames"),
        Binding("shift+right,pagedown", "move(10)", "+10", id="next10", show=False, tooltip="forward 10 frames"),
        Binding("home", "jump(0)", "First", id="first", show=False, tooltip="first frame"),
        Binding("end", "jump(-1)", "Last", id="last", show=False, tooltip="last frame"),
        Binding("a", "annotate", "Annotate", id="annotate",
                tooltip="annotate this frame (opens the OpenCV window; needs X forwarding)"),
        Binding("p", "propagate(False, False)", "Propagate", id="propagate:forward",
                tooltip="propagate forward from this frame (a job)"),
        Binding("P", "propagate(True, False)", "Back", id="propagate:backward", show=False,
                tooltip="propagate backward from this frame (Shift+p)"),
        Binding("full_stop", "propagate(False, True)", "+1 frame", id="step:forward", show=False,
                tooltip="propagate one frame forward"),
        Binding("comma", "propagate(True, True)", "-1 frame", id="step:backward", show=False,
                tooltip="propagate one frame backward"),
        Binding("x", "cancel", "Cancel", id="cancel", show=False, tooltip="cancel this video's propagation"),
        Binding("m", "clear_memory", "Clear mem", id="clear_memory", show=False,
                tooltip="clear memory: the next propagation uses only this frame, not the other annotated ones"),
        Binding("n", "next_review", "Next look", id="review", show=False,
                tooltip="next frame in the review list (K keyframes, ! review frames in the chart)"),
        Binding("e", "export", "Export", id="export", tooltip="export (every option of xmem-tui export)"),
        Binding("f2", "rename", "Rename", id="rename", show=False, tooltip="rename the object selected in the list"),
        Binding("g", "engine", "Engine", id="engine", show=False,
                tooltip="propagation engine of this video (XMem, Cutie, weight-free)"),
    ]

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = Path(path)
        self.frame = 0
        self.detail: VideoDetail | None = None
        self.clear_memory = False

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="video-body"):
            with Vertical(id="video-side"):
                yield Static("", id="video-title")
                yield Label("area per object · review score · K key ! look", classes="section")
                yield DriftChart(id="chart")
                yield Timeline(id="timeline")
                yield Static(LEGEND, id="legend")
                yield Label("objects", classes="section")
                yield ListView(id="objects")
                yield Label("keyframes / review (Enter opens, n next)", classes="section")
                yield ListView(id="review")
            yield Preview(self.app.graphics, id="preview")
        yield PropagationPanel(id="propagation")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.title = self.path.name
        self.watch(self.app, "engine_label", lambda label: self._show_engine())
        self.load_detail()
        self.set_interval(0.5, self.load_detail)

    # ------------------------------------------------------------------ data
    @work(thread=True, exclusive=True, group="detail", exit_on_error=False)
    def load_detail(self) -> None:
        self.post_message(DetailLoaded(self.app.service.detail(self.path)))

    @work(thread=True, exclusive=True, group="preview", exit_on_error=False)
    def load_preview(self, frame: int, width: int, height: int) -> None:
        image = self.app.service.preview(self.path, frame, width, height)
        self.post_message(PreviewLoaded(self.path, frame, image))

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        self.app.worker_failed(event)

    @on(DetailLoaded)
    async def _show_detail(self, message: DetailLoaded) -> None:
        new, old = message.detail, self.detail
        objects_changed = old is None or new.objects != old.objects
        review_changed = old is None or (new.keyframes, new.review) != (old.keyframes, old.review)
        frames_changed = old is None or new.states != old.states
        self.detail = new
        self.query_one(PropagationPanel).progress = new.progress
        self._show_engine()
        chart = self.query_one(DriftChart)
        chart.colors = tuple(color for _id, _name, color in new.objects)
        chart.areas = new.areas
        chart.scores = new.scores
        chart.keyframes = new.keyframes
        chart.review = tuple(entry.frame for entry in new.review)
        # A propagation changes the review list every refresh: refill only what changed, keeping the cursor.
        if objects_changed:
            await refill(self.query_one("#objects", ListView), [
                (f"[rgb({r},{g},{b})]██[/] {object_id} {escape(name)}", object_id)
                for object_id, name, (r, g, b) in new.objects])
        if review_changed:
            await refill(self.query_one("#review", ListView), [
                *((f"[yellow]key[/] frame {frame}", frame) for frame in new.keyframes),
                *((f"[red]look[/] frame {entry.frame}: {escape('; '.join(entry.reasons))}", entry.frame)
                  for entry in new.review)])
        if objects_changed or review_changed or frames_changed:
            self._show_frame()

    def _show_engine(self) -> None:
        """The video's own engine once its detail is read, the project's until then."""
        engine = self.detail.summary.engine if self.detail is not None else ""
        self.query_one(PropagationPanel).engine = engine or self.app.engine_label

    @on(PreviewLoaded)
    def _show_preview(self, message: PreviewLoaded) -> None:
        if message.frame == self.frame:
            preview = self.query_one(Preview)
            preview.image = message.image

    def _show_frame(self) -> None:
        detail = self.detail
        if detail is None or not detail.summary.frames:
            return
        self.frame = min(max(self.frame, 0), detail.summary.frames - 1)
        timeline = self.query_one(Timeline)
        timeline.states = detail.states
        timeline.current = self.frame
        stamp = detail.timestamps_s[self.frame] if self.frame < len(detail.timestamps_s) else 0.0
        state = detail.states[self.frame] or "no mask"
        memory = "  [b]memory will be cleared[/]" if self.clear_memory else ""
        self.query_one("#video-title", Static).update(
            f"frame {self.frame}/{detail.summary.frames - 1}  t={stamp:.3f}s  {state}{memory}")
        width, height = self.query_one(Preview).cells()
        self.load_preview(self.frame, width, height)

    # ------------------------------------------------------------------ actions
    def action_move(self, step: int) -> None:
        self.frame += step
        self._show_frame()

    def action_jump(self, frame: int) -> None:
        if self.detail is not None:
            self.frame = frame if frame >= 0 else self.detail.summary.frames - 1
            self._show_frame()

    @on(ListView.Selected, "#review")
    def _open_review_entry(self, event: ListView.Selected) -> None:
        if isinstance(event.item, Entry):
            self.frame = event.item.value
            self._show_frame()

    def action_next_review(self) -> None:
        """The first review frame after this one (wrapping round), the same as ``n`` in the window."""
        frames = sorted(entry.frame for entry in self.detail.review) if self.detail is not None else []
        if not frames:
            self.notify("the review list is empty: nothing looks wrong (or nothing was propagated yet)")
            return
        self.frame = next((f for f in frames if f > self.frame), frames[0])
        self._show_frame()

    def action_annotate(self) -> None:
        self.app.open_annotation(self.path, self.frame)

    def action_propagate(self, backward: bool, one_frame: bool) -> None:
        if self.detail is not None and self.detail.states[self.frame] == "":
            self.notify(f"frame {self.frame} has no mask: annotate it first (a).", severity="warning")
            return
        self.app.queue_propagation(self.path, self.frame, backward=backward, one_frame=one_frame,
                                   clear_memory=self.clear_memory)
        self.clear_memory = False
        self._show_frame()

    def action_cancel(self) -> None:
        self.app.cancel_video_jobs(self.path)

    def action_clear_memory(self) -> None:
        self.clear_memory = True
        self.notify("the next propagation starts with empty memory (only annotated frames are used)")
        self._show_frame()

    def action_export(self) -> None:
        self.app.ask_export([self.path])

    def action_engine(self) -> None:
        self.load_engines()

    @work(thread=True, group="engines", exit_on_error=False)
    def load_engines(self) -> None:
        self.app.call_from_thread(self._ask_engine, self.app.service.engines(self.path))

    def _ask_engine(self, choices: list[EngineChoice]) -> None:
        from xmem_tui.tui.screens.engine_dialog import EngineDialog

        def chosen(name: str | None) -> None:
            if name is not None:
                self.app.run_service(self.app.service.set_engine, self.path, name,
                                     done=f"{self.path.name} now propagates with {{result}}")

        self.app.push_screen(EngineDialog(self.path.name, choices), chosen)

    def action_rename(self) -> None:
        from xmem_tui.tui.screens.rename import RenameDialog

        objects = self.query_one("#objects", ListView)
        item = objects.highlighted_child
        if not isinstance(item, Entry):
            self.notify("select an object in the list first", severity="warning")
            return
        object_id = item.value

        def rename(name: str | None) -> None:
            if name:
                self.app.run_service(self.app.service.rename_object, self.path, object_id, name,
                                     done=f"object {object_id} renamed")

        self.app.push_screen(RenameDialog(object_id), rename)
