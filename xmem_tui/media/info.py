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
        warnings: Problems met while decoding (skipped packets, early end, corrected timestamps).
        seekable: Whether decoded frames can be recognised after a seek (some carry a stamp of their own,
            see :class:`~xmem_tui.media.timeline.FrameFinder`); False for streams without any timestamps,
            which are then read by counting from the start (correct but slow for random access).
        decoded_pts: The decoder's own stamp of every frame (None: it had none) when the presentation
            timeline rule had to correct them; empty when they equal ``pts``.
        lost_frames: Frames the file was meant to hold that do not decode whole (a truncated or damaged
            file): the header's count minus what decodes, or the damaged packets when it has no count.
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
    decoded_pts: tuple[int | None, ...] = ()
    lost_frames: int = 0

    def __hash__(self) -> int:  # ``color`` is a dict, so the generated hash would fail
        return hash((self.path, self.pts, self.time_base))

    @property
    def has_audio(self) -> bool:
        return bool(self.audio)

    @property
    def stamps(self) -> tuple[int | None, ...]:
        """The decoder's stamp of every frame (what recognises a frame after a seek)."""
        return self.decoded_pts or self.pts

    @property
    def coded_size(self) -> tuple[int, int]:
        """(width, height) of the frames as stored, before the display rotation."""
        return (self.height, self.width) if self.rotation in (90, 270) else (self.width, self.height)

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
        """Rebuild from :meth:`to_json` output (derived keys are ignored).

        Raises:
            ValueError: ``data`` is not what :meth:`to_json` writes (a missing key, a value of the wrong
                type or shape): a damaged or foreign cache entry, to be treated as absent.
        """
        if not isinstance(data, dict):
            raise ValueError(f"expected an object, got {type(data).__name__}")
        kwargs: dict[str, Any] = {}
        try:
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
        except (KeyError, TypeError, ValueError, ZeroDivisionError) as exc:
            raise ValueError(f"{type(exc).__name__}: {exc}") from None
        info = cls(**kwargs)
        _check_shape(info)
        return info


_INTS = ("width", "height", "rotation", "stream_index", "last_duration", "lost_frames")
_STRS = ("kind", "container", "codec")


def _check_shape(info: VideoInfo) -> None:
    """Raise ValueError unless every field has the type the probe writes (JSON can hold anything)."""

    def ints(values: object, none: bool = False) -> bool:
        return isinstance(values, tuple) and all(
            (v is None and none) or (isinstance(v, int) and not isinstance(v, bool)) for v in values)

    problems = [name for name in _INTS if not isinstance(getattr(info, name), int)]
    problems += [name for name in _STRS if not isinstance(getattr(info, name), str)]
    pts_ok = ints(info.pts) and bool(info.pts)
    if not pts_ok:
        problems.append("pts")
    if not ints(info.keyframes):
        problems.append("keyframes")
    if not ints(info.decoded_pts, none=True) or (pts_ok and len(info.decoded_pts) not in (0, len(info.pts))):
        problems.append("decoded_pts")
    if info.time_base <= 0:
        problems.append("time_base")
    if not (info.color is None or (isinstance(info.color, dict)
                                   and all(isinstance(v, str) for v in info.color.values()))):
        problems.append("color")
    if not (isinstance(info.files, tuple) and all(isinstance(f, str) for f in info.files)):
        problems.append("files")
    if not (isinstance(info.warnings, tuple) and all(isinstance(w, str) for w in info.warnings)):
        problems.append("warnings")
    if not (info.nominal_fps is None or isinstance(info.nominal_fps, (int, float))):
        problems.append("nominal_fps")
    if not (info.pix_fmt is None or isinstance(info.pix_fmt, str)):
        problems.append("pix_fmt")
    audio_ok = all(isinstance(a.index, int) and isinstance(a.codec, str) and isinstance(a.sample_rate, int)
                   and isinstance(a.channels, int) for a in info.audio)
    if not audio_ok:
        problems.append("audio")
    if not isinstance(info.seekable, bool):
        problems.append("seekable")
    if problems:
        raise ValueError(f"wrong type or shape of {', '.join(problems)}")
