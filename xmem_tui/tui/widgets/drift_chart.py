"""Sparklines over the video's frames: each object's mask area, the quality score, keyframes and review frames.

Drift is invisible in a single frame: a mask that slowly loses an arm, or swaps to the neighbour, shows up
as an area curve that sags or jumps. One row per object (in its colour, scaled to its own largest
area), one row of the review score (``inference.quality.score_frame``) and one of marks, all bucketed
exactly like the :class:`~xmem_tui.tui.widgets.timeline.Timeline` under it, so a column is the same
stretch of frames in every row.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from xmem_tui.tui.widgets.timeline import bucket_ranges

BARS = "▁▂▃▄▅▆▇█"
#: A score this high fills the score row's cell (score_frame's "clearly suspicious" is about 1).
SCORE_FULL = 3.0
KEY_STYLE = "bold yellow"
REVIEW_STYLE = "bold red"


def sparkline(values: Sequence[float], width: int, top: float, zero: str = "·") -> list[str]:
    """One character per bucket: the bucket's largest value as a bar of ``top``; " " where all are unknown
    (negative), ``zero`` where the value is 0 ("·": an object that vanished)."""
    cells = []
    for lo, hi in bucket_ranges(len(values), width):
        known = [v for v in values[lo:hi] if v >= 0]
        if not known:
            cells.append(" ")
        elif max(known) <= 0:
            cells.append(zero)
        else:
            level = min(max(known) / top, 1.0) if top > 0 else 1.0
            cells.append(BARS[max(0, min(len(BARS) - 1, round(level * (len(BARS) - 1))))])
    return cells


def marks(count: int, width: int, keyframes: Sequence[int], review: Sequence[int]) -> Text:
    """"K" over buckets holding a keyframe, "!" over those holding a review frame (a keyframe wins)."""
    keys, looks = set(keyframes), set(review)
    text = Text()
    for lo, hi in bucket_ranges(count, width):
        span = range(lo, hi)
        if any(f in keys for f in span):
            text.append("K", KEY_STYLE)
        elif any(f in looks for f in span):
            text.append("!", REVIEW_STYLE)
        else:
            text.append(" ")
    return text


class DriftChart(Widget):
    """Area per object, review score and marks (see module docstring); one row each."""

    DEFAULT_CSS = """
    DriftChart { height: auto; }
    """

    areas: reactive[tuple[tuple[float, ...], ...]] = reactive(tuple, layout=True)
    colors: reactive[tuple[tuple[int, int, int], ...]] = reactive(tuple)
    scores: reactive[tuple[float, ...]] = reactive(tuple)
    keyframes: reactive[tuple[int, ...]] = reactive(tuple)
    review: reactive[tuple[int, ...]] = reactive(tuple)

    def get_content_height(self, container: object, viewport: object, width: int) -> int:
        return len(self.areas) + 2 if self.scores else 0

    def render(self) -> Text:
        width = max(self.size.width, 1)
        rows = []
        for series, (r, g, b) in zip(self.areas, self.colors, strict=True):
            top = max((v for v in series if v > 0), default=0.0)
            rows.append(Text("".join(sparkline(series, width, top)), style=f"rgb({r},{g},{b})"))
        if self.scores:
            rows.append(Text("".join(sparkline(self.scores, width, SCORE_FULL, zero="_")), style="red"))
            rows.append(marks(len(self.scores), width, self.keyframes, self.review))
        return Text("\n").join(rows)
