"""A job's log, read-only."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Label, Log


class LogScreen(ModalScreen[None]):
    """Shows the end of a job's log; Escape closes it."""

    BINDINGS = [Binding("escape,q", "dismiss", "Close")]

    def __init__(self, job_id: str, text: str) -> None:
        super().__init__()
        self.job_id = job_id
        self.text = text

    def compose(self) -> ComposeResult:
        yield Label(f"log of {self.job_id} (Escape closes)", classes="dialog-title")
        yield Log(id="log", auto_scroll=True)

    def on_mount(self) -> None:
        self.query_one(Log).write(self.text)
