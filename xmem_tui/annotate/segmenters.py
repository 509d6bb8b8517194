"""The interactive segmenters of a window session, built once on first use and labelled for the HUD.

f-BRS and S2M load torch and a checkpoint, which takes seconds; the window opens at once and builds them
on a helper thread (:meth:`Segmenters.start_warm_up`) while the user can already look around, brush or
lasso; a click that comes first waits for the build. Without checkpoints the builders return the GrabCut
fallback, whose ``weight_free`` flag the HUD shows as "weight-free".
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from xmem_tui.errors import UserError

if TYPE_CHECKING:
    from xmem_tui.config import Settings
    from xmem_tui.interaction.base import ClickSegmenter, ScribbleSegmenter

T = TypeVar("T")
log = logging.getLogger(__name__)


class Segmenters:
    """Lazily built click and scribble segmenters.

    Args:
        build_click: makes the click segmenter (f-BRS or GrabCut).
        build_scribble: makes the scribble segmenter (S2M or GrabCut).
    """

    def __init__(self, build_click: Callable[[], ClickSegmenter],
                 build_scribble: Callable[[], ScribbleSegmenter]) -> None:
        self._build_click = build_click
        self._build_scribble = build_scribble
        self._click: ClickSegmenter | None = None
        self._scribble: ScribbleSegmenter | None = None
        self._lock = threading.Lock()
        self.failed: set[str] = set()
        #: Bumped whenever a segmenter is built or fails, so the HUD knows to redraw its label.
        self.changes = 0
        self._notes: list[str] = []

    @classmethod
    def for_settings(cls, settings: Settings) -> Segmenters:
        """The project's segmenters (:mod:`xmem_tui.interaction.service` picks networks or GrabCut)."""
        def click() -> ClickSegmenter:
            from xmem_tui.interaction.service import build_click

            return build_click(settings)

        def scribble() -> ScribbleSegmenter:
            from xmem_tui.interaction.service import build_scribble

            return build_scribble(settings)

        return cls(click, scribble)

    def click(self) -> ClickSegmenter:
        """The click segmenter.

        Raises:
            UserError: it cannot be built (brush and lasso still work; the message says why).
        """
        with self._lock:
            if self._click is None:
                self._click = self._build("click", self._build_click)
            return self._click

    def scribble(self) -> ScribbleSegmenter:
        """The scribble segmenter (raises like :meth:`click`)."""
        with self._lock:
            if self._scribble is None:
                self._scribble = self._build("scribble", self._build_scribble)
            return self._scribble

    def _build(self, what: str, build: Callable[[], T]) -> T:
        try:
            return build()
        except UserError:
            self.failed.add(what)
            raise
        except (ImportError, OSError, RuntimeError) as exc:
            self.failed.add(what)
            raise UserError(f"the {what} segmenter is unavailable ({exc}); brush and lasso still work") from exc
        finally:
            self.changes += 1

    def warm_up(self) -> str | None:
        """Build both now; returns a failure message (None when both are ready)."""
        try:
            click, scribble = self.click(), self.scribble()
        except UserError as exc:
            return str(exc)
        log.info("segmenters ready: %s, %s", click.name, scribble.name)
        return None

    def start_warm_up(self) -> threading.Thread:
        """:meth:`warm_up` on a daemon thread; a failure message is kept for :meth:`take_notes`."""

        def run() -> None:
            problem = self.warm_up()
            if problem:
                self._notes.append(problem)

        thread = threading.Thread(target=run, name="annotate-warm-up", daemon=True)
        thread.start()
        return thread

    def take_notes(self) -> list[str]:
        """Messages from the warm-up thread not shown yet."""
        notes, self._notes = self._notes, []
        return notes

    def describe(self, mode: str) -> str:
        """HUD label of the segmenter behind ``mode``: its name, "weight-free" for the GrabCut fallback."""
        if mode not in ("click", "scribble"):
            return "manual"
        seg = self._click if mode == "click" else self._scribble
        if seg is None:
            return "unavailable" if mode in self.failed else "loading"
        return f"{seg.name} weight-free" if seg.weight_free and "weight-free" not in seg.name else seg.name
