"""The masks of the frame being edited and how each tool changes them (no window, no workspace).

One :class:`FrameEdit` exists per displayed frame. It holds the frame's image at processing resolution,
its index mask and (lazily) its soft masks, and the state of the interactive sessions that span several
user actions: a click session (f-BRS / GrabCut refine one object from all clicks since the session began)
and a scribble session (S2M / GrabCut see every scribble drawn on this frame since it began). Any other
change (a brush stroke, undo, a mask written by a propagation job) ends both sessions, because their
segmenters would otherwise refine a mask the user no longer sees.

Every tool returns the new ``(index, soft)`` pair; the controller saves it and hands it back with
:meth:`FrameEdit.replace`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from xmem_tui.interaction import compose, freehand
from xmem_tui.interaction.base import NO_SCRIBBLE, ClickSegmenter, ScribbleSegmenter

Point = tuple[int, int]


def processing_image(frame: np.ndarray, shape: tuple[int, int], size: int) -> np.ndarray:
    """``frame`` at the workspace's processing resolution ``shape`` (h, w), where masks live."""
    from xmem_tui.media.resize import to_processing

    image = to_processing(frame, size)
    if image.shape[:2] != shape:  # a workspace made with another processing size keeps its own
        image = cv2.resize(frame, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(image)


@dataclass
class ClickSession:
    """Clicks on one object of one frame, and the masks as they were before the first click."""

    label: int
    base_index: np.ndarray
    base_soft: np.ndarray | None
    clicks: list[tuple[int, int, bool]] = field(default_factory=list)


class FrameEdit:
    """Masks of one frame plus its interaction sessions.

    Args:
        load_image: returns the frame as uint8 RGB (h, w, 3) at processing resolution.
        index: uint8 (h, w) index mask (zeros when the frame has none yet).
        load_soft: returns the stored soft masks (or None).

    The image and the soft masks are only made when an edit needs them, so stepping or playing through
    frames costs one decode and one mask read per frame.
    """

    def __init__(self, load_image: Callable[[], np.ndarray], index: np.ndarray,
                 load_soft: Callable[[], np.ndarray | None]) -> None:
        self._load_image = load_image
        self._image: np.ndarray | None = None
        self.index = index
        self._load_soft = load_soft
        self._soft: np.ndarray | None = None
        self._soft_loaded = False
        self.click: ClickSession | None = None
        self.scribbles: np.ndarray | None = None

    @property
    def image(self) -> np.ndarray:
        if self._image is None:
            self._image = self._load_image()
        return self._image

    @property
    def shape(self) -> tuple[int, int]:
        return self.index.shape[0], self.index.shape[1]

    @property
    def soft(self) -> np.ndarray | None:
        if not self._soft_loaded:
            self._soft = self._load_soft()
            self._soft_loaded = True
        return self._soft

    def replace(self, index: np.ndarray, soft: np.ndarray | None, *, keep_sessions: bool = False) -> None:
        """Adopt new masks (after a save, an undo or a reload from disk); ``soft=None`` re-reads it lazily."""
        self.index = index
        self._soft = soft
        self._soft_loaded = soft is not None
        if not keep_sessions:
            self.end_sessions()

    def end_sessions(self) -> None:
        self.click = None
        self.scribbles = None

    def num_objects(self, *labels: int) -> int:
        """K for soft masks: enough channels for every label present, stored or about to be written."""
        soft = self.soft
        stored = soft.shape[0] if soft is not None else 0
        return max(1, int(self.index.max()), stored, *labels)

    # ------------------------------------------------------------------ tools
    def add_click(self, segmenter: ClickSegmenter, x: int, y: int, positive: bool,
                  label: int) -> tuple[np.ndarray, np.ndarray]:
        """A click on object ``label`` (1..K): the object is re-segmented from every click of the session."""
        if self.click is None or self.click.label != label:
            self.scribbles = None
            self.click = ClickSession(label, self.index.copy(), None if self.soft is None else self.soft.copy())
            segmenter.set_image(self.image)
        self.click.clicks.append((x, y, positive))
        prob = segmenter.add_click(x, y, positive)
        k = max(self.num_objects(label), int(self.click.base_index.max()))
        return compose.apply_click(self.click.base_index, self.click.base_soft, prob, label, k)

    def add_scribble(self, segmenter: ScribbleSegmenter, points: Sequence[Point], radius: int,
                     label: int) -> tuple[np.ndarray, np.ndarray]:
        """A scribble of ``label`` (0 = background) refines every object from all scribbles of the session."""
        self.click = None
        if self.scribbles is None:
            self.scribbles = np.full(self.shape, NO_SCRIBBLE, dtype=np.uint8)
        self.scribbles = freehand.scribble(self.scribbles, points, radius, label)
        k = self.num_objects(label)
        probs = segmenter.interact(self.image, self.index, self.scribbles, k)
        return compose.apply_scribble(probs)

    def paint(self, region: np.ndarray, label: int, positive: bool) -> tuple[np.ndarray, np.ndarray]:
        """Brush or lasso ``region`` (bool (h, w)): positive writes ``label`` (0 erases everything), negative
        erases only object ``label`` (everything when ``label`` is 0)."""
        self.end_sessions()
        if not positive:
            if label:
                region = region & (self.index == label)
            label = 0
        return compose.apply_paint(self.index, self.soft, region, label, self.num_objects(label))

    def brush(self, points: Sequence[Point], radius: int, label: int, positive: bool) -> tuple[np.ndarray, np.ndarray]:
        return self.paint(freehand.stroke_mask(self.shape, points, radius), label, positive)

    def lasso(self, points: Sequence[Point], label: int, positive: bool) -> tuple[np.ndarray, np.ndarray]:
        return self.paint(freehand.lasso_mask(self.shape, points), label, positive)
