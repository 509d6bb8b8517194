"""Opening media with PyAV and decoding video frames tolerantly; shared by the probe and the reader.

The probe and the frame reader must see exactly the same frames, so both decode through
:func:`decode_video`: corrupt packets are skipped (and counted) instead of aborting, a demuxer error
ends the stream as if the file ended there, and the decoder is always drained so the last frames of a
file with B-frames are not lost. Every FFmpeg error on opening becomes a one-line :class:`MediaError`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import av

from xmem_tui.errors import MediaError

log = logging.getLogger(__name__)


def open_container(path: Path) -> av.container.InputContainer:
    """Open ``path`` for reading, turning FFmpeg's errors into :class:`MediaError`."""
    path = Path(path)
    if not path.exists():
        raise MediaError(f"{path} does not exist: check the path (or put the video in the source folder)")
    try:
        return av.open(str(path), "r")
    except av.error.PermissionError as exc:
        raise MediaError(f"{path} cannot be read (permission denied): fix its permissions") from exc
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise MediaError(f"{path} is not a video FFmpeg can read ({_reason(exc)}): check the file is complete "
                         "and a supported video (e.g. MP4/H.264), or convert it with ffmpeg") from exc


def video_stream(container: av.container.InputContainer, path: Path) -> av.video.stream.VideoStream:
    """The first video stream that is not an attached picture (cover art), set up for fast decoding."""
    for stream in container.streams.video:
        if stream.disposition & av.stream.Disposition.attached_pic:
            continue
        if stream.codec_context is None:
            raise MediaError(f"{path}: no decoder for its {stream.codec.name if stream.codec else '?'} video: "
                             "convert it to H.264 (e.g. ffmpeg -i IN -c:v libx264 OUT.mp4)")
        stream.codec_context.thread_type = "AUTO"
        return stream
    raise MediaError(f"{path} has no video stream: pick a video file or a folder of frames")


@dataclass
class DecodeStats:
    """What went wrong while decoding (reported by the probe as warnings)."""

    bad_packets: int = 0
    stopped_early: str | None = None
    notes: list[str] = field(default_factory=list)


def decode_video(container: av.container.InputContainer, stream: av.video.stream.VideoStream,
                 stats: DecodeStats | None = None) -> Iterator[av.VideoFrame]:
    """Decode ``stream`` from the container's current position to the end, in display order.

    Corrupt packets are skipped; a demuxing error (truncated file) ends the iteration after the decoder
    has been drained, so every frame that can be decoded is returned.
    """
    stats = stats if stats is not None else DecodeStats()
    packets = container.demux(stream)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            break
        except (av.error.FFmpegError, OSError) as exc:
            stats.stopped_early = _reason(exc)
            log.debug("demuxing stopped early: %s", stats.stopped_early)
            break
        try:
            yield from stream.decode(packet)
        except (av.error.InvalidDataError, av.error.FFmpegError) as exc:
            stats.bad_packets += 1
            log.debug("skipping a packet that does not decode: %s", _reason(exc))
    if stats.stopped_early is not None:
        try:
            yield from stream.decode(None)
        except (av.error.FFmpegError, ValueError) as exc:
            log.debug("draining the decoder failed: %s", _reason(exc))


def _reason(exc: BaseException) -> str:
    """A short, single-line description of an FFmpeg error."""
    text = getattr(exc, "strerror", None) or str(exc)
    return " ".join(str(text).split())[:160]
