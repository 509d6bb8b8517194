"""What a written video really holds, decoded frame by frame: the self-check's view of an export.

An export counts only if the file plays as intended, so the check decodes it as a player would instead of
trusting what the muxer was told. The decoded timestamps are kept exactly as they come out (no presentation
timeline correction, unlike :mod:`~xmem_tui.media.probe`): an export must be right without one. Decoding
goes through :func:`~xmem_tui.media.decode.decode_video`, so damaged output is read the same tolerant way
as a source.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from xmem_tui.media.color import ColorTags
from xmem_tui.media.decode import decode_video, open_container, video_stream


@dataclass(frozen=True)
class DecodedVideo:
    """Timing and tags of a file's first video stream, as decoded.

    Attributes:
        time_base: the stream's time base (seconds per pts tick).
        pts: every decoded frame's pts, in decoder output order.
        durations: every frame's duration in ticks (0 where the file gives none).
        rotation: the first frame's display rotation in counter-clockwise degrees, as its display matrix
            says (the probe's :attr:`VideoInfo.rotation` is the clockwise turn that shows it upright).
        color: colour tags of the first frame (None when nothing decodes).
        pixel_format: the first frame's pixel format name (None when nothing decodes).
        codec: the video codec's name.
        has_audio: whether the file holds an audio stream.
    """

    time_base: Fraction
    pts: list[int]
    durations: list[int]
    rotation: int
    color: ColorTags | None
    pixel_format: str | None
    codec: str
    has_audio: bool


def decode_timing(path: Path) -> DecodedVideo:
    """Decode every frame of ``path``'s first video stream and keep its timing and tags.

    Raises:
        MediaError: the file cannot be opened or holds no video.
    """
    with open_container(Path(path)) as container:
        stream = video_stream(container, Path(path))
        pts: list[int] = []
        durations: list[int] = []
        rotation, color, pixel_format = 0, None, None
        for frame in decode_video(container, stream):
            if not pts:
                rotation, color, pixel_format = int(frame.rotation or 0), ColorTags.of_frame(frame), frame.format.name
            pts.append(int(frame.pts))
            durations.append(int(frame.duration or 0))
        # read while the file is open: a stream must not be touched once its container is closed
        return DecodedVideo(time_base=Fraction(stream.time_base), pts=pts, durations=durations, rotation=rotation,
                            color=color, pixel_format=pixel_format, codec=stream.codec_context.name,
                            has_audio=bool(container.streams.audio))
