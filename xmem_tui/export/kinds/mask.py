"""Mask: a white-on-black matte of the chosen objects, one file, or one per object."""

from __future__ import annotations

from typing import TYPE_CHECKING

from xmem_tui.export.registry import ExportKind, Preparation

if TYPE_CHECKING:
    import numpy as np

    from xmem_tui.export.registry import Render


def prepare(prep: Preparation) -> Render:
    def render(pixels: np.ndarray | None, mattes: np.ndarray, index: int) -> list[np.ndarray]:
        return prep.finish_all(mattes, pixels)

    return render


SPEC = ExportKind(name="mask", codecs=("ffv1", "h264"), input_format="gray", needs_source=False, prepare=prepare,
                  split_objects=True, order=20,
                  help="white-on-black matte of the chosen objects (one file, or one per object)")
