"""Rename an object."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label


class RenameDialog(ModalScreen[str | None]):
    """Asks for a new name; Enter confirms, Escape cancels."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, object_id: int) -> None:
        super().__init__()
        self.object_id = object_id

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"new name for object {self.object_id}", classes="dialog-title")
            yield Input(placeholder="e.g. dancer", id="name")

    @on(Input.Submitted)
    def _submit(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)
