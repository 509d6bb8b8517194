"""Click encodings of the f-BRS network: point layout, distance maps and the click squares of its loss.

The network does not see clicks as points but as two maps (positive, negative) that grow from 0 at a click to
1 far from it: tanh(2 * d / 260) with d the Euclidean distance to the nearest click of that polarity. The
official code computes d^2 / 260^2 with a 4-connected flood fill from the (rounded) clicks; the flood fill
returns the exact nearest-click distance whenever each click's Voronoi cell is 4-connected on the pixel grid
(always for up to two clicks per polarity, practically always beyond), so the distance is computed directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

#: Distance (pixels) at which a click's influence saturates; the demo builds the model with 260.
NORM_RADIUS = 260.0
#: Value of a map that has no click (before the tanh), as in the official code.
NO_CLICK_VALUE = 1e6


@dataclass(frozen=True)
class Click:
    """A click in (row, col) image coordinates; coordinates may be fractional after zooming."""

    row: float
    col: float
    positive: bool


def layout_points(click_lists: Sequence[Sequence[Click]], limit: int) -> np.ndarray:
    """Official point tensor (B, 2n, 2) float32: [positives padded with (-1, -1) to n, negatives likewise].

    n = max(#positives, #negatives) over all lists (counted on all clicks), capped at ``limit`` and at least 1;
    only the first ``limit`` clicks of each list are placed.
    """
    counts = [sum(c.positive for c in clicks) for clicks in click_lists]
    counts += [len(clicks) - n for clicks, n in zip(click_lists, counts, strict=True)]
    n = max(1, min(limit, max(counts)))
    out = np.full((len(click_lists), 2 * n, 2), -1.0, dtype=np.float32)
    for b, clicks in enumerate(click_lists):
        used = clicks[:limit]
        for offset, polarity in ((0, True), (n, False)):
            coords = [(c.row, c.col) for c in used if c.positive == polarity][:n]
            if coords:
                out[b, offset:offset + len(coords)] = np.asarray(coords, dtype=np.float32)
    return out


def _squared_distance_map(points: np.ndarray, height: int, width: int) -> np.ndarray:
    """Per pixel, the squared distance to the nearest valid (row >= 0) rounded point; inf without points."""
    valid = points[points[:, 0] >= 0]
    if len(valid) == 0:
        return np.full((height, width), np.inf)
    rounded = np.floor(valid.astype(np.float64) + 0.5)
    rows = (np.arange(height)[None, :] - rounded[:, :1]) ** 2
    cols = (np.arange(width)[None, :] - rounded[:, 1:]) ** 2
    return (rows[:, :, None] + cols[:, None, :]).min(axis=0)


def click_maps(points: np.ndarray, height: int, width: int, norm_radius: float = NORM_RADIUS) -> Tensor:
    """(B, 2, H, W) float32 features tanh(2 * sqrt(d^2 / r^2)) from a :func:`layout_points` array."""
    batch, total, _ = points.shape
    half = total // 2
    maps = np.empty((batch, 2, height, width), dtype=np.float32)
    for b in range(batch):
        for layer in range(2):
            sq = _squared_distance_map(points[b, layer * half:(layer + 1) * half], height, width)
            value = sq / (norm_radius * norm_radius)
            maps[b, layer] = np.where(np.isinf(value), NO_CLICK_VALUE, value)
    return torch.from_numpy(maps).sqrt_().mul_(2).tanh_()


def click_squares(click_lists: Sequence[Sequence[Click]], height: int, width: int,
                  radius: int = 1) -> tuple[Tensor, Tensor]:
    """Positive and negative loss masks (B, 1, H, W): a (2r+1)^2 square around each rounded click.

    Rounding is Python's (half to even) and the square is cut with plain slicing, as officially: a click on
    the first row or column therefore gets an empty square (its start index -1 wraps around).
    """
    pos = np.zeros((len(click_lists), 1, height, width), dtype=np.float32)
    neg = np.zeros_like(pos)
    for b, clicks in enumerate(click_lists):
        for click in clicks:
            r, c = round(click.row), round(click.col)
            target = pos if click.positive else neg
            target[b, 0, r - radius:r + radius + 1, c - radius:c + radius + 1] = 1
    return torch.from_numpy(pos), torch.from_numpy(neg)
