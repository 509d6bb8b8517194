"""A whole export kind in one file, registered through the public registry only (a test's extension).

It writes the inverted matte (black objects on white) as a lossless FFV1 video. Registering
:data:`SPEC` must be enough for it to appear as ``--kind inverted``, as a valid ``export.kind``, in the
dashboard's export dialog and in an export job the worker runs and self-checks.
"""

from __future__ import annotations

import numpy as np

from xmem_tui.export.registry import ExportKind, Preparation, Render

NAME = "inverted"


def prepare(prep: Preparation) -> Render:
    def render(pixels: np.ndarray | None, mattes: np.ndarray, index: int) -> list[np.ndarray]:
        return [255 - prep.finish(mattes[0], pixels)]

    return render


SPEC = ExportKind(name=NAME, codecs=("ffv1",), input_format="gray", needs_source=False, prepare=prepare,
                  help="black objects on white (test kind)")
