"""Click encodings (dist_maps) and zoom-in geometry of the f-BRS controller, against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from xmem_tui.interaction.click import crop_resize, map_clicks, object_roi, roi_holds_clicks, roi_iou
from xmem_tui.interaction.dist_maps import NO_CLICK_VALUE, Click, click_maps, click_squares, layout_points


def test_layout_pads_each_polarity_to_the_larger_count() -> None:
    clicks = [Click(1, 2, True), Click(3, 4, False), Click(5, 6, True)]
    points = layout_points([clicks], limit=8)
    expected = [[1, 2], [5, 6], [3, 4], [-1, -1]]
    np.testing.assert_array_equal(points[0], np.asarray(expected, dtype=np.float32))
    assert points.dtype == np.float32


def test_layout_feeds_only_the_first_clicks_but_counts_all() -> None:
    clicks = [Click(i, i, True) for i in range(10)] + [Click(50, 50, False)]
    points = layout_points([clicks], limit=8)
    assert points.shape == (1, 16, 2)
    np.testing.assert_array_equal(points[0, :8, 0], np.arange(8))
    assert (points[0, 8:] == -1).all()  # the negative click is the 11th: not fed


def test_layout_without_clicks_has_one_padded_slot_per_polarity() -> None:
    assert layout_points([[]], limit=8).tolist() == [[[-1, -1], [-1, -1]]]


def test_click_maps_are_tanh_of_scaled_nearest_distance() -> None:
    points = layout_points([[Click(2.4, 3.6, True), Click(9, 1, True), Click(5, 5, False)]], limit=8)
    maps = click_maps(points, 12, 10, norm_radius=4.0)
    assert maps.shape == (1, 2, 12, 10) and maps.dtype == torch.float32
    for r, c in [(0, 0), (2, 4), (7, 9), (11, 0)]:
        d_pos = min(math.hypot(r - 2, c - 4), math.hypot(r - 9, c - 1))  # clicks rounded first
        assert maps[0, 0, r, c].item() == pytest.approx(math.tanh(2 * d_pos / 4.0), abs=1e-6)
        assert maps[0, 1, r, c].item() == pytest.approx(math.tanh(2 * math.hypot(r - 5, c - 5) / 4.0), abs=1e-6)


def test_a_map_without_clicks_is_saturated() -> None:
    maps = click_maps(layout_points([[Click(3, 3, True)]], limit=8), 6, 6)
    expected = math.tanh(2 * math.sqrt(NO_CLICK_VALUE))
    assert torch.all(maps[0, 1] == expected)


def test_click_squares_are_3x3_and_cut_on_the_first_row() -> None:
    pos, neg = click_squares([[Click(4.4, 5.6, True), Click(0, 3, False)]], 8, 9)
    assert pos.shape == (1, 1, 8, 9)
    assert pos[0, 0].nonzero().tolist() == [[r, c] for r in (3, 4, 5) for c in (5, 6, 7)]
    assert neg.sum() == 0  # official slicing quirk: a square starting at row -1 is empty


def test_object_roi_expands_to_at_least_min_size_and_clamps() -> None:
    mask = np.zeros((100, 180), dtype=bool)
    mask[40:60, 80:100] = True
    # bbox rows 40..59 (20 px) -> 200 px around 49.5 -> round(-50.5)=-50, round(149.5)=150 -> clamped
    assert object_roi(mask, [], 1.4, 200) == (0, 99, 0, 179)
    big = np.zeros((1000, 1000), dtype=bool)
    big[100:400, 500:600] = True  # rows 100..399 (300 px -> 420), cols 500..599 (100 px -> 200)
    assert object_roi(big, [], 1.4, 200) == (40, 460, 450, 650)


def test_object_roi_includes_positive_clicks_only() -> None:
    mask = np.zeros((1000, 1000), dtype=bool)
    mask[500, 500] = True
    clicks = [Click(900, 500, True), Click(10, 10, False)]
    rmin, rmax, cmin, cmax = object_roi(mask, clicks, 1.0, 1)
    assert (rmin, rmax, cmin, cmax) == (500, 900, 500, 500)  # round(499.5) = 500, round(900.5) = 900


def test_roi_iou_and_click_containment() -> None:
    assert roi_iou((0, 9, 0, 9), (0, 9, 0, 9)) == 1.0
    assert roi_iou((0, 9, 0, 9), (5, 14, 0, 9)) == pytest.approx(5 / 15)
    assert roi_holds_clicks((0, 10, 0, 10), [Click(5, 5, True), Click(20, 20, False)])
    assert not roi_holds_clicks((0, 10, 0, 10), [Click(10, 5, True)])  # upper bound exclusive (official)


def test_crop_resize_and_click_mapping_use_the_longer_side() -> None:
    image = torch.arange(100 * 180, dtype=torch.float32).reshape(1, 1, 100, 180)
    roi = (0, 99, 0, 179)
    crop = crop_resize(image, roi, 480)
    assert crop.shape[-2:] == (267, 480)  # README section 9
    assert crop[0, 0, 0, 0] == image[0, 0, 0, 0] and crop[0, 0, -1, -1] == image[0, 0, -1, -1]
    (mapped,) = map_clicks([Click(47, 70, True)], roi, (267, 480))
    assert (mapped.row, mapped.col) == pytest.approx((267 * 47 / 100, 480 * 70 / 180))
