"""Frame timestamps and everything derived from them: count, rate, VFR, duration, time -> frame lookups.

Kept apart from probing so the bookkeeping is pure and can be property-tested: a frame index is the
position in display order, and each index owns exactly one presentation timestamp (``pts``, integer
ticks of ``time_base``). Rates and durations are measured from those timestamps, never read from headers.
"""

from __future__ import annotations

import bisect
import statistics
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


@dataclass(frozen=True)
class Timeline:
    """Presentation timestamps of every frame in display order.

    Attributes:
        pts: Timestamp of frame ``i`` in ``time_base`` ticks.
        time_base: Seconds per tick.
    """

    pts: tuple[int, ...]
    time_base: Fraction

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
    def frame_duration_s(self) -> float:
        """Typical frame interval: the median interval, or a fallback for a single frame."""
        deltas = [b - a for a, b in pairwise(self.pts) if b > a]
        if not deltas:
            return self._fallback_frame_s()
        return float(statistics.median(deltas) * self.time_base)

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
