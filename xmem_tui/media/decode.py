"""Opening media with PyAV and decoding video frames tolerantly; shared by the probe and every reader.

The probe, the frame reader and the export must see exactly the same frames, so all decode through
:func:`decode_video`: packets the demuxer marks corrupt (the cut-off last packet of a truncated file) are
never given to the decoder, packets that fail to decode are skipped (and counted) instead of aborting, a
demuxer error ends the stream as if the file ended there, and the decoder is always drained so the last
frames of a file with B-frames are not lost. Keeping a cut-off packet away from the decoder matters with
frame threads: its error would surface while draining and take the frames still in flight with it.
Every FFmpeg error on opening becomes a one-line :class:`MediaError`, and a path that is not a regular
file (a FIFO, a device) is refused before anything opens it, since reading one can block for ever.
"""

from __future__ import annotations

import logging
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import av

from xmem_tui.errors import MediaError

log = logging.getLogger(__name__)


def check_readable(path: Path) -> None:
    """Refuse a missing path, or one that is neither a regular file nor a folder, without opening it.

    Raises:
        MediaError: naming the path and what it is.
    """
    try:
        mode = Path(path).stat().st_mode
    except FileNotFoundError:
        raise MediaError(f"{path} does not exist: check the path (or put the video in the source folder)") from None
    except OSError as exc:
        raise MediaError(f"{path} cannot be read ({exc.strerror or exc}): check the path and its permissions") from exc
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return
    what = ("a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a character device" if stat.S_ISCHR(mode)
            else "a block device" if stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode) else "not a file")
    raise MediaError(f"{path} is {what}, not a regular file: save the video to a file first and use that")


def open_container(path: Path) -> av.container.InputContainer:
    """Open ``path`` for reading, turning FFmpeg's errors into :class:`MediaError`."""
    path = Path(path)
    check_readable(path)
    try:
        return av.open(str(path), "r")
    except av.error.PermissionError as exc:
        raise MediaError(f"{path} cannot be read (permission denied): fix its permissions") from exc
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise MediaError(f"{path} is not a video FFmpeg can read ({_reason(exc)}): check the file is complete "
                         "and a supported video (e.g. MP4/H.264), or convert it with ffmpeg") from exc


def video_stream(container: av.container.InputContainer, path: Path, thread_type: str = "AUTO"
                 ) -> av.video.stream.VideoStream:
    """The first video stream that is not an attached picture (cover art), set up for fast decoding.

    ``thread_type``: "AUTO" (frame threads: fastest for decoding on and on) or "SLICE" (no frame
    pipeline to fill: a single frame after a seek comes out as soon as it is decoded).
    """
    for stream in container.streams.video:
        if stream.disposition & av.stream.Disposition.attached_pic:
            continue
        if stream.codec_context is None:
            raise MediaError(f"{path}: no decoder for its {stream.codec.name if stream.codec else '?'} video: "
                             "convert it to H.264 (e.g. ffmpeg -i IN -c:v libx264 OUT.mp4)")
        stream.codec_context.thread_type = thread_type
        return stream
    raise MediaError(f"{path} has no video stream: pick a video file or a folder of frames")


@dataclass
class DecodeStats:
    """What went wrong while decoding (reported by the probe as warnings)."""

    bad_packets: int = 0
    corrupt_packets: int = 0
    stopped_early: str | None = None
    notes: list[str] = field(default_factory=list)


def decode_video(container: av.container.InputContainer, stream: av.video.stream.VideoStream,
                 stats: DecodeStats | None = None) -> Iterator[av.VideoFrame]:
    """Decode ``stream`` from the container's current position to the end, in display order.

    Packets marked corrupt and packets that fail to decode are skipped; a demuxing error (truncated file)
    ends the iteration after the decoder has been drained, so every frame that decodes whole is returned.
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
        if packet.is_corrupt and packet.size:
            stats.corrupt_packets += 1
            log.debug("skipping a packet the demuxer marks corrupt (pts %s)", packet.pts)
            continue
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
