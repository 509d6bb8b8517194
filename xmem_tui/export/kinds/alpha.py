"""Alpha: the source with the chosen objects' matte as its alpha channel."""

from __future__ import annotations

from typing import TYPE_CHECKING

from xmem_tui.export.registry import ExportKind, Preparation

if TYPE_CHECKING:
    import numpy as np

    from xmem_tui.export.registry import Render


def prepare(prep: Preparation) -> Render:
    import numpy as np

    def render(pixels: np.ndarray | None, mattes: np.ndarray, index: int) -> list[np.ndarray]:
        return [np.dstack([pixels, prep.finish(mattes[0], pixels)])]

    return render


SPEC = ExportKind(name="alpha", codecs=("prores4444", "vp9", "png"), input_format="rgba", needs_source=True,
                  prepare=prepare, order=30,
                  help="source with an alpha channel: ProRes 4444 MOV, VP9 WebM or a PNG RGBA sequence")
