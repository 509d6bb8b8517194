"""One video: timeline, objects, keyframes, review list, in-terminal preview and propagation controls."""

from __future__ import annotations

from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, Label, ListItem, ListView, Static
from textual.worker import Worker

from xmem_tui.tui.contract import EngineChoice, VideoDetail
from xmem_tui.tui.messages import DetailLoaded, PreviewLoaded
from xmem_tui.tui.widgets.preview import Preview
from xmem_tui.tui.widgets.propagation_panel import PropagationPanel
from xmem_tui.tui.widgets.timeline import LEGEND, Timeline


class VideoScreen(Screen):
    """Review and drive one source. All long work is queued as jobs; this screen only reads files."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("left", "move(-1)", "Prev", show=False),
        Binding("right", "move(1)", "Next", show=False),
        Binding("shift+left", "move(-10)", "-10", show=False),
        Binding("shift+right", "move(10)", "+10", show=False),
        Binding("home", "jump(0)", "First", show=False),
        Binding("end", "jump(-1)", "Last", show=False),
        Binding("a", "annotate", "Annotate"),
        Binding("f", "propagate(False, False)", "Fwd"),
        Binding("b", "propagate(True, False)", "Bwd"),
        Binding("full_stop", "propagate(False, True)", "+1 frame", show=False),
        Binding("comma", "propagate(True, True)", "-1 frame", show=False),
        Binding("x", "cancel", "Cancel"),
        Binding("m", "clear_memory", "Clear mem"),
        Binding("e", "export", "Export"),
        Binding("n", "rename", "Rename obj", show=False),
        Binding("g", "engine", "Engine", show=False),
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
                yield Timeline(id="timeline")
                yield Static(LEGEND, id="legend")
                yield Label("objects", classes="section")
                yield ListView(id="objects")
                yield Label("keyframes / review (Enter opens)", classes="section")
                yield ListView(id="review")
            yield Preview(id="preview")
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
    def _show_detail(self, message: DetailLoaded) -> None:
        new, old = message.detail, self.detail
        lists_changed = old is None or (new.objects, new.keyframes, new.review) != \
            (old.objects, old.keyframes, old.review)
        frames_changed = old is None or new.states != old.states
        self.detail = new
        self.query_one(PropagationPanel).progress = new.progress
        self._show_engine()
        if lists_changed:  # refilling resets the lists' cursors, so only when their content changed
            self._fill_lists()
        if lists_changed or frames_changed:
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

    def _fill_lists(self) -> None:
        detail = self.detail
        assert detail is not None
        objects = self.query_one("#objects", ListView)
        objects.clear()
        for object_id, name, color in detail.objects:
            objects.append(ListItem(Label(f"[rgb({color[0]},{color[1]},{color[2]})]██[/] {object_id} {name}"),
                                    name=str(object_id)))
        review = self.query_one("#review", ListView)
        review.clear()
        for frame in detail.keyframes:
            review.append(ListItem(Label(f"[yellow]key[/] frame {frame}"), name=str(frame)))
        for entry in detail.review:
            reason = entry.reasons[0] if entry.reasons else ""
            review.append(ListItem(Label(f"[red]look[/] frame {entry.frame}: {reason}"), name=str(entry.frame)))
        self.call_after_refresh(self._reset_list_cursors)

    def _reset_list_cursors(self) -> None:
        for list_view in self.query(ListView):
            if list_view.index is None and len(list_view):
                list_view.index = 0

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
        if event.item.name is not None:
            self.frame = int(event.item.name)
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
        self.app.ask_export(self.path)

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
        if item is None or item.name is None:
            self.notify("select an object in the list first", severity="warning")
            return
        object_id = int(item.name)

        def rename(name: str | None) -> None:
            if name:
                self.app.run_service(self.app.service.rename_object, self.path, object_id, name,
                                     done=f"object {object_id} renamed")

        self.app.push_screen(RenameDialog(object_id), rename)
