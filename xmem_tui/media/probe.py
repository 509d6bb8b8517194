"""What a video really contains: every frame's presentation time, counted from what decodes.

Container headers lie (a file may claim 444 frames at 15 fps while 68 decode at irregular times), so the
probe decodes the whole video stream once and records the pts of every frame in display order, the
keyframes (for seeking) and the stored size and rotation. Everything else (frame count, average rate,
constant or variable rate, duration) is derived from those timestamps. Decoding a long video takes a
while, so the result is cached as JSON in ``cache_dir`` (``probe.json``) and reused while the file's
path, size and modification time are unchanged. Image folders are videos too (kind ``"images"``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field, fields
from fractions import Fraction
from pathlib import Path
from typing import Any

from xmem_tui.errors import MediaError
from xmem_tui.fsutil import atomic_write_json
from xmem_tui.media.timeline import Timeline

log = logging.getLogger(__name__)

CACHE_NAME = "probe.json"
_CACHE_VERSION = 1
_CACHE_ENTRIES = 32


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


def probe(path: Path, cache_dir: Path | None = None, *, image_fps: float = 24.0) -> VideoInfo:
    """Probe a video file or an image folder.

    Args:
        path: Video file, or folder of JPEG/PNG frames.
        cache_dir: Where to cache the result (``probe.json``); None disables the cache.
        image_fps: Frame rate given to image folders (they have none of their own).

    Raises:
        MediaError: missing path, unreadable or non-video file, unsupported codec, or no decodable frame.
    """
    path = Path(path).expanduser().resolve()
    if not path.exists():
        raise MediaError(f"{path} does not exist: check the path (or put the video in the source folder)")
    if path.is_dir():
        from xmem_tui.media.probe_images import probe_images

        return probe_images(path, image_fps)
    key = _cache_key(path)
    cached = _cache_load(cache_dir, key) if cache_dir is not None else None
    if cached is not None:
        return cached
    from xmem_tui.media.probe_video import probe_video

    info = probe_video(path)
    if cache_dir is not None:
        _cache_store(Path(cache_dir), key, info)
    return info


def _cache_key(path: Path) -> str:
    stat = path.stat()
    return f"{path}|{stat.st_size}|{stat.st_mtime_ns}"


def _cache_read_all(cache_dir: Path) -> dict[str, Any]:
    try:
        data = json.loads((Path(cache_dir) / CACHE_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != _CACHE_VERSION:
        return {}
    entries = data.get("entries")
    return entries if isinstance(entries, dict) else {}


def _cache_load(cache_dir: Path, key: str) -> VideoInfo | None:
    entry = _cache_read_all(cache_dir).get(key)
    if entry is None:
        return None
    try:
        return VideoInfo.from_json(entry)
    except (KeyError, TypeError, ValueError, ZeroDivisionError) as exc:
        log.warning("ignoring a damaged probe cache entry in %s: %s", cache_dir, exc)
        return None


def _cache_store(cache_dir: Path, key: str, info: VideoInfo) -> None:
    """Add ``info`` to the cache (keeping the newest entries); a failed write only costs a re-probe."""
    entries = _cache_read_all(cache_dir)
    entries.pop(key, None)
    prefix = key.split("|", 1)[0] + "|"
    entries = {k: v for k, v in entries.items() if not k.startswith(prefix)}  # stale versions of this file
    entries[key] = info.to_json()
    entries = dict(list(entries.items())[-_CACHE_ENTRIES:])
    try:
        atomic_write_json(cache_dir / CACHE_NAME, {"version": _CACHE_VERSION, "entries": entries})
    except OSError as exc:
        log.warning("could not write the probe cache in %s: %s", cache_dir, exc)


def is_cached(path: Path, cache_dir: Path) -> bool:
    """Whether ``probe(path, cache_dir)`` would be answered from the cache."""
    path = Path(path).expanduser().resolve()
    return path.is_file() and _cache_key(path) in _cache_read_all(cache_dir)
