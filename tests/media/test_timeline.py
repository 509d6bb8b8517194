from __future__ import annotations

from fractions import Fraction
from itertools import pairwise

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


# ---------------------------------------------------------------- the presentation timeline rule
from xmem_tui.media.timeline import FrameFinder, presentation_pts  # noqa: E402

stamps_lists = st.lists(st.one_of(st.none(), st.integers(-10_000, 10_000)), min_size=1, max_size=80)


@given(stamps=stamps_lists, fallback=st.integers(1, 5000))
def test_presentation_times_always_strictly_increase(stamps, fallback):
    out = presentation_pts(stamps, fallback)
    assert len(out.pts) == len(stamps)
    assert all(b > a for a, b in pairwise(out.pts))
    assert out.missing == stamps.count(None)
    assert out.missing + out.repeated + len({s for s in stamps if s is not None}) == len(stamps)


@given(pts=increasing_pts, seed=st.randoms(use_true_random=False))
def test_a_permuted_labelling_gets_the_sorted_times_and_is_not_vfr(pts, seed):
    """B-frames in AVI: right set of times on the wrong frames; frame order wins, the times are sorted."""
    shuffled = list(pts)
    seed.shuffle(shuffled)
    out = presentation_pts(shuffled)
    assert out.pts == tuple(pts)
    assert out.reordered == sum(a != b for a, b in zip(shuffled, pts, strict=True))
    assert out.missing == out.repeated == 0


def test_avi_b_frame_labels_become_a_constant_rate():
    labels = [1, 2, 3, 5, 4, 6, 8, 7, 9, 11, 10, 12]  # as an MPEG-4 AVI with B-frames hands them out
    assert is_vfr(labels)  # taken as they come, the clip would look variable-rate
    out = presentation_pts(labels)
    assert out.pts == tuple(range(1, 13)) and out.reordered == 6
    assert not Timeline(out.pts, Fraction(125, 2997)).vfr
    assert "out of order" in out.notes()[0]


def test_missing_and_repeated_stamps_are_placed_one_interval_on():
    assert presentation_pts([0, 10, None, 30, 40]).pts == (0, 10, 20, 30, 40)
    assert presentation_pts([0, 10, 10, 30, 40]).pts == (0, 10, 20, 30, 40)
    assert presentation_pts([None, None, 0, 42, 83, 125]).pts == (-83, -42, 0, 42, 83, 125)  # Matroska before 0
    assert presentation_pts([0, 10, None, None, 40]).pts == (0, 10, 20, 30, 40)
    assert presentation_pts([0, 10, None, None, 12]).pts == (0, 10, 11, 12, 13)  # no room: pushed a tick apart
    assert presentation_pts([None, None, None], fallback_step=512).pts == (0, 512, 1024)
    spread = presentation_pts([0, 100, None, None, 130]).pts  # a run that would overrun the next stamp is spread
    assert spread == (0, 100, 110, 120, 130)


def test_frame_finder_names_frames_by_unique_stamps_only():
    finder = FrameFinder([3, 1, 2, None, 2, 7])
    assert finder.anchor(3) == 0 and finder.anchor(1) == 1 and finder.anchor(7) == 5
    assert finder.anchor(2) is None and finder.anchor(None) is None and finder.anchor(99) is None
    assert not FrameFinder([None, None]).has_anchors
