"""Display geometry: which part of the frame the window shows, at which scale, and exact coordinate mapping.

Three pixel grids meet in the window: the *source* frame (e.g. 1920x1080), the *mask* grid at processing
resolution (e.g. 853x480, where masks are stored and segmenters run) and the *display* canvas (the frame
scaled to fit ``annotate.max_width/max_height``, so little is sent over ``ssh -X``). The canvas size
never changes; zooming shows a smaller part of the source in it.

Convention: pixel ``i`` covers the continuous interval ``[i, i + 1)``. A display pixel's centre is mapped
to the source and then to the mask grid, and the pixel containing it is the answer. Clicks
(:meth:`Viewport.to_mask`) and the drawn mask (:meth:`Viewport.mask_lookup`, used by the renderer) apply
that rule through one function, :func:`_mask_index`, so the mask pixel drawn under the cursor is the one a
click edits by construction, whatever rounding an OpenCV release uses for its resampling. The same
convention gives the affine matrices used to draw the frame and the contours (``cv2.warpAffine`` puts pixel
centres at integer coordinates, hence the half-pixel terms).
"""

from __future__ import annotations

import math

import numpy as np


def _mask_index(display: np.ndarray, scale: float, origin: float, ratio: float, size: int) -> np.ndarray:
    """Mask pixel under the centre of each display pixel along one axis, clamped to ``[0, size)``.

    Args:
        display: display pixel indices (any shape).
        scale: display pixels per source pixel on this axis.
        origin: source coordinate at the canvas' edge.
        ratio: mask pixels per source pixel on this axis.
        size: mask size on this axis.
    """
    source = (np.asarray(display, dtype=np.float64) + 0.5) / scale + origin
    return np.clip(np.floor(source * ratio), 0, size - 1).astype(np.intp)


#: Zoom scales (display pixels per source pixel) offered above the fit scale; 1.0 is the 1:1 detail view.
ZOOM_STEPS = (0.25, 0.5, 1.0, 2.0, 4.0)


class Viewport:
    """Scale and origin of the displayed part of the frame.

    Args:
        source_size: (width, height) of source frames.
        mask_size: (width, height) of the mask grid (processing resolution).
        max_size: (width, height) the canvas may take at most.
        min_size: (width, height) a small frame is scaled up towards: it grows until it reaches one of
            them (a 320x240 clip is shown at 800x600, not in a window too small for its status bar).
    """

    def __init__(self, source_size: tuple[int, int], mask_size: tuple[int, int], max_size: tuple[int, int],
                 min_size: tuple[int, int] = (0, 0)) -> None:
        self.src_w, self.src_h = source_size
        self.mask_w, self.mask_h = mask_size
        shrink = min(max_size[0] / self.src_w, max_size[1] / self.src_h)
        grow = min(min_size[0] / self.src_w, min_size[1] / self.src_h)
        self.fit_scale = min(shrink, max(grow, 1.0))
        self.width = max(1, round(self.src_w * self.fit_scale))
        self.height = max(1, round(self.src_h * self.fit_scale))
        self.levels = (self.fit_scale, *(z for z in ZOOM_STEPS if z > self.fit_scale * 1.01))
        self.level = 0
        self.ox = 0.0  # source coordinate shown at the canvas' left edge
        self.oy = 0.0
        self._lookup: tuple[tuple[int, float, float], np.ndarray, np.ndarray] | None = None

    @property
    def scale(self) -> float:
        """Display pixels per source pixel in both directions (exact fit: see :meth:`_axis_scale`)."""
        return self.levels[self.level]

    @property
    def fitted(self) -> bool:
        return self.level == 0

    def _axis_scales(self) -> tuple[float, float]:
        # At fit level the canvas is the whole frame; rounding the canvas size makes x and y scales differ
        # by a hair, and using each axis' exact ratio keeps the edges aligned.
        if self.fitted:
            return self.width / self.src_w, self.height / self.src_h
        return self.scale, self.scale

    def key(self) -> tuple[int, float, float]:
        """Hashable state, for render caches."""
        return self.level, self.ox, self.oy

    # ------------------------------------------------------------------ mapping
    def to_source(self, dx: float, dy: float) -> tuple[float, float]:
        """Continuous source coordinates of the centre of display pixel (dx, dy)."""
        sx, sy = self._axis_scales()
        return (dx + 0.5) / sx + self.ox, (dy + 0.5) / sy + self.oy

    def _axis_index(self, display: np.ndarray, axis: int) -> np.ndarray:
        scales = self._axis_scales()
        if axis == 0:
            return _mask_index(display, scales[0], self.ox, self.mask_w / self.src_w, self.mask_w)
        return _mask_index(display, scales[1], self.oy, self.mask_h / self.src_h, self.mask_h)

    def to_mask(self, dx: int, dy: int) -> tuple[int, int]:
        """The mask pixel (column, row) under display pixel (dx, dy), clamped to the mask."""
        return int(self._axis_index(np.array(dx), 0)), int(self._axis_index(np.array(dy), 1))

    def mask_lookup(self) -> tuple[np.ndarray, np.ndarray]:
        """Mask column under each canvas column and mask row under each canvas row (the rule of :meth:`to_mask`).

        The view is axis-aligned, so the 2-D resampling is separable: the renderer draws the mask as
        ``mask[rows][:, cols]``. Cached until the view changes.
        """
        if self._lookup is None or self._lookup[0] != self.key():
            cols = self._axis_index(np.arange(self.width), 0)
            rows = self._axis_index(np.arange(self.height), 1)
            self._lookup = (self.key(), cols, rows)
        return self._lookup[1], self._lookup[2]

    def mask_to_display(self, mx: float, my: float) -> tuple[int, int]:
        """Display pixel showing the centre of mask pixel (mx, my) (for drawing markers and strokes)."""
        sx, sy = self._axis_scales()
        x = (mx + 0.5) * self.src_w / self.mask_w
        y = (my + 0.5) * self.src_h / self.mask_h
        return math.floor((x - self.ox) * sx), math.floor((y - self.oy) * sy)

    def display_per_mask(self) -> float:
        """Display pixels per mask pixel horizontally (to draw a brush of a mask-pixel radius)."""
        return self._axis_scales()[0] * self.src_w / self.mask_w

    def inside(self, dx: int, dy: int) -> bool:
        return 0 <= dx < self.width and 0 <= dy < self.height

    def source_matrix(self) -> np.ndarray:
        """2x3 affine matrix from source pixel coordinates to display pixel coordinates (cv2 convention)."""
        sx, sy = self._axis_scales()
        return np.array([[sx, 0.0, (0.5 - self.ox) * sx - 0.5],
                         [0.0, sy, (0.5 - self.oy) * sy - 0.5]], dtype=np.float64)

    def mask_matrix(self) -> np.ndarray:
        """2x3 affine matrix from mask pixel coordinates to display pixel coordinates (cv2 convention)."""
        sx, sy = self._axis_scales()
        rx, ry = self.src_w / self.mask_w, self.src_h / self.mask_h
        return np.array([[rx * sx, 0.0, (0.5 * rx - self.ox) * sx - 0.5],
                         [0.0, ry * sy, (0.5 * ry - self.oy) * sy - 0.5]], dtype=np.float64)

    # ------------------------------------------------------------------ zoom and pan
    def zoom(self, steps: int, dx: int, dy: int) -> bool:
        """Zoom by ``steps`` levels keeping the source point under display pixel (dx, dy) in place.

        Returns:
            True if the view changed.
        """
        level = min(max(self.level + steps, 0), len(self.levels) - 1)
        if level == self.level:
            return False
        x, y = self.to_source(dx, dy)
        self.level = level
        if self.fitted:
            self.ox = self.oy = 0.0
            return True
        sx, sy = self._axis_scales()
        self.ox = x - (dx + 0.5) / sx
        self.oy = y - (dy + 0.5) / sy
        self._clamp()
        return True

    def pan(self, ddx: float, ddy: float) -> bool:
        """Move the view by a drag of (ddx, ddy) display pixels; returns True if it moved."""
        if self.fitted:
            return False
        before = (self.ox, self.oy)
        self.ox -= ddx / self.scale
        self.oy -= ddy / self.scale
        self._clamp()
        return (self.ox, self.oy) != before

    def _clamp(self) -> None:
        """Keep the canvas inside the frame (or centred on it when the frame is smaller than the canvas)."""
        for axis, size, canvas in (("ox", self.src_w, self.width), ("oy", self.src_h, self.height)):
            shown = canvas / self.scale
            value = getattr(self, axis)
            value = (size - shown) / 2 if shown >= size else min(max(value, 0.0), size - shown)
            setattr(self, axis, float(value))
