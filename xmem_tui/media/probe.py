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
from pathlib import Path
from typing import Any

from xmem_tui.fsutil import atomic_write_json
from xmem_tui.media.decode import check_readable
from xmem_tui.media.info import VideoInfo

log = logging.getLogger(__name__)

CACHE_NAME = "probe.json"
_CACHE_VERSION = 2  # 2: the presentation timeline rule (decoded_pts, last_duration, lost_frames)
_CACHE_ENTRIES = 32


def probe(path: Path, cache_dir: Path | None = None, *, image_fps: float = 24.0) -> VideoInfo:
    """Probe a video file or an image folder.

    Args:
        path: Video file, or folder of JPEG/PNG frames.
        cache_dir: Where to cache the result (``probe.json``); None disables the cache.
        image_fps: Frame rate given to image folders (they have none of their own).

    Raises:
        MediaError: missing path, not a regular file or folder (a FIFO, a device: refused without opening
            it), unreadable or non-video file, unsupported codec, or no decodable frame.
    """
    path = Path(path).expanduser().resolve()
    check_readable(path)
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
    except ValueError as exc:  # any wrong shape: a cache miss, the video is probed again
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
