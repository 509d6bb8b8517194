"""The quality signals of a propagation, frame by frame, as its masks are written.

A propagation (and ``bench/davis.py``'s evaluation of one) measures each frame it makes against the
frame before it in propagation order (jumps) and against the nearest annotated frame it started from
or passed (colour agreement, :mod:`xmem_tui.inference.appearance`). :class:`QualityMeter` keeps both
references so the two callers measure exactly the same way.
"""

from __future__ import annotations

import numpy as np

from xmem_tui.inference.appearance import ColourAgreement
from xmem_tui.inference.quality import FrameSignals, frame_signals


class QualityMeter:
    """Measures propagated frames; :meth:`anchor` it on every annotated frame the run starts from or reaches.

    Args:
        labels: the objects the run tracks.
        run: the run id stored with the signals.
    """

    def __init__(self, labels: list[int], run: str | None = None) -> None:
        self.labels = list(labels)
        self.run = run
        self._colours: ColourAgreement | None = None
        self._anchor: int | None = None
        self._prev: tuple[int, np.ndarray] | None = None

    def anchor(self, frame: int, image: np.ndarray, index: np.ndarray) -> None:
        """An annotated frame (the user's mask): later frames' colours are compared with it."""
        self._colours = ColourAgreement(image, index, self.labels)
        self._anchor = frame
        self._prev = (frame, index)

    def follow(self, frame: int, index: np.ndarray) -> None:
        """A frame passed without measuring it (a resumed run's last written frame): the next one's previous."""
        self._prev = (frame, index)

    def measure(self, frame: int, image: np.ndarray, index: np.ndarray, soft: np.ndarray | None) -> FrameSignals:
        """Signals of a propagated frame (image uint8 RGB, index and soft masks at one resolution)."""
        prev_frame, prev_index = self._prev if self._prev is not None else (None, None)
        colour = None
        if self._colours is not None:
            ref = self._colours.reference  # every object with a colour model has a reference
            colour = {k: (v, ref[k]) for k, v in self._colours.agreement(image, index).items()}
        self._prev = (frame, index)
        return frame_signals(frame, index, soft, self.labels, prev_index, prev_frame, self.run,
                             colour=colour, anchor=self._anchor)
