"""The export dialog: one field per :class:`~xmem_tui.export.request.ExportRequest` field, returned as a request.

The fields are made from the request's dataclass fields and their types (a choice list where the values
come from a registry or a table, yes/no for flags, a number field for numbers, text otherwise), so every
option of ``xmem-tui export`` is here, and a field added to the request (by a new kind's options) shows
up without editing this module. A field left empty is left out of the request, so the preset and
``[export]`` in config.toml apply.

Enter in any text field exports (as does ctrl+s; many terminals keep ctrl+s for flow control), Escape
cancels. The output path comes first after the kind, so "kind, Tab, path, Enter" is the shortest export.
For several videos (a batch) the output names a folder.

The request is checked by the service exactly as the export job will check it before the dialog closes,
so a mistake (an unknown object, a codec the kind cannot write) is shown here, next to the fields, and
not minutes later as a failed job.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args, get_type_hints

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static
from textual.worker import Worker, WorkerState

from xmem_tui.errors import UserError
from xmem_tui.export.request import ExportRequest


def _kinds() -> tuple[str, ...]:
    from xmem_tui.export.registry import kind_names

    return kind_names()


def _presets() -> tuple[str, ...]:
    from xmem_tui.export.presets import PRESETS

    return tuple(PRESETS)


def _codecs() -> tuple[str, ...]:
    from xmem_tui.export.codecs import CODECS

    return tuple(CODECS)


def _audio() -> tuple[str, ...]:
    from xmem_tui.export.request import AUDIO_CHOICES

    return AUDIO_CHOICES


def _upscale() -> tuple[str, ...]:
    from xmem_tui.config import ExportSettings

    return tuple(next(f for f in dataclasses.fields(ExportSettings) if f.name == "upscale").metadata["choices"])


@dataclass(frozen=True)
class FieldHint:
    """How one request field is shown: its label, a placeholder, and where its choices come from."""

    label: str
    placeholder: str = ""
    choices: Callable[[], tuple[str, ...]] | None = None


#: Labels and choices of the fields known today; any other field gets its name and a widget for its type.
HINTS: dict[str, FieldHint] = {
    "kind": FieldHint("kind", choices=_kinds),
    "out": FieldHint("output", "exports/<video>_<kind>.<ext>"),
    "preset": FieldHint("preset", choices=_presets),
    "objects": FieldHint("objects", "all (or 1,2)"),
    "codec": FieldHint("codec", choices=_codecs),
    "crf": FieldHint("crf", "18 (lower = better)"),
    "speed": FieldHint("x264 speed", "medium"),
    "background": FieldHint("background", "#00FF00 or an image file"),
    "per_object": FieldHint("per object"),
    "upscale": FieldHint("upscale", choices=_upscale),
    "median": FieldHint("median px", "0 (odd sizes)"),
    "feather": FieldHint("feather px", "0"),
    "choke": FieldHint("choke px", "0 (<0 grows)"),
    "temporal": FieldHint("temporal ±k", "0"),
    "despill": FieldHint("despill"),
    "device": FieldHint("device", "cpu, cuda or auto"),
    "audio": FieldHint("audio", choices=_audio),
    "opacity": FieldHint("opacity", "0.5 (overlay)"),
    "aspect": FieldHint("aspect", "9:16 (reframe)"),
    "size": FieldHint("size", "1080x1920 (reframe)"),
    "smooth": FieldHint("smooth", "reframe camera smoothing"),
}
#: Fields shown first, in this order; the rest follow in the request's order.
FIRST = ("kind", "out", "preset", "objects", "codec")


def _scalar(kind: Any) -> Any:
    """The type a field holds besides None (``str | tuple[int, ...] | None`` -> str: typed as text)."""
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        members = [m for m in get_args(kind) if m is not type(None)]
        return str if str in members else members[0]
    return kind


def request_fields() -> list[tuple[str, Any]]:
    """(name, scalar type) of every request field, in the dialog's order."""
    hints = get_type_hints(ExportRequest)
    names = [f.name for f in dataclasses.fields(ExportRequest)]
    ordered = [n for n in FIRST if n in names] + [n for n in names if n not in FIRST]
    return [(n, _scalar(hints[n])) for n in ordered]


def _parse(name: str, kind: Any, text: str) -> Any:
    """A field's text as its type; None when empty. Raises UserError naming the field."""
    text = text.strip()
    if not text:
        return None
    try:
        return kind(text) if kind in (int, float) else text
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise UserError(f"{HINTS.get(name, FieldHint(name)).label}: {text!r} is not {what}; fix the field.") from None


class ExportDialog(ModalScreen[ExportRequest | None]):
    """Collects an export request for one video or a batch; Enter or ctrl+s checks and confirms it.

    Args:
        videos: the videos to export (several: the same export of each, ``out`` being a folder).
        default_kind: the kind selected at first (``export.kind`` in config.toml).
    """

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel", id="back", tooltip="close without exporting"),
        Binding("enter", "confirm", "Export", id="confirm", show=False,
                tooltip="check and export (in any text field)"),
        Binding("ctrl+s", "confirm", "Export", id="submit", tooltip="check and export"),
    ]

    def __init__(self, videos: Sequence[Path], default_kind: str = "greenscreen") -> None:
        super().__init__()
        self.videos = [Path(v) for v in videos]
        self.default_kind = default_kind
        self.fields = request_fields()

    @property
    def batch(self) -> bool:
        return len(self.videos) > 1

    def compose(self) -> ComposeResult:
        names = ", ".join(v.name for v in self.videos)
        title = f"export {len(self.videos)} videos the same way: {names}" if self.batch else f"export {names}"
        with Vertical(classes="dialog", id="export-dialog"):
            yield Label(escape(title), classes="dialog-title")
            with VerticalScroll(id="export-fields", can_focus=False), Grid(id="export-grid"):
                for name, kind in self.fields:
                    yield from self._field(name, kind)
            yield Static("", id="export-error")
            with Horizontal(classes="buttons"):
                yield Static("Enter exports · Tab next field · Esc cancels", classes="hint")
                yield Button("Export", variant="primary", id="ok", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#kind").focus()

    def _field(self, name: str, kind: Any) -> ComposeResult:
        hint = HINTS.get(name, FieldHint(name.replace("_", " ")))
        label = "output folder" if name == "out" and self.batch else hint.label
        yield Label(label)
        if kind is bool:
            yield Select([("yes", True), ("no", False)], prompt="default", id=name, compact=True)
        elif hint.choices is not None:
            options = [(c, c) for c in hint.choices()]
            if name == "kind":
                yield Select(options, value=self.default_kind, allow_blank=False, id=name, compact=True)
            else:
                yield Select(options, prompt="default", id=name, compact=True)
        else:
            placeholder = "exports/ (each video under its own name)" if name == "out" and self.batch \
                else hint.placeholder
            number = {int: "integer", float: "number"}.get(kind, "text")
            yield Input(placeholder=placeholder, id=name, type=number, compact=True)  # type: ignore[arg-type]

    def request(self) -> ExportRequest:
        """The request as filled in so far.

        Raises:
            UserError: a number field holds something else.
        """
        values: dict[str, Any] = {}
        for name, kind in self.fields:
            widget = self.query_one(f"#{name}")
            if isinstance(widget, Select):
                value = None if widget.is_blank() else widget.value
            else:
                value = _parse(name, kind, widget.value)  # type: ignore[attr-defined]
            if value is not None:
                values[name] = value
        return ExportRequest(**values)

    def action_confirm(self) -> None:
        error = self.query_one("#export-error", Static)
        try:
            request = self.request()
        except UserError as exc:
            error.update(f"[red]{escape(str(exc))}[/]")
            return
        error.update("checking…")
        self.validate(request)

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_confirm()

    @work(thread=True, exclusive=True, group="export-check", exit_on_error=False)
    def validate(self, request: ExportRequest) -> ExportRequest:
        """Off the UI thread: resolving options imports the export stack (OpenCV) on first use."""
        for video in self.videos:
            self.app.service.validate_export(video, request)
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
