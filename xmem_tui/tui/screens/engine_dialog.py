"""Choose the propagation engine of one video (XMem, Cutie, the weight-free flow, or the project default)."""

from __future__ import annotations

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from xmem_tui.tui.contract import EngineChoice


def choice_text(choice: EngineChoice) -> str:
    """One line: the label, what is missing for it, and a mark on the current choice."""
    mark = "[b]●[/] " if choice.current else "  "
    missing = f"  [yellow](needs models/{escape(choice.missing)})[/]" if choice.missing else ""
    return f"{mark}{escape(choice.label)}{missing}"


class EngineDialog(ModalScreen[str | None]):
    """Lists the choices (from the engine registry, through the service); Enter picks one, Escape cancels.

    Dismisses with the chosen engine name ("" for the project default), or None when cancelled.
    """

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, video: str, choices: list[EngineChoice]) -> None:
        super().__init__()
        self.video = video
        self.choices = choices

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"propagation engine for {escape(self.video)}", classes="dialog-title")
            yield OptionList(*(Option(choice_text(c), id=c.name or "default") for c in self.choices), id="engines")
            yield Label("Enter: use it for this video's propagations    Esc: keep the current one")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = next((i for i, c in enumerate(self.choices) if c.current), 0)
        options.focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.choices[event.option_index].name)
