"""The export dialog: kind, preset, objects, edge finishing and codec, returned as an ExportRequest."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select

from xmem_tui.tui.service import ExportRequest


def _number(text: str, kind: type, default: float) -> float:
    try:
        return kind(text) if text.strip() else default
    except ValueError:
        return default


class ExportDialog(ModalScreen[ExportRequest | None]):
    """Collects an export request; Enter on Export (or ctrl+s) confirms, Escape cancels."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel"), Binding("ctrl+s", "confirm", "Export")]

    def __init__(self, video_name: str, default_kind: str = "greenscreen") -> None:
        super().__init__()
        self.video_name = video_name
        self.default_kind = default_kind

    def compose(self) -> ComposeResult:
        from xmem_tui.export.kinds import CODECS, KINDS
        from xmem_tui.export.presets import PRESETS

        with Vertical(classes="dialog", id="export-dialog"):
            yield Label(f"export {self.video_name}", classes="dialog-title")
            with Grid(id="export-grid"):
                yield Label("kind")
                yield Select([(k, k) for k in KINDS], value=self.default_kind, allow_blank=False, id="kind")
                yield Label("preset")
                yield Select([(p, p) for p in PRESETS], prompt="none", id="preset")
                yield Label("objects")
                yield Input(placeholder="all (or 1,2)", id="objects")
                yield Label("codec")
                yield Select([(c, c) for c in CODECS], prompt="kind's default", id="codec")
                yield Label("median px")
                yield Input("0", id="median", type="integer")
                yield Label("feather px")
                yield Input("0", id="feather", type="number")
                yield Label("choke px")
                yield Input("0", id="choke", type="integer")
                yield Label("temporal ±k")
                yield Input("0", id="temporal", type="integer")
            with Horizontal(classes="buttons"):
                yield Button("Export", variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    def request(self) -> ExportRequest:
        """The request as filled in so far."""
        def value(widget_id: str) -> str:
            select = self.query_one(f"#{widget_id}", Select)
            return "" if select.is_blank() else str(select.value)

        def text(widget_id: str) -> str:
            return self.query_one(f"#{widget_id}", Input).value

        return ExportRequest(kind=value("kind"), preset=value("preset"), objects=text("objects").strip(),
                             codec=value("codec"), median=int(_number(text("median"), int, 0)),
                             feather=float(_number(text("feather"), float, 0.0)),
                             choke=int(_number(text("choke"), int, 0)),
                             temporal=int(_number(text("temporal"), int, 0)))

    def action_confirm(self) -> None:
        self.dismiss(self.request())

    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        self.action_confirm()

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)
