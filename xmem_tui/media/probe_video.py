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
from xmem_tui.media.color import ColorTags
from xmem_tui.media.decode import DecodeStats, decode_video, open_container, video_stream
from xmem_tui.media.info import AudioInfo, VideoInfo
from xmem_tui.media.timeline import FrameFinder, presentation_pts

log = logging.getLogger(__name__)

def probe_video(path: Path) -> VideoInfo:
    """Decode every frame of ``path``'s video stream and describe the file (see :func:`probe`).

    Timestamps go through the presentation timeline rule
    (:func:`~xmem_tui.media.timeline.presentation_pts`); the decoder's own stamps are kept when the rule
    changed them, because they are what recognises a frame after a seek.
    """
    container = open_container(path)
    try:
        stream = video_stream(container, path)
        nominal = _nominal_fps(stream)
        tb = stream.time_base or Fraction(1, 90000)
        step = max(1, round(1 / (nominal * tb))) if nominal else 1
        stats = DecodeStats()
        stamps: list[int | None] = []
        keyframes: list[int] = []
        first = None
        last_duration = 0
        for frame in decode_video(container, stream, stats):
            if first is None:
                first = _first_frame_facts(frame)
            if frame.key_frame:
                keyframes.append(len(stamps))
            stamp = frame.pts if frame.pts is not None else frame.dts
            stamps.append(None if stamp is None else int(stamp))
            last_duration = int(frame.duration or 0)
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
            f"{stats.bad_packets + stats.corrupt_packets} packets failed to decode"
            if stats.bad_packets + stats.corrupt_packets else "the video stream is empty")
        raise MediaError(f"{path} has no decodable video frame ({why}): the file is empty, truncated or "
                         "damaged; re-export or re-download it")
    presented = presentation_pts(stamps, step)
    decoded = () if tuple(stamps) == presented.pts else tuple(stamps)
    seekable = FrameFinder(stamps).has_anchors
    lost = _lost_frames(stats, header_frames, len(stamps))
    warnings = _warnings(stats, lost, header_frames, len(stamps), first["rotation_raw"]) + presented.notes()
    if not seekable:
        warnings.append("frames cannot be found by timestamp: random access decodes from the start (slow)")
    for text in warnings:
        log.warning("%s: %s", path, text)
    rotation = first["rotation"]
    stored_w, stored_h = first["size"]
    width, height = (stored_h, stored_w) if rotation in (90, 270) else (stored_w, stored_h)
    return VideoInfo(
        pts=presented.pts, time_base=tb, last_duration=last_duration, path=path, kind="video",
        container=container_name, codec=codec, width=width, height=height, rotation=rotation,
        pix_fmt=first["pix_fmt"], nominal_fps=nominal, keyframes=tuple(keyframes), stream_index=index,
        audio=audio, color=first["color"], warnings=tuple(warnings), seekable=seekable, decoded_pts=decoded,
        lost_frames=lost)


def _lost_frames(stats: DecodeStats, header_frames: int, decoded: int) -> int:
    """Frames that do not decode whole: the header's count says how many were meant; without one, each
    damaged packet held (at least) one."""
    damaged = stats.bad_packets + stats.corrupt_packets
    if header_frames > decoded:
        return header_frames - decoded
    return damaged


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
    return {"rotation": snapped, "rotation_raw": clockwise, "size": (frame.width, frame.height),
            "pix_fmt": frame.format.name, "color": ColorTags.of_frame(frame).names()}


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


def _warnings(stats: DecodeStats, lost: int, header_frames: int, decoded: int, rotation: float) -> list[str]:
    out = []
    truncated = stats.stopped_early or stats.corrupt_packets
    if truncated:
        why = f" ({stats.stopped_early})" if stats.stopped_early else ""
        out.append(f"the file is truncated or damaged{why}: {decoded} frames decode whole, {lost} frames are lost; "
                   f"using the {decoded} frames")
    if stats.bad_packets:
        out.append(f"{stats.bad_packets} damaged packets were skipped")
    if header_frames and header_frames != decoded:
        out.append(f"the header claims {header_frames} frames but {decoded} decode; using {decoded}")
    if lost and not truncated and not (header_frames and header_frames != decoded):
        out.append(f"{lost} frames are lost to damaged packets")
    if rotation % 90:
        out.append(f"display rotation {rotation:.1f} degrees is not a multiple of 90; rounded")
    return out
