"""The current frame with its masks, drawn in the terminal with half-block characters.

Each character cell shows two pixels: the upper half-block's foreground colour is the top pixel and its
background colour the bottom one. That works in every colour terminal, so reviewing masks needs no X
forwarding at all.
"""

from __future__ import annotations

import numpy as np
from rich.color import Color
from rich.style import Style
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget


def half_block_text(image: np.ndarray) -> Text:
    """Rich text of ``image`` (uint8 RGB (2*rows, cols, 3)); an odd last row is padded with black."""
    if image.shape[0] % 2:
        image = np.concatenate([image, np.zeros((1, *image.shape[1:]), image.dtype)])
    text = Text()
    for row in range(0, image.shape[0], 2):
        top, bottom = image[row], image[row + 1]
        for (r1, g1, b1), (r2, g2, b2) in zip(top.tolist(), bottom.tolist(), strict=True):
            text.append("▀", Style(color=Color.from_rgb(r1, g1, b1), bgcolor=Color.from_rgb(r2, g2, b2)))
        if row + 2 < image.shape[0]:
            text.append("\n")
    return text


class Preview(Widget):
    """Shows a pre-scaled RGB image; the screen asks the service for one sized ``cells()``."""

    DEFAULT_CSS = """
    Preview { width: 1fr; height: 1fr; min-height: 4; }
    """

    image: reactive[np.ndarray | None] = reactive(None, always_update=True)
    caption: reactive[str] = reactive("no frame")

    def cells(self) -> tuple[int, int]:
        """Pixel size (width, height) that fills the widget: one column, two rows per cell."""
        return max(self.size.width, 8), max(self.size.height * 2, 8)

    def render(self) -> Text:
        if self.image is None:
            return Text(self.caption, style="dim")
        return half_block_text(self.image)
