from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xmem_tui.media.timeline import Timeline, is_vfr

time_bases = st.sampled_from([Fraction(1, 1000), Fraction(1, 90000), Fraction(1, 12800), Fraction(1001, 30000),
                              Fraction(1, 24)])
increasing_pts = st.lists(st.integers(1, 5000), min_size=1, max_size=200).flatmap(
    lambda gaps: st.integers(-1000, 100000).map(lambda start: [start + sum(gaps[:i]) for i in range(len(gaps))]))


@given(pts=increasing_pts, tb=time_bases)
def test_index_and_timestamp_roundtrip(pts, tb):
    t = Timeline(tuple(pts), tb)
    assert t.frame_count == len(pts)
    for i, p in enumerate(pts):
        assert t.index_of_pts(p) == i
        assert t.index_at(t.timestamps_s[i]) == i
        assert t.timestamps_s[i] == pytest.approx(float(p * tb), rel=1e-12, abs=1e-12)


@given(pts=increasing_pts, tb=time_bases, x=st.floats(-1e4, 1e4, allow_nan=False))
def test_index_at_is_nearest(pts, tb, x):
    t = Timeline(tuple(pts), tb)
    i = t.index_at(x)
    best = min(abs(ts - x) for ts in t.timestamps_s)
    assert abs(t.timestamps_s[i] - x) == best


@given(n=st.integers(3, 300), step=st.integers(1, 10000), start=st.integers(0, 10**6), tb=time_bases)
def test_constant_rate_is_cfr_and_rate_matches(n, step, start, tb):
    t = Timeline(tuple(start + i * step for i in range(n)), tb)
    assert not t.vfr
    assert t.avg_fps == pytest.approx(1 / float(step * tb))
    assert t.duration_s == pytest.approx(n * float(step * tb))


@given(n=st.integers(3, 300), fps=st.sampled_from([Fraction(30000, 1001), Fraction(24000, 1001), 25, 60]))
def test_rounded_cfr_timestamps_stay_cfr(n, fps):
    """29.97 fps stored in milliseconds alternates 33/34 ms intervals: still constant-rate."""
    pts = tuple(round(i * 1000 / Fraction(fps)) for i in range(n))
    assert not Timeline(pts, Fraction(1, 1000)).vfr


def test_vfr_detection_examples():
    assert is_vfr([0, 50, 100, 120, 140, 160, 210])
    assert is_vfr([0, 40, 80, 160, 200])  # one dropped frame
    assert is_vfr([0, 40, 40, 80])  # repeated timestamp
    assert not is_vfr([0, 40])
    assert not is_vfr([0, 512, 1024, 1536])


def test_index_at_clamps_and_ties_go_earlier():
    t = Timeline((0, 10, 20), Fraction(1, 10))
    assert t.index_at(-5.0) == 0
    assert t.index_at(99.0) == 2
    assert t.index_at(0.5) == 0
    assert t.index_at(1.5) == 1
    assert t.index_of_pts(15) is None


def test_non_monotonic_timestamps_still_map():
    t = Timeline((0, 20, 10, 30), Fraction(1, 10))
    assert not t.monotonic and t.vfr
    assert t.index_at(1.0) == 2


def test_millisecond_rounded_cfr_stays_cfr_after_a_remux_to_a_finer_time_base() -> None:
    from fractions import Fraction

    ms = [round(i * 1001 / 30) for i in range(300)]  # 29.97 fps stored in milliseconds: 33/34 ms steps
    assert not is_vfr(ms, Fraction(1, 1000))
    remuxed = [t * 16 for t in ms]  # the same times in a 1/16000 time base (an MP4 remux)
    assert is_vfr(remuxed)  # without the time base, 528 vs 544 ticks looks irregular
    assert not is_vfr(remuxed, Fraction(1, 16000))
    mixed = [0, 667, 1333, 1833, 2000, 2167, 2833]  # 24 and 60 fps cadence in 1/16000 ticks
    assert is_vfr(mixed, Fraction(1, 16000))
