"""Colour tags (range, primaries, transfer, matrix) as FFmpeg numbers and as the names ``info`` shows.

The probe stores a video's tags by name in :class:`~xmem_tui.media.info.VideoInfo` (readable in ``info``
and in the cache); the encoder needs FFmpeg's numbers back. Both directions live here so they cannot
drift apart: a name round-trips to the number it came from, and an unknown number is kept as its digits.
"""

from __future__ import annotations

from dataclasses import dataclass

import av

# FFmpeg's names (av_color_*_name) for the common tags; other values are reported by number.
_NAMES: dict[str, dict[int, str]] = {
    "range": {1: "tv", 2: "pc"},
    "primaries": {1: "bt709", 4: "bt470m", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m", 8: "film", 9: "bt2020",
                  10: "smpte428", 11: "smpte431", 12: "smpte432", 22: "ebu3213"},
    "trc": {1: "bt709", 4: "gamma22", 5: "gamma28", 6: "smpte170m", 7: "smpte240m", 8: "linear",
            13: "iec61966-2-1", 14: "bt2020-10", 15: "bt2020-12", 16: "smpte2084", 18: "arib-std-b67"},
    "space": {0: "gbr", 1: "bt709", 4: "fcc", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m", 8: "ycgco",
              9: "bt2020nc", 10: "bt2020c"},
}
UNSPECIFIED = {"range": 0, "primaries": 2, "trc": 2, "space": 2}


@dataclass(frozen=True)
class ColorTags:
    """Colour description of a stream (AVColor* enum values)."""

    range: int = 0
    primaries: int = 2
    trc: int = 2
    space: int = 2

    @classmethod
    def of_frame(cls, frame: av.VideoFrame) -> ColorTags:
        return cls(int(frame.color_range), int(frame.color_primaries), int(frame.color_trc), int(frame.colorspace))

    @classmethod
    def from_names(cls, names: dict[str, str] | None) -> ColorTags:
        """The tags :meth:`names` described (None: all unspecified)."""
        if not names:
            return cls()
        values = {}
        for key, table in _NAMES.items():
            name = names.get(key, "unspecified")
            number = next((n for n, text in table.items() if text == name), None)
            values[key] = number if number is not None else int(name) if name.isdigit() else UNSPECIFIED[key]
        return cls(**values)

    def names(self) -> dict[str, str] | None:
        """The tags by FFmpeg name (unknown numbers as digits); None when all are unspecified."""
        if self == ColorTags():
            return None
        return {key: table.get(getattr(self, key), "unspecified" if getattr(self, key) == UNSPECIFIED[key]
                               else str(getattr(self, key))) for key, table in _NAMES.items()}

    def to_json(self) -> dict[str, int]:
        return {"range": self.range, "primaries": self.primaries, "trc": self.trc, "space": self.space}
