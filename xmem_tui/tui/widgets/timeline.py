"""A one-line timeline: frames grouped into buckets, coloured by what their masks are, with a cursor."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

#: Colour per frame state; a bucket shows its "worst" state (stale beats user beats propagated).
STATE_STYLE = {"stale": "bold red", "user": "bold yellow", "propagated": "green", "": "grey37"}
_PRIORITY = ("stale", "user", "propagated", "")
LEGEND = Text.assemble(("█", STATE_STYLE["user"]), " user ", ("█", STATE_STYLE["propagated"]), " propagated ",
                       ("█", STATE_STYLE["stale"]), " stale ", ("█", STATE_STYLE[""]), " empty")


def bucket_ranges(count: int, width: int) -> list[tuple[int, int]]:
    """The frames ``[lo, hi)`` of each of ``width`` columns covering ``count`` frames in order (a frame
    spans several columns when there are fewer frames than columns). Every per-frame row of the video
    view uses this, so a column is the same frames in all of them."""
    if count <= 0 or width <= 0:
        return []
    return [(lo, max(lo + 1, (b + 1) * count // width)) for b in range(width) for lo in (b * count // width,)]


def bucket_states(states: Sequence[str], width: int) -> list[str]:
    """The state shown for each of ``width`` buckets covering ``states`` in order."""
    return [next(s for s in _PRIORITY if s in set(states[lo:hi])) for lo, hi in bucket_ranges(len(states), width)]


class Timeline(Widget):
    """Frames as coloured cells; ``current`` is marked with a caret line below."""

    DEFAULT_CSS = """
    Timeline { height: 2; }
    """

    states: reactive[tuple[str, ...]] = reactive(tuple)
    current: reactive[int] = reactive(0)

    def render(self) -> Text:
        width = max(self.size.width, 1)
        cells = bucket_states(self.states, width)
        bar = Text()
        for state in cells:
            bar.append("█", STATE_STYLE[state])
        marker = Text(" " * width)
        if self.states:
            pos = min(self.current * width // len(self.states), width - 1)
            marker = Text(" " * pos + "▲", style="bold white")
        return Text("\n").join([bar, marker])
