"""The current frame with its masks, drawn in the terminal as well as the terminal can (see tui/graphics.py).

Half blocks work in every colour terminal: each character cell shows two pixels, the upper half-block's
foreground colour being the top pixel and its background colour the bottom one, in 24-bit colour or
dithered to the 256-colour palette. Terminals with a graphics protocol (kitty's, or sixel) get real
pixels through ``textual-image`` instead, so masks can be judged over SSH without X forwarding.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rich.color import Color
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.reactive import reactive
from textual.widget import Widget

from xmem_tui.tui.graphics import dither_256

#: Largest image sent through a graphics protocol (each preview is sent whole, over SSH too).
MAX_GRAPHICS_PX = (1280, 960)
#: Pixels asked for per character cell with a graphics protocol (a VT340's cell; the widget then scales
#: the image to the space it has, keeping its aspect ratio, whatever the terminal's real cell size).
GRAPHICS_CELL_PX = (10, 20)


def half_block_text(image: np.ndarray, mode: str = "truecolor") -> Text:
    """Rich text of ``image`` (uint8 RGB (2*rows, cols, 3)); an odd last row is padded with black.

    ``mode`` "256" draws it in the xterm palette, dithered; anything else in 24-bit colour.
    """
    if image.shape[0] % 2:
        image = np.concatenate([image, np.zeros((1, *image.shape[1:]), image.dtype)])
    if mode == "256":
        colors: list[list[Any]] = [[Color.from_ansi(int(v)) for v in row] for row in dither_256(image).tolist()]
    else:
        colors = [[Color.from_rgb(r, g, b) for r, g, b in row] for row in image.tolist()]
    text = Text()
    for row in range(0, image.shape[0], 2):
        for top, bottom in zip(colors[row], colors[row + 1], strict=True):
            text.append("▀", Style(color=top, bgcolor=bottom))
        if row + 2 < image.shape[0]:
            text.append("\n")
    return text


def graphics_widget(mode: str) -> Widget:
    """The ``textual-image`` widget drawing with the kitty protocol or with sixels.

    Imported here, on first use: importing ``textual_image`` asks the terminal for its cell size, which
    only works before the app takes over the terminal (the CLI imports it then, see ``commands/tui.py``).
    """
    from textual_image.widget import SixelImage, TGPImage

    widget: Widget = TGPImage(id="graphics") if mode == "kitty" else SixelImage(id="graphics")
    return widget


class Preview(Widget):
    """Shows a pre-scaled RGB image; the screen asks the service for one sized ``cells()``.

    Args:
        mode: "kitty", "sixel", "truecolor" or "256" (the app's :attr:`graphics`).
    """

    DEFAULT_CSS = """
    Preview { width: 1fr; height: 1fr; min-height: 4; }
    Preview > #graphics { width: auto; height: auto; }
    """

    image: reactive[np.ndarray | None] = reactive(None, always_update=True)
    caption: reactive[str] = reactive("no frame")

    def __init__(self, mode: str = "truecolor", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mode = mode
        self.graphic = mode in ("kitty", "sixel")

    def compose(self) -> ComposeResult:
        if self.graphic:
            yield graphics_widget(self.mode)

    def cells(self) -> tuple[int, int]:
        """Pixel size (width, height) that fills the widget."""
        per_x, per_y = GRAPHICS_CELL_PX if self.graphic else (1, 2)
        width, height = max(self.size.width, 8) * per_x, max(self.size.height, 4) * per_y
        if self.graphic:
            scale = min(1.0, MAX_GRAPHICS_PX[0] / width, MAX_GRAPHICS_PX[1] / height)
            width, height = int(width * scale), int(height * scale)
        return width, height

    def watch_image(self, image: np.ndarray | None) -> None:
        if self.graphic and image is not None:
            from PIL import Image

            self.query_one("#graphics").image = Image.fromarray(image)  # type: ignore[attr-defined]

    def render(self) -> Text:
        if self.graphic:
            return Text("" if self.image is not None else self.caption, style="dim")
        if self.image is None:
            return Text(self.caption, style="dim")
        return half_block_text(self.image, self.mode)
