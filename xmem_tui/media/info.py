"""What a probe found out about a video or an image folder (:class:`VideoInfo`), and its JSON form.

Kept apart from :mod:`xmem_tui.media.probe` (which decodes to find it out) so the readers of videos and
of image folders can build one without importing the prober that dispatches to them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from fractions import Fraction
from pathlib import Path
from typing import Any

from xmem_tui.media.timeline import Timeline


@dataclass(frozen=True)
class AudioInfo:
    """One audio stream (kept so exports can copy or re-encode it in sync)."""

    index: int
    codec: str
    sample_rate: int
    channels: int
    layout: str | None
    start_time_s: float | None
    duration_s: float | None


@dataclass(frozen=True)
class VideoInfo(Timeline):
    """Facts about a video or image folder. ``pts`` and ``time_base`` come from :class:`Timeline`.

    Attributes:
        path: The probed file or folder (absolute).
        kind: ``"video"`` or ``"images"``.
        container: Demuxer name (``"images"`` for folders).
        codec: Video decoder name.
        width, height: Displayed size (rotation applied).
        rotation: Clockwise degrees (0/90/180/270) to rotate stored frames for display.
        pix_fmt: Decoded pixel format.
        nominal_fps: Frame rate claimed by the header (None if absent); do not trust it.
        keyframes: Display-order indices of keyframes (seek targets).
        stream_index: Index of the video stream in the container.
        audio: Audio streams.
        color: Colour tags (range, primaries, trc, space) or None when all are unspecified.
        files: Image file names in frame order (image folders only).
        warnings: Problems met while decoding (skipped packets, early end, missing timestamps).
        seekable: Whether decoded frames can be recognised by their pts after a seek; False when some
            frames had no timestamp or timestamps repeat, and then frames are found by counting from
            the start (correct but slow for random access).
    """

    path: Path = Path()
    kind: str = "video"
    container: str = ""
    codec: str = ""
    width: int = 0
    height: int = 0
    rotation: int = 0
    pix_fmt: str | None = None
    nominal_fps: float | None = None
    keyframes: tuple[int, ...] = ()
    stream_index: int = 0
    audio: tuple[AudioInfo, ...] = ()
    color: dict[str, str] | None = None
    files: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default=())
    seekable: bool = True

    def __hash__(self) -> int:  # ``color`` is a dict, so the generated hash would fail
        return hash((self.path, self.pts, self.time_base))

    @property
    def has_audio(self) -> bool:
        return bool(self.audio)

    def _fallback_frame_s(self) -> float:
        return 1.0 / self.nominal_fps if self.nominal_fps else super()._fallback_frame_s()

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of every field plus the derived facts (frame_count, timestamps_s, ...)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "audio":
                value = [asdict(a) for a in value]
            elif f.name == "time_base":
                value = f"{value.numerator}/{value.denominator}"
            elif isinstance(value, Path):
                value = str(value)
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        out.update(frame_count=self.frame_count, avg_fps=self.avg_fps, vfr=self.vfr,
                   duration_s=self.duration_s, start_time_s=self.start_time_s, has_audio=self.has_audio,
                   timestamps_s=list(self.timestamps_s))
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> VideoInfo:
        """Rebuild from :meth:`to_json` output (derived keys are ignored)."""
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            value = data[f.name]
            if f.name == "audio":
                value = tuple(AudioInfo(**a) for a in value)
            elif f.name == "time_base":
                value = Fraction(value)
            elif f.name == "path":
                value = Path(value)
            elif isinstance(value, list):
                value = tuple(value)
            kwargs[f.name] = value
        return cls(**kwargs)
