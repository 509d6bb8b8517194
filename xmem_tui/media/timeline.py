"""Frame timestamps and everything derived from them: the presentation timeline rule, count, rate, VFR,
duration, time -> frame lookups.

Kept apart from probing so the bookkeeping is pure and can be property-tested: a frame index is the
position in display order, and each index owns exactly one presentation timestamp (``pts``, integer
ticks of ``time_base``). Rates and durations are measured from those timestamps, never read from headers.

**The presentation timeline rule** (:func:`presentation_pts`; the probe applies it once, and every reader
-- the frame reader, the annotation window, propagation and the export -- uses its result):

1. Frames are numbered in the order the decoder outputs them, which is display order.
2. A frame's *stamp* is its decoded pts, else the dts of the packet it came from, else it has none.
3. The distinct stamps are sorted and dealt out, in frame order, to the frames that carry one. Decoders
   that label frames in storage order (packed B-frames in an AVI, 1, 3, 2, 5, 4, ...) give the right set
   of times attached to the wrong frames: the frame order is right, the labels are not.
4. A frame without a stamp, or whose stamp repeats an earlier frame's, is placed one typical interval
   after the frame before it (the typical interval: the mean interval of the sorted stamps when they are
   evenly spaced to within a tick, else their median interval, else the header's frame rate); a run of
   such frames that would reach the next stamped frame is spread evenly between the two, and a run
   before the first stamped frame counts back from it (Matroska hands frames before time zero out with
   no timestamp). Times always increase by at least one tick (later frames are pushed if a run has no
   room at all).
5. Frame rate, constant/variable rate (VFR) and duration are measured on the result, so a permutation is
   never mistaken for a variable frame rate.

The decoder's own stamps are kept too (:class:`FrameFinder`): after a seek they are what recognises a
frame, since the decoder labels it the same way every time.
"""

from __future__ import annotations

import bisect
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from itertools import pairwise

VFR_RELATIVE_TOLERANCE = 0.01
"""A frame interval may differ from the median interval by this fraction (or one tick) and still be CFR."""
MILLISECOND_JITTER = Fraction(1, 1000)
"""... or by this many seconds: the rounding of containers that store milliseconds (MKV, WebM, FLV)."""


def is_vfr(pts: tuple[int, ...] | list[int], time_base: Fraction | None = None) -> bool:
    """Whether frame intervals vary by more than timestamp rounding explains.

    Intervals within one tick, 1 % of the median interval or (given ``time_base``) one millisecond of
    the median count as equal: a 29.97 fps video stored in milliseconds alternates 33 and 34 ms and is
    still constant-rate, also after a remux into a finer time base. Repeated or decreasing timestamps
    make a video VFR. Fewer than three frames are CFR.
    """
    if len(pts) < 3:
        return False
    deltas = [b - a for a, b in pairwise(pts)]
    if min(deltas) <= 0:
        return True
    median = statistics.median(deltas)
    tolerance = max(1.0, VFR_RELATIVE_TOLERANCE * median)
    if time_base:
        tolerance = max(tolerance, float(MILLISECOND_JITTER / time_base))
    return any(abs(d - median) > tolerance for d in deltas)


def rescale(pts: int | Fraction, src: Fraction, dst: Fraction) -> int:
    """``pts`` from ``src`` to ``dst`` ticks, rounded to nearest with ties away from zero (FFmpeg's rule).

    Seconds are ``src = 1``: ``rescale(seconds, Fraction(1), time_base)``.
    """
    exact = Fraction(pts) * src / dst
    sign = -1 if exact < 0 else 1
    return sign * int(abs(exact) + Fraction(1, 2))


@dataclass(frozen=True)
class Timeline:
    """Presentation timestamps of every frame in display order.

    Attributes:
        pts: Timestamp of frame ``i`` in ``time_base`` ticks.
        time_base: Seconds per tick.
    """

    pts: tuple[int, ...]
    time_base: Fraction
    last_duration: int = 0
    """How long the last frame lasts in ticks, as the file says (0: not said; one typical interval then)."""

    def _fallback_frame_s(self) -> float:
        """Duration given to a single frame, which has no interval to measure."""
        return 1.0 / 24.0

    @property
    def frame_count(self) -> int:
        return len(self.pts)

    @cached_property
    def timestamps_s(self) -> tuple[float, ...]:
        """Presentation time of every frame in seconds (exact ticks, rounded once to float)."""
        num, den = self.time_base.numerator, self.time_base.denominator
        return tuple(float(Fraction(p * num, den)) for p in self.pts)

    @cached_property
    def monotonic(self) -> bool:
        """Whether timestamps strictly increase (needed to find frames by timestamp after a seek)."""
        return all(b > a for a, b in pairwise(self.pts))

    @cached_property
    def vfr(self) -> bool:
        return is_vfr(self.pts, self.time_base)

    @cached_property
    def _median_interval(self) -> float | None:
        """The median of the increasing frame intervals in ticks; None with fewer than two frames."""
        deltas = [b - a for a, b in pairwise(self.pts) if b > a]
        return statistics.median(deltas) if deltas else None

    @cached_property
    def frame_duration_s(self) -> float:
        """Typical frame interval: the median interval, or a fallback for a single frame."""
        if self._median_interval is None:
            return self._fallback_frame_s()
        return float(self._median_interval * self.time_base)

    @cached_property
    def durations(self) -> tuple[int, ...]:
        """How long each frame is shown, in ticks: the interval to the next frame; for the last frame
        :attr:`last_duration`, else the typical interval (at least one tick)."""
        if not self.pts:
            return ()
        last = self.last_duration
        if last <= 0:
            typical = self._median_interval
            if typical is None:
                typical = self._fallback_frame_s() / float(self.time_base)
            last = max(1, round(typical))
        return (*(b - a for a, b in pairwise(self.pts)), last)

    @property
    def start_time_s(self) -> float:
        return self.timestamps_s[0] if self.pts else 0.0

    @cached_property
    def duration_s(self) -> float:
        """From the first frame's start to the end of the last one (which lasts one typical interval)."""
        if not self.pts:
            return 0.0
        return float((self.pts[-1] - self.pts[0]) * self.time_base) + self.frame_duration_s

    @cached_property
    def avg_fps(self) -> float:
        """Frames per second over the whole duration, measured from the timestamps."""
        return self.frame_count / self.duration_s if self.duration_s > 0 else 0.0

    @cached_property
    def _pts_index(self) -> dict[int, int]:
        index: dict[int, int] = {}
        for i, p in enumerate(self.pts):
            index.setdefault(p, i)
        return index

    def index_of_pts(self, pts: int) -> int | None:
        """The frame whose timestamp is exactly ``pts`` (the first one if repeated), else None."""
        return self._pts_index.get(pts)

    def index_at(self, t_seconds: float) -> int:
        """The frame shown nearest to time ``t_seconds`` (clamped to the first/last frame; ties go earlier)."""
        if not self.pts:
            raise IndexError("no frames")
        ts = self.timestamps_s
        if not self.monotonic:
            return min(range(len(ts)), key=lambda i: (abs(ts[i] - t_seconds), i))
        right = bisect.bisect_left(ts, t_seconds)
        if right <= 0:
            return 0
        if right >= len(ts):
            return len(ts) - 1
        left = right - 1
        return left if t_seconds - ts[left] <= ts[right] - t_seconds else right


@dataclass(frozen=True)
class Presentation:
    """The outcome of :func:`presentation_pts`: corrected timestamps and what had to be corrected.

    Attributes:
        pts: Presentation timestamp of every frame, strictly increasing.
        reordered: Frames whose stamp was replaced by another frame's (a permuted labelling).
        missing: Frames that had no stamp.
        repeated: Frames whose stamp repeated an earlier frame's.
    """

    pts: tuple[int, ...]
    reordered: int = 0
    missing: int = 0
    repeated: int = 0

    def notes(self) -> list[str]:
        """One line per kind of correction, for the probe's warnings."""
        out = []
        if self.reordered:
            out.append(f"{self.reordered} frames came out of the decoder with timestamps out of order (frames "
                       "labelled in storage order, e.g. B-frames in AVI): presentation times are the sorted "
                       "timestamps in display order")
        if self.missing:
            out.append(f"{self.missing} frames had no timestamp; each was placed one frame interval after the "
                       "frame before it")
        if self.repeated:
            out.append(f"{self.repeated} frames repeated an earlier frame's timestamp; each was placed one frame "
                       "interval after the frame before it")
        return out


def presentation_pts(stamps: Sequence[int | None], fallback_step: int = 1) -> Presentation:
    """Apply the presentation timeline rule (module docstring) to the decoder's stamps, in output order.

    Args:
        stamps: Each decoded frame's stamp in ticks (None when it had none), in decoder output order.
        fallback_step: Frame interval in ticks used when fewer than two distinct stamps exist (from the
            header's frame rate); at least 1.
    """
    seen: set[int] = set()
    keep: list[bool] = []
    missing = repeated = 0
    for stamp in stamps:
        fresh = stamp is not None and stamp not in seen
        keep.append(fresh)
        if stamp is None:
            missing += 1
        elif not fresh:
            repeated += 1
        else:
            seen.add(stamp)
    ordered = iter(sorted(seen))
    out: list[int | None] = [next(ordered) if k else None for k in keep]
    reordered = sum(1 for k, s, o in zip(keep, stamps, out, strict=True) if k and s != o)
    _fill(out, _typical_step(sorted(seen), fallback_step))
    return Presentation(tuple(int(p) for p in out), reordered, missing, repeated)  # type: ignore[arg-type]


def _typical_step(stamps: list[int], fallback: int) -> Fraction:
    """The typical frame interval of sorted distinct ``stamps``: their mean interval when all intervals are
    within a tick of each other (exact for a constant rate stored in rounded ticks), else the median."""
    deltas = [b - a for a, b in pairwise(stamps)]
    if not deltas:
        return Fraction(max(1, fallback))
    if max(deltas) - min(deltas) <= 1:
        return max(Fraction(1), Fraction(stamps[-1] - stamps[0], len(deltas)))
    return max(Fraction(1), Fraction(statistics.median(deltas)))


def _fill(out: list[int | None], step: Fraction) -> None:
    """Give every None in ``out`` a time by rule 4 (in place), then make times strictly increasing."""
    n = len(out)
    i = 0
    while i < n:
        if out[i] is not None:
            i += 1
            continue
        j = i
        while j < n and out[j] is None:
            j += 1
        run = j - i
        prev, nxt = (out[i - 1] if i else None), (out[j] if j < n else None)
        if prev is None and nxt is None:
            values = [round(k * step) for k in range(run)]
        elif prev is None:
            values = [nxt - round((run - k) * step) for k in range(run)]  # type: ignore[operator]
        elif nxt is None or prev + round(run * step) < nxt:
            values = [prev + round((k + 1) * step) for k in range(run)]
        else:  # spread evenly; with no room at all, one tick apart (pushed below)
            gap = nxt - prev
            values = [prev + max(k + 1, gap * (k + 1) // (run + 1)) for k in range(run)]
        out[i:j] = values
        i = j
    for k in range(1, n):
        if out[k] <= out[k - 1]:  # type: ignore[operator]
            out[k] = out[k - 1] + 1  # type: ignore[operator]


class FrameFinder:
    """Recognises decoded frames after a seek by the decoder's own stamps (see the module docstring).

    A frame whose stamp occurs once in the probe is an *anchor*: seeing that stamp again names its index.
    Frames without a usable stamp (none, or repeated) are counted on from the last anchor.
    """

    def __init__(self, decoded: Sequence[int | None]) -> None:
        counts = Counter(s for s in decoded if s is not None)
        self._anchors = {s: i for i, s in enumerate(decoded) if s is not None and counts[s] == 1}
        self.has_anchors = bool(self._anchors)

    def anchor(self, stamp: int | None) -> int | None:
        """The index of the frame the decoder labels ``stamp``, when that label is unique."""
        return None if stamp is None else self._anchors.get(stamp)
