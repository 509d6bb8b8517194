"""DAVIS J and F on cases worked out by hand, and F against an independent distance-transform formulation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from xmem_tui.inference.metrics import (
    boundary_map,
    boundary_measure,
    boundary_tolerance,
    disk,
    region_similarity,
    score_sequence,
)


def square(y: int, x: int, side: int = 10, shape: tuple[int, int] = (100, 100)) -> np.ndarray:
    out = np.zeros(shape, dtype=bool)
    out[y:y + side, x:x + side] = True
    return out


def test_identical_masks_score_one() -> None:
    mask = square(10, 10)
    assert region_similarity(mask, mask) == 1.0
    assert boundary_measure(mask, mask) == 1.0


def test_disjoint_masks_score_zero() -> None:
    a, b = square(10, 10), square(60, 60)
    assert region_similarity(a, b) == 0.0
    assert boundary_measure(a, b) == 0.0


def test_empty_masks() -> None:
    empty = np.zeros((20, 30), dtype=bool)
    assert region_similarity(empty, empty) == 1.0 and boundary_measure(empty, empty) == 1.0
    some = square(2, 2, 5, (20, 30))
    assert region_similarity(some, empty) == 0.0 and boundary_measure(some, empty) == 0.0
    assert boundary_measure(empty, some) == 0.0


def test_seg2bmap_of_a_square() -> None:
    """A 10x10 square at rows/cols 10-19: the outer column left of it (rows 9-19), the outer row above it
    (cols 10-19), its own right column (rows 10-19) and its own bottom row (cols 10-18): 40 pixels."""
    b = boundary_map(square(10, 10))
    assert b.sum() == 40
    assert b[9:20, 9].all() and b[9, 10:20].all() and b[10:20, 19].all() and b[19, 10:19].all()


def test_square_shifted_three_pixels_right() -> None:
    """Truth at cols 10-19, prediction at 13-22, both rows 10-19, in a 100x100 image.

    J = 70 / 130. The tolerance is ceil(0.008 * hypot(100, 100)) = 2 px. Prediction boundary (40 px):
    its left outer column (col 12, rows 9-19) lies within 2 px of the truth's top/bottom edges at rows
    9-11 and 17-19 only: 6; its top row (row 9, cols 13-22) matches up to col 21: 9; its right column
    (col 22) is 3 px from everything: 0; its bottom row (row 19, cols 13-21) all: 9. Precision 24/40.
    Truth boundary: left column (col 9) 0 of 11, top row 10 of 10, right column (col 19) rows 10, 11,
    17-19: 5 of 10, bottom row 9 of 9. Recall 24/40. F = 0.6.
    """
    truth, pred = square(10, 10), square(10, 13)
    assert boundary_tolerance(truth.shape) == 2
    assert region_similarity(pred, truth) == pytest.approx(70 / 130)
    assert boundary_measure(pred, truth) == pytest.approx(0.6)


def test_disk_is_scikit_images() -> None:
    assert disk(1).tolist() == [[0, 1, 0], [1, 1, 1], [0, 1, 0]]
    assert disk(2).sum() == 13


def _f_by_distance(pred: np.ndarray, gt: np.ndarray, tol: int) -> float:
    """The same measure written with Euclidean distance transforms instead of disk dilations."""
    pb, gb = boundary_map(pred), boundary_map(gt)
    near_gt = ndimage.distance_transform_edt(~gb) <= tol
    near_pred = ndimage.distance_transform_edt(~pb) <= tol
    precision, recall = (pb & near_gt).sum() / pb.sum(), (gb & near_pred).sum() / gb.sum()
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


@pytest.mark.parametrize("seed", range(4))
def test_f_agrees_with_distance_transform_formulation(seed: int) -> None:
    rng = np.random.default_rng(seed)
    gt = ndimage.binary_opening(ndimage.gaussian_filter(rng.random((120, 160)), 6) > 0.5, iterations=2)
    pred = np.roll(gt, (int(rng.integers(-6, 7)), int(rng.integers(-6, 7))), axis=(0, 1))
    pred ^= rng.random(gt.shape) < 0.01
    tol = boundary_tolerance(gt.shape)
    assert boundary_measure(pred, gt) == pytest.approx(_f_by_distance(pred, gt, tol))


def test_sequence_skips_first_and_last_frames() -> None:
    truth = [square(10, 10)] * 5
    preds = [np.zeros((100, 100), bool), square(10, 10), square(10, 13), square(10, 10), np.zeros((100, 100), bool)]
    score = score_sequence(preds, truth)
    assert score.frames == (1, 2, 3)
    assert score.j_mean == pytest.approx((1 + 70 / 130 + 1) / 3)
    assert score.f_mean == pytest.approx((1 + 0.6 + 1) / 3)
    assert score.jf == pytest.approx((score.j_mean + score.f_mean) / 2)
    assert score.worst_frame == 2


def test_shapes_must_agree() -> None:
    with pytest.raises(ValueError, match="differ in shape"):
        region_similarity(np.zeros((4, 4), bool), np.zeros((4, 5), bool))
