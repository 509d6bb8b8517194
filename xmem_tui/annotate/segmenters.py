"""The interactive segmenters of a window session, built once on first use and labelled for the HUD.

f-BRS and S2M load torch and a checkpoint, which takes seconds; the window opens first and builds them
afterwards (:meth:`Segmenters.warm_up`) or when the first click needs one. Without checkpoints the
builders return the GrabCut fallback, whose ``weight_free`` flag the HUD shows as "weight-free".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from xmem_tui.config import Settings
    from xmem_tui.interaction.base import ClickSegmenter, ScribbleSegmenter


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

    @classmethod
    def for_settings(cls, settings: Settings) -> Segmenters:
        """The project's segmenters (:mod:`xmem_tui.interaction.service` picks networks or GrabCut)."""
        from xmem_tui.interaction.service import build_click, build_scribble

        return cls(lambda: build_click(settings), lambda: build_scribble(settings))

    def click(self) -> ClickSegmenter:
        if self._click is None:
            self._click = self._build_click()
        return self._click

    def scribble(self) -> ScribbleSegmenter:
        if self._scribble is None:
            self._scribble = self._build_scribble()
        return self._scribble

    def warm_up(self) -> None:
        """Build both now (the window calls this right after its first paint)."""
        self.click()
        self.scribble()

    def describe(self, mode: str) -> str:
        """HUD label of the segmenter behind ``mode``: its name, "weight-free" for the GrabCut fallback."""
        if mode not in ("click", "scribble"):
            return "manual"
        seg = self._click if mode == "click" else self._scribble
        if seg is None:
            return "loading"
        return f"{seg.name} weight-free" if seg.weight_free and "weight-free" not in seg.name else seg.name
