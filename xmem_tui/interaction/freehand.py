"""Free-hand painting: round brush strokes and lasso fills on index masks and scribble maps.

The annotation window records mouse positions; a fast drag delivers points far apart, so a stroke is
drawn as discs at every point joined by the rectangles between them (together: the convex hull of each
pair of equal discs), which leaves no gaps whatever the drag speed. The same drawing makes S2M/GrabCut
scribble maps, so what the user sees painted is exactly what the segmenter receives. Everything here is a
pure function on numpy arrays: the window owns the events, these functions own the pixels. cv2 is used for
rasterising only (no highgui).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import cv2
import numpy as np

#: A point in image coordinates: (x = column, y = row); floats are rounded to the nearest pixel.
Point = tuple[float, float]


def _as_int_points(points: Sequence[Point]) -> np.ndarray:
    array = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return np.rint(array).astype(np.int32)


def stroke_mask(shape: tuple[int, int], points: Sequence[Point], radius: int) -> np.ndarray:
    """Pixels covered by a round brush of ``radius`` dragged through ``points``.

    Args:
        shape: (H, W) of the image.
        points: the stroke's mouse positions (x, y) in order; one point makes a dot.
        radius: brush radius in pixels (0 paints single pixels along the path).

    Returns:
        bool (H, W), True where the brush passed.
    """
    h, w = shape
    canvas = np.zeros((h, w), dtype=np.uint8)
    pts = _as_int_points(points)
    if len(pts) == 0:
        return canvas.astype(bool)
    radius = max(int(radius), 0)
    for x, y in pts:
        cv2.circle(canvas, (int(x), int(y)), radius, 1, thickness=-1, lineType=cv2.LINE_8)
    # Between consecutive points the brush sweeps the rectangle joining the two discs' diameters, so the
    # stroke is the exact union of discs along the path even when the points are far apart.
    for p, q in itertools.pairwise(pts.astype(np.float64)):
        d = q - p
        length = float(np.hypot(*d))
        if length == 0:
            continue
        n = np.array([-d[1], d[0]]) / length * radius
        corners = np.array([p + n, q + n, q - n, p - n])
        cv2.fillConvexPoly(canvas, np.rint(corners).astype(np.int32), 1, lineType=cv2.LINE_8)
    return canvas.astype(bool)


def lasso_mask(shape: tuple[int, int], polygon: Sequence[Point]) -> np.ndarray:
    """Pixels inside (and on the outline of) the closed polygon ``polygon``.

    Fewer than three points enclose no area; the outline itself is still returned so a tiny lasso is not
    silently lost.
    """
    h, w = shape
    canvas = np.zeros((h, w), dtype=np.uint8)
    pts = _as_int_points(polygon)
    if len(pts) == 0:
        return canvas.astype(bool)
    if len(pts) >= 3:
        cv2.fillPoly(canvas, [pts.reshape(-1, 1, 2)], 1, lineType=cv2.LINE_8)
    cv2.polylines(canvas, [pts.reshape(-1, 1, 2)], isClosed=True, color=1, thickness=1, lineType=cv2.LINE_8)
    return canvas.astype(bool)


def paint(mask: np.ndarray, region: np.ndarray, label: int) -> np.ndarray:
    """A copy of index ``mask`` with ``region`` set to ``label`` (0 erases whatever object was there).

    One label per pixel is kept by construction: painting object k over object j takes the pixels from j.
    """
    if not 0 <= label <= 255:
        raise ValueError(f"label {label} is outside 0..255")
    out = np.array(mask, dtype=np.uint8, copy=True)
    out[region] = label
    return out


def brush(mask: np.ndarray, points: Sequence[Point], radius: int, label: int) -> np.ndarray:
    """Paint a round-brush stroke of ``label`` (0 = eraser) on an index mask; returns a new mask."""
    return paint(mask, stroke_mask(mask.shape[:2], points, radius), label)


def lasso(mask: np.ndarray, polygon: Sequence[Point], label: int) -> np.ndarray:
    """Fill a lasso polygon with ``label`` (0 = eraser) on an index mask; returns a new mask."""
    return paint(mask, lasso_mask(mask.shape[:2], polygon), label)


def scribble(scribbles: np.ndarray, points: Sequence[Point], radius: int, label: int) -> np.ndarray:
    """Add a stroke to a scribble map (255 = none, 0 = background, k = object k); returns a new map."""
    return paint(scribbles, stroke_mask(scribbles.shape[:2], points, radius), label)
