"""A log, read-only: a job's (Enter on the jobs screen) or the dashboard's own (L), which grows while open."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Log


class LogScreen(ModalScreen[None]):
    """Shows the end of a log in a framed dialog (its title above the text, never over it); Escape closes.

    Args:
        title: what the log is ("log of job …", "dashboard log").
        text: the log so far.
        live: lines logged while it is open are appended (:meth:`append`).
    """

    BINDINGS = [Binding("escape,q", "dismiss", "Close")]

    def __init__(self, title: str, text: str, live: bool = False) -> None:
        super().__init__()
        self.title_text = title
        self.text = text
        self.live = live

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="log-dialog"):
            yield Label(f"{self.title_text} (Escape closes)", classes="dialog-title")
            yield Log(id="log", auto_scroll=True)

    def on_mount(self) -> None:
        self.query_one(Log).write(self.text if self.text.endswith("\n") else self.text + "\n")

    def append(self, line: str) -> None:
        self.query_one(Log).write_line(line)
