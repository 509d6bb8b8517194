"""The export dialog: kind, preset, objects, edge finishing and codec, returned as an ExportRequest.

Kinds come from the export registry, codecs and presets from their tables. A field left empty (or at 0)
is left out of the request, so the preset and ``[export]`` in config.toml apply.

The request is checked by the service exactly as the export job will check it before the dialog closes,
so a mistake (an unknown object, a codec the kind cannot write) is shown here, next to the fields, and
not minutes later as a failed job.
"""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static
from textual.worker import Worker, WorkerState

from xmem_tui.errors import UserError
from xmem_tui.export.request import ExportRequest


def _number(text: str, kind: type, default: float) -> float:
    try:
        return kind(text) if text.strip() else default
    except ValueError:
        return default


class ExportDialog(ModalScreen[ExportRequest | None]):
    """Collects an export request; Export (or ctrl+s) checks and confirms it, Escape cancels."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel"), Binding("ctrl+s", "confirm", "Export")]

    def __init__(self, video: Path, default_kind: str = "greenscreen") -> None:
        super().__init__()
        self.video = Path(video)
        self.default_kind = default_kind

    def compose(self) -> ComposeResult:
        from xmem_tui.export.codecs import CODECS
        from xmem_tui.export.presets import PRESETS
        from xmem_tui.export.registry import kind_names

        with Vertical(classes="dialog", id="export-dialog"):
            yield Label(f"export {self.video.name}", classes="dialog-title")
            with Grid(id="export-grid"):
                yield Label("kind")
                yield Select([(k, k) for k in kind_names()], value=self.default_kind, allow_blank=False, id="kind",
                             compact=True)
                yield Label("preset")
                yield Select([(p, p) for p in PRESETS], prompt="none", id="preset", compact=True)
                yield Label("objects")
                yield Input(placeholder="all (or 1,2)", id="objects", compact=True)
                yield Label("codec")
                yield Select([(c, c) for c in CODECS], prompt="kind's default", id="codec", compact=True)
                yield Label("median px")
                yield Input("0", id="median", type="integer", compact=True)
                yield Label("feather px")
                yield Input("0", id="feather", type="number", compact=True)
                yield Label("choke px")
                yield Input("0", id="choke", type="integer", compact=True)
                yield Label("temporal ±k")
                yield Input("0", id="temporal", type="integer", compact=True)
            yield Static("", id="export-error")
            with Horizontal(classes="buttons"):
                yield Button("Export", variant="primary", id="ok", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def request(self) -> ExportRequest:
        """The request as filled in so far."""
        def value(widget_id: str) -> str:
            select = self.query_one(f"#{widget_id}", Select)
            return "" if select.is_blank() else str(select.value)

        def text(widget_id: str) -> str:
            return self.query_one(f"#{widget_id}", Input).value

        return ExportRequest(kind=value("kind") or None, preset=value("preset") or None,
                             objects=text("objects").strip() or None, codec=value("codec") or None,
                             median=int(_number(text("median"), int, 0)) or None,
                             feather=float(_number(text("feather"), float, 0.0)) or None,
                             choke=int(_number(text("choke"), int, 0)) or None,
                             temporal=int(_number(text("temporal"), int, 0)) or None)

    def action_confirm(self) -> None:
        self.query_one("#export-error", Static).update("checking…")
        self.validate(self.request())

    @work(thread=True, exclusive=True, group="export-check", exit_on_error=False)
    def validate(self, request: ExportRequest) -> ExportRequest:
        """Off the UI thread: resolving options imports the export stack (OpenCV) on first use."""
        self.app.service.validate_export(self.video, request)
        return request

    @on(Worker.StateChanged)
    def _validated(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "export-check":
            return
        if event.state == WorkerState.SUCCESS:
            self.dismiss(event.worker.result)
        elif event.state == WorkerState.ERROR:
            error = event.worker.error
            if not isinstance(error, UserError):
                self.app.worker_failed(event)  # a bug: logged with its traceback and notified
            self.query_one("#export-error", Static).update(f"[red]{escape(str(error))}[/]")

    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        self.action_confirm()

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)
