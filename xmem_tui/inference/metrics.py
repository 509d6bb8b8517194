"""Segmentation quality against ground truth, exactly as the DAVIS benchmark measures it.

J is region similarity (intersection over union); F is the boundary F-measure: boundaries are extracted
with the benchmark's ``seg2bmap`` rule and a boundary pixel counts as matched when the other mask's
boundary lies within ``ceil(0.008 * image diagonal)`` pixels, tested by dilating with a disk of that
radius. A sequence is scored on its frames except the first (the given mask) and the last, as the
DAVIS evaluation toolkits do; J&F is the mean of the sequence's mean J and mean F. Comparable numbers
are what make a claim like "0.6 J&F" mean the same as in the papers, so nothing here is approximated.

Used by ``bench/davis.py`` and its CI case; numpy and OpenCV only (no torch).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

#: The DAVIS boundary tolerance, as a fraction of the image diagonal.
BOUND_TH = 0.008


def region_similarity(pred: np.ndarray, gt: np.ndarray) -> float:
    """J: IoU of two boolean masks; 1 when both are empty (nothing to find, nothing found)."""
    pred, gt = _check(pred, gt)
    union = np.count_nonzero(pred | gt)
    return 1.0 if union == 0 else np.count_nonzero(pred & gt) / union


def boundary_map(mask: np.ndarray) -> np.ndarray:
    """The DAVIS ``seg2bmap`` boundary of a boolean mask: a pixel whose right, lower or lower-right
    neighbour differs from it (the last row compares rightwards only, the last column downwards only,
    the bottom-right corner is never a boundary)."""
    seg = np.asarray(mask, dtype=bool)
    east, south, south_east = np.zeros_like(seg), np.zeros_like(seg), np.zeros_like(seg)
    east[:, :-1] = seg[:, 1:]
    south[:-1, :] = seg[1:, :]
    south_east[:-1, :-1] = seg[1:, 1:]
    bmap = (seg ^ east) | (seg ^ south) | (seg ^ south_east)
    bmap[-1, :] = seg[-1, :] ^ east[-1, :]
    bmap[:, -1] = seg[:, -1] ^ south[:, -1]
    bmap[-1, -1] = False
    return bmap


def disk(radius: int) -> np.ndarray:
    """uint8 disk structuring element of ``radius`` (scikit-image's ``disk``: x² + y² <= r²)."""
    r = np.arange(-radius, radius + 1)
    return (r[:, None] ** 2 + r[None, :] ** 2 <= radius ** 2).astype(np.uint8)


def boundary_tolerance(shape: tuple[int, ...], bound_th: float = BOUND_TH) -> int:
    """Match distance in pixels: ``bound_th`` itself when >= 1, else that fraction of the diagonal, rounded up."""
    return int(bound_th) if bound_th >= 1 else math.ceil(bound_th * math.hypot(shape[0], shape[1]))


def boundary_measure(pred: np.ndarray, gt: np.ndarray, bound_th: float = BOUND_TH) -> float:
    """F: the boundary F-measure of ``pred`` against ``gt`` (boolean masks of one shape).

    Precision is the fraction of the prediction's boundary pixels within the tolerance of the truth's
    boundary, recall the converse. An empty boundary on one side only scores 0, on both sides 1.
    """
    pred, gt = _check(pred, gt)
    pred_b, gt_b = boundary_map(pred), boundary_map(gt)
    n_pred, n_gt = np.count_nonzero(pred_b), np.count_nonzero(gt_b)
    if n_pred == 0 or n_gt == 0:
        return 1.0 if n_pred == n_gt else 0.0
    kernel = disk(boundary_tolerance(gt.shape, bound_th))
    pred_near = cv2.dilate(pred_b.view(np.uint8), kernel).astype(bool)
    gt_near = cv2.dilate(gt_b.view(np.uint8), kernel).astype(bool)
    precision = np.count_nonzero(pred_b & gt_near) / n_pred
    recall = np.count_nonzero(gt_b & pred_near) / n_gt
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def _check(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if pred.shape != gt.shape:
        raise ValueError(f"prediction {pred.shape} and ground truth {gt.shape} differ in shape")
    return np.asarray(pred, dtype=bool), np.asarray(gt, dtype=bool)


@dataclass(frozen=True)
class SequenceScore:
    """Per-frame J and F of one object over one sequence.

    Attributes:
        frames: the frame indices scored (all but the first and the last).
        j: region similarity per scored frame.
        f: boundary measure per scored frame.
    """

    frames: tuple[int, ...]
    j: tuple[float, ...]
    f: tuple[float, ...]

    @property
    def j_mean(self) -> float:
        return float(np.mean(self.j)) if self.j else float("nan")

    @property
    def f_mean(self) -> float:
        return float(np.mean(self.f)) if self.f else float("nan")

    @property
    def jf(self) -> float:
        """J&F of the sequence: the mean of its mean J and mean F."""
        return (self.j_mean + self.f_mean) / 2

    @property
    def worst_frame(self) -> int | None:
        """The scored frame with the lowest J (the earliest on ties), None when nothing was scored."""
        return self.frames[int(np.argmin(self.j))] if self.j else None


def score_sequence(preds: list[np.ndarray], gts: list[np.ndarray], bound_th: float = BOUND_TH) -> SequenceScore:
    """J and F of a whole sequence of boolean masks (frame 0 is the given mask: it and the last are skipped)."""
    if len(preds) != len(gts):
        raise ValueError(f"{len(preds)} predicted masks for {len(gts)} ground-truth masks")
    frames = tuple(range(1, len(gts) - 1))
    return SequenceScore(frames=frames, j=tuple(region_similarity(preds[i], gts[i]) for i in frames),
                         f=tuple(boundary_measure(preds[i], gts[i], bound_th) for i in frames))
