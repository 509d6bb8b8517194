"""Green screen: the chosen objects over a solid colour (green-spill suppressed) or a background image."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from xmem_tui.export.errors import ExportError
from xmem_tui.export.registry import ExportKind, Preparation

if TYPE_CHECKING:
    import numpy as np

    from xmem_tui.export.registry import Render


def parse_color(text: str) -> tuple[int, int, int] | None:
    """``"#RRGGBB"`` (or without ``#``) as (r, g, b); None when it is not a colour."""
    value = text.strip().lstrip("#")
    if len(value) == 6 and all(c in "0123456789abcdefABCDEF" for c in value):
        return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)
    return None


def background(text: str, size: tuple[int, int], rot_k: int) -> tuple[np.ndarray, bool]:
    """Full-size RGB background in the output orientation, and whether it is a solid green screen.

    ``size`` is the upright (width, height); an image is scaled to cover it and centre-cropped.
    """
    import cv2
    import numpy as np

    from xmem_tui.export.composite import is_green

    w, h = size
    color = parse_color(text)
    if color is not None:
        image = np.empty((h, w, 3), np.uint8)
        image[:] = color
        solid_green = is_green(color)
    else:
        bgr = cv2.imread(str(Path(text).expanduser()), cv2.IMREAD_COLOR)
        if bgr is None:
            raise ExportError(f"background {text!r} is neither a #RRGGBB colour nor a readable image file.")
        scale = max(w / bgr.shape[1], h / bgr.shape[0])
        big = cv2.resize(bgr, (max(w, round(bgr.shape[1] * scale)), max(h, round(bgr.shape[0] * scale))),
                         interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
        y, x = (big.shape[0] - h) // 2, (big.shape[1] - w) // 2
        image = cv2.cvtColor(big[y:y + h, x:x + w], cv2.COLOR_BGR2RGB)
        solid_green = False
    return np.ascontiguousarray(np.rot90(image, k=rot_k)), solid_green


def prepare(prep: Preparation) -> Render:
    image, solid_green = background(prep.opts.background, prep.upright, prep.rot_k)
    despill = prep.opts.finish.despill and solid_green

    def render(pixels: np.ndarray | None, mattes: np.ndarray, index: int) -> list[np.ndarray]:
        return [prep.compositor.greenscreen(pixels, prep.finish(mattes[0], pixels), image, despill)]

    return render


SPEC = ExportKind(name="greenscreen", codecs=("h264", "h265"), input_format="rgb24", needs_source=True,
                  prepare=prepare, order=10, help="chosen objects over a solid colour or a background image")
