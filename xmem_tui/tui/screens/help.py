"""Every key, on one screen, made from the screens' binding tables (a hand-kept copy would drift from them)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.markup import escape
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

NOTES = """\
Quitting never stops jobs: they belong to the worker, which keeps going without the dashboard or the
SSH session. Reopen to watch. Frame numbers start at 0 everywhere (frame 12 = mask file 00012.png).
ctrl+p opens the command palette (every action by name)."""


def bindings_of(table: Iterable[BindingType]) -> list[Binding]:
    """The :class:`Binding` objects of a ``BINDINGS`` list (tuples made into bindings)."""
    return [b if isinstance(b, Binding) else Binding(*b) for b in table]


def key_label(app: App, keys: str) -> str:
    """``"shift+left,pageup"`` as the footer would show each key: ``"shift+← / pgup"``."""
    return " / ".join(app.get_key_display(Binding(key.strip(), "")) for key in keys.split(","))


def help_text(app: App, sections: Sequence[tuple[str, Iterable[BindingType]]]) -> str:
    """Rich markup: one block per section, one line per action (its keys; the first binding's tooltip,
    else its description)."""
    blocks = ["[b]xmem-tui[/b] — keys (the mouse is never needed)"]
    for title, table in sections:
        actions: dict[str, tuple[list[str], str]] = {}
        for b in bindings_of(table):
            actions.setdefault(b.action, ([], b.tooltip or b.description))[0].append(key_label(app, b.key))
        labels = {action: " / ".join(keys) for action, (keys, _text) in actions.items()}
        width = max(map(len, labels.values()), default=0)
        lines = [f"  {escape(labels[action]):<{width}}  {escape(text)}" for action, (_keys, text) in actions.items()]
        blocks.append(f"[b]{title}[/b]\n" + "\n".join(lines))
    blocks.append(NOTES)
    return "\n\n".join(blocks)


class HelpScreen(ModalScreen[None]):
    """Modal help; Escape, q or ? closes it."""

    BINDINGS = [Binding("escape,q,question_mark,h", "dismiss", "Close")]

    def __init__(self, sections: Sequence[tuple[str, Iterable[BindingType]]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog"):
            yield Static(help_text(self.app, self.sections), id="help-text")
