"""Probing of video files: decode the video stream once and record what really comes out.

Split from :mod:`xmem_tui.media.probe` (the data model and cache) because this is the only part that
talks to FFmpeg. See that module for why every frame is decoded.
"""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

import av

from xmem_tui.errors import MediaError
from xmem_tui.media.decode import DecodeStats, decode_video, open_container, video_stream
from xmem_tui.media.info import AudioInfo, VideoInfo
from xmem_tui.media.timeline import Timeline

log = logging.getLogger(__name__)

# FFmpeg's names (av_color_*_name) for the common tags; other values are reported by number.
_RANGES = {1: "tv", 2: "pc"}
_PRIMARIES = {1: "bt709", 4: "bt470m", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m", 8: "film",
              9: "bt2020", 10: "smpte428", 11: "smpte431", 12: "smpte432", 22: "ebu3213"}
_TRCS = {1: "bt709", 4: "gamma22", 5: "gamma28", 6: "smpte170m", 7: "smpte240m", 8: "linear",
         13: "iec61966-2-1", 14: "bt2020-10", 15: "bt2020-12", 16: "smpte2084", 18: "arib-std-b67"}
_SPACES = {0: "gbr", 1: "bt709", 4: "fcc", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m", 8: "ycgco",
           9: "bt2020nc", 10: "bt2020c"}
_UNSPECIFIED = {"range": 0, "primaries": 2, "trc": 2, "space": 2}


def probe_video(path: Path) -> VideoInfo:
    """Decode every frame of ``path``'s video stream and describe the file (see :func:`probe`)."""
    container = open_container(path)
    try:
        stream = video_stream(container, path)
        nominal = _nominal_fps(stream)
        tb = stream.time_base or Fraction(1, 90000)
        step = max(1, round(1 / (nominal * tb))) if nominal else 1
        stats = DecodeStats()
        pts: list[int] = []
        keyframes: list[int] = []
        first = None
        missing = 0
        for frame in decode_video(container, stream, stats):
            if first is None:
                first = _first_frame_facts(frame)
            p = frame.pts
            if p is None:  # e.g. raw elementary streams: continue the cadence
                missing += 1
                p = pts[-1] + step if pts else 0
            if frame.key_frame:
                keyframes.append(len(pts))
            pts.append(int(p))
        audio = tuple(_audio_info(s) for s in container.streams.audio)
        header_frames = int(stream.frames or 0)
        container_name = container.format.name
        codec = stream.codec_context.name
        index = stream.index
    except av.error.FFmpegError as exc:
        raise MediaError(f"{path} cannot be decoded ({exc}): convert it to H.264 MP4 with ffmpeg") from exc
    finally:
        container.close()
    if first is None:
        why = f"decoding stopped: {stats.stopped_early}" if stats.stopped_early else (
            f"{stats.bad_packets} packets failed to decode" if stats.bad_packets else "the video stream is empty")
        raise MediaError(f"{path} has no decodable video frame ({why}): the file is empty, truncated or "
                         "damaged; re-export or re-download it")
    warnings = _warnings(stats, missing, header_frames, len(pts), first["rotation_raw"])
    timeline = Timeline(tuple(pts), tb)
    seekable = timeline.monotonic and not missing
    if not seekable:
        warnings.append("frames cannot be found by timestamp: random access decodes from the start (slow)")
    for text in warnings:
        log.warning("%s: %s", path, text)
    rotation = first["rotation"]
    stored_w, stored_h = first["size"]
    width, height = (stored_h, stored_w) if rotation in (90, 270) else (stored_w, stored_h)
    return VideoInfo(
        pts=timeline.pts, time_base=tb, path=path, kind="video", container=container_name, codec=codec,
        width=width, height=height, rotation=rotation, pix_fmt=first["pix_fmt"], nominal_fps=nominal,
        keyframes=tuple(keyframes), stream_index=index, audio=audio, color=first["color"],
        warnings=tuple(warnings), seekable=seekable)


def _nominal_fps(stream: av.video.stream.VideoStream) -> float | None:
    """The header's frame rate (average, else guessed), or None when the header has none."""
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate:
            return float(rate)
    return None


def _first_frame_facts(frame: av.VideoFrame) -> dict[str, object]:
    raw = frame.rotation  # counter-clockwise degrees from the display matrix
    clockwise = (-float(raw)) % 360
    snapped = round(clockwise / 90) * 90 % 360
    tags = {"range": frame.color_range, "primaries": frame.color_primaries, "trc": frame.color_trc,
            "space": frame.colorspace}
    color = None
    if any(int(v) != _UNSPECIFIED[k] for k, v in tags.items()):
        tables = {"range": _RANGES, "primaries": _PRIMARIES, "trc": _TRCS, "space": _SPACES}
        color = {k: tables[k].get(int(v), "unspecified" if int(v) == _UNSPECIFIED[k] else str(int(v)))
                 for k, v in tags.items()}
    return {"rotation": snapped, "rotation_raw": clockwise, "size": (frame.width, frame.height),
            "pix_fmt": frame.format.name, "color": color}


def _audio_info(stream: av.audio.stream.AudioStream) -> AudioInfo:
    ctx = stream.codec_context
    tb = stream.time_base
    start = float(stream.start_time * tb) if stream.start_time is not None and tb else None
    duration = float(stream.duration * tb) if stream.duration is not None and tb else None
    return AudioInfo(index=stream.index, codec=ctx.name if ctx else stream.codec.name,
                     sample_rate=int(ctx.sample_rate or 0) if ctx else 0,
                     channels=int(ctx.channels or 0) if ctx else 0,
                     layout=ctx.layout.name if ctx and ctx.layout else None,
                     start_time_s=start, duration_s=duration)


def _warnings(stats: DecodeStats, missing: int, header_frames: int, decoded: int, rotation: float) -> list[str]:
    out = []
    if stats.stopped_early:
        out.append(f"decoding stopped early ({stats.stopped_early}); the file may be truncated: "
                   f"using the {decoded} frames that decode")
    if stats.bad_packets:
        out.append(f"{stats.bad_packets} damaged packets were skipped")
    if missing:
        out.append(f"{missing} frames had no timestamp; they were given the nominal frame interval")
    if header_frames and header_frames != decoded:
        out.append(f"the header claims {header_frames} frames but {decoded} decode; using {decoded}")
    if rotation % 90:
        out.append(f"display rotation {rotation:.1f} degrees is not a multiple of 90; rounded")
    return out
