"""Overlay: each object's mask in its colour over the source, for review."""

from __future__ import annotations

from typing import TYPE_CHECKING

from xmem_tui.export.registry import ExportKind, Preparation

if TYPE_CHECKING:
    import numpy as np

    from xmem_tui.export.registry import Render


def prepare(prep: Preparation) -> Render:
    import numpy as np

    colors = prep.colors()

    def render(pixels: np.ndarray | None, mattes: np.ndarray, index: int) -> list[np.ndarray]:
        alphas = np.stack(prep.finish_all(mattes, pixels))
        return [prep.compositor.overlay(pixels, alphas, colors, prep.opts.opacity)]

    return render


SPEC = ExportKind(name="overlay", codecs=("h264", "h265"), input_format="rgb24", needs_source=True, prepare=prepare,
                  per_object=True, order=40, help="coloured masks over the source, for review")
