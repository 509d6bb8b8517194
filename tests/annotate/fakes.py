"""Segmenter stand-ins for controller tests.

They are deliberately simple (discs around clicks, the scribbled pixels themselves), so the tests check
what the window does with a segmenter's answer, not the segmenter.
"""

from __future__ import annotations

import numpy as np

CLICK_RADIUS = 20


class DiscClicks:
    """Click segmenter stand-in: the object is the union of discs around positive clicks minus negative ones."""

    name = "fake-click"
    weight_free = True

    def __init__(self) -> None:
        self.image: np.ndarray | None = None
        self.clicks: list[tuple[int, int, bool]] = []
        self.sessions = 0

    def set_image(self, image: np.ndarray) -> None:
        self.image, self.clicks = image, []
        self.sessions += 1

    def add_click(self, x: int, y: int, positive: bool) -> np.ndarray:
        assert self.image is not None, "set_image must come first"
        self.clicks.append((x, y, positive))
        h, w = self.image.shape[:2]
        yy, xx = np.mgrid[:h, :w]
        prob = np.zeros((h, w), np.float32)
        for cx, cy, pos in self.clicks:
            prob[(xx - cx) ** 2 + (yy - cy) ** 2 <= CLICK_RADIUS**2] = 1.0 if pos else 0.0
        return prob

    def reset(self) -> None:
        self.clicks = []


class PaintScribbles:
    """Scribble segmenter stand-in: each object is its previous pixels plus its scribbled pixels."""

    name = "fake-scribble"
    weight_free = False

    def interact(self, image: np.ndarray, prev_mask: np.ndarray, scribbles: np.ndarray,
                 num_objects: int) -> np.ndarray:
        index = prev_mask.copy()
        drawn = scribbles != 255
        index[drawn] = scribbles[drawn]
        return np.stack([(index == k).astype(np.float32) for k in range(1, num_objects + 1)])
