"""Masks: palette PNGs at source resolution in the DAVIS layout (00000.png ...), object id = pixel value."""

from __future__ import annotations

from typing import TYPE_CHECKING

from xmem_tui.export.registry import ExportKind, Preparation

if TYPE_CHECKING:
    import numpy as np

    from xmem_tui.export.registry import Render


def prepare(prep: Preparation) -> Render:
    import numpy as np

    lut = np.asarray(prep.objects, dtype=np.uint8)

    def render(pixels: np.ndarray | None, mattes: np.ndarray, index: int) -> list[np.ndarray]:
        alphas = np.stack(prep.finish_all(mattes, pixels))
        best = alphas.argmax(axis=0)
        return [np.where(alphas.max(axis=0) >= 128, lut[best], 0).astype(np.uint8)]

    return render


SPEC = ExportKind(name="masks", codecs=("png",), input_format="pal8", needs_source=False, prepare=prepare,
                  display=True, per_object=True, palette=True, order=50,
                  help="palette PNG sequence at source resolution, DAVIS layout 00000.png...")
