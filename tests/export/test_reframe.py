"""Reframe crop planning: window size, following, smoothing, clamping, gaps."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from xmem_tui.export.errors import ExportError
from xmem_tui.export.reframe import crop_size, object_center, parse_aspect, parse_size, plan_crops


def test_window_is_the_largest_of_the_aspect() -> None:
    assert crop_size(1920, 1080, Fraction(9, 16)) == (606, 1080)
    assert crop_size(1080, 1920, Fraction(16, 9)) == (1080, 606)
    assert parse_aspect("9:16") == Fraction(9, 16) and parse_size("1080x1920") == (1080, 1920)
    for bad in ("9-16", "0:1"):
        with pytest.raises(ExportError):
            parse_aspect(bad)
    with pytest.raises(ExportError):
        parse_size("1081x1920")


def test_object_center() -> None:
    matte = np.zeros((10, 20), np.uint8)
    assert object_center(matte) is None
    matte[2:4, 5:9] = 255
    assert object_center(matte) == (7.0, 3.0)


def test_crop_follows_and_is_clamped() -> None:
    centers = [(100.0 + 10 * i, 50.0) for i in range(30)]
    plan = plan_crops(centers, (400, 200), (112, 200), smooth=0)
    assert plan[0] == (44, 0) and plan[10] == (144, 0)
    plan = plan_crops([(5.0, 5.0)] * 5 + [(395.0, 5.0)] * 5, (400, 200), (112, 200), smooth=0)
    assert plan[0] == (0, 0) and plan[-1] == (288, 0)  # never outside the frame


def test_smoothing_removes_jitter_and_gaps_hold_position() -> None:
    jitter = [(200.0 + (15 if i % 2 else -15), 100.0) for i in range(40)]
    raw = [x for x, _ in plan_crops(jitter, (400, 200), (112, 200), smooth=0)]
    smooth = [x for x, _ in plan_crops(jitter, (400, 200), (112, 200), smooth=4)]
    assert np.ptp(raw[10:30]) >= 30 and np.ptp(smooth[10:30]) <= 2
    gaps = [None, None, (300.0, 100.0), None, (300.0, 100.0), None]
    assert {x for x, _ in plan_crops(gaps, (400, 200), (112, 200), smooth=0)} == {244}
    assert {x for x, _ in plan_crops([None] * 3, (400, 200), (112, 200))} == {144}
