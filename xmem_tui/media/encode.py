"""Video encoding that keeps every frame at its source timestamp, with the source's audio, rotation and colour.

Editors line a matte up with its picture by timestamp. So the encoder takes an explicit ``pts`` for every
frame (in the source's time base) instead of a frame rate, and asks the container to keep that time base:
MP4/MOV get ``movie_timescale`` = the time base's denominator, because the default 1/1000 movie timescale
rounds the edit list that carries a non-zero start time. Matroska/WebM only have 1 ms timestamps, so there
the pts is rounded to the nearest millisecond (see :func:`container_time_base`), and the self-check
compares against that rounding.

Every audio track of the source is carried (see :mod:`xmem_tui.media.audio`: copied or re-encoded, in
sync, damaged packets skipped with silence in their place). Audio packets are interleaved with video as
it is written (by timestamp), which keeps the muxer's interleaving queue short on long clips.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from xmem_tui.errors import MediaError
from xmem_tui.media.audio import AudioFeed
from xmem_tui.media.color import ColorTags

log = logging.getLogger(__name__)

#: Containers whose muxer forces its own time base.
_FIXED_TIME_BASE = {"matroska": Fraction(1, 1000), "webm": Fraction(1, 1000)}
_EXT_FORMAT = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm"}
#: AVColorSpace values -> swscale colour matrices (unspecified falls back to swscale's default, BT.601).
_SWS_SPACE = {1: "ITU709", 4: "FCC", 5: "ITU601", 6: "SMPTE170M", 7: "SMPTE240M", 9: "BT2020", 10: "BT2020"}


def container_format(path: Path) -> str:
    """The FFmpeg muxer name for an output path, from its extension."""
    try:
        return _EXT_FORMAT[Path(path).suffix.lower()]
    except KeyError:
        raise MediaError(f"{path}: unsupported output extension; use one of {', '.join(_EXT_FORMAT)}.") from None


def container_time_base(fmt: str, source: Fraction) -> Fraction:
    """The time base the output stream will have: the source's unless the container forces its own."""
    return _FIXED_TIME_BASE.get(fmt, source)


def sws_colorspace(space: int | None) -> str:
    """The swscale matrix name for an AVColorSpace value (decode and encode must agree on it)."""
    return _SWS_SPACE.get(int(space or 2), "ITU601")


@dataclass(frozen=True)
class VideoSpec:
    """What to encode.

    Attributes:
        codec: FFmpeg encoder name (libx264, libx265, prores_ks, ffv1, libvpx-vp9).
        pix_fmt: Encoded pixel format (yuv420p, yuva444p10le, yuva420p, gray...).
        width: Coded width (before display rotation).
        height: Coded height.
        time_base: Time base of the pts given to :meth:`VideoEncoder.write` (the source's).
        input_format: Layout of the arrays given to ``write`` (rgb24, rgba, gray).
        options: Encoder private options (crf, preset, profile...), all strings.
        rotation: Counter-clockwise display rotation in degrees, written as the display matrix.
        color: Colour tags to carry; None leaves them unspecified.
        rate_hint: Nominal frame rate some encoders use for rate control only (never for timing).
        codec_tag: FourCC to store (hvc1, ap4h) so editors recognise the stream; None = muxer default.
    """

    codec: str
    pix_fmt: str
    width: int
    height: int
    time_base: Fraction
    input_format: str = "rgb24"
    options: dict[str, str] = field(default_factory=dict)
    rotation: int = 0
    color: ColorTags | None = None
    rate_hint: Fraction | None = None
    codec_tag: str | None = None


def color_args(spec: VideoSpec) -> dict[str, Any]:
    """swscale arguments that convert RGB to ``spec.pix_fmt`` with the source's matrix and range."""
    if spec.pix_fmt in ("gray", "gray16le", "rgba", "rgb24") or spec.codec == "png":
        return {}
    color = spec.color or ColorTags()
    space = sws_colorspace(color.space)
    return {"src_colorspace": space, "dst_colorspace": space, "dst_color_range": "JPEG" if color.range == 2 else "MPEG"}


def to_frame(spec: VideoSpec, image: np.ndarray) -> av.VideoFrame:
    """An array in ``spec.input_format`` as a frame in ``spec.pix_fmt``, ready to encode.

    Separate from :meth:`VideoEncoder.write` so the colour conversion can run on another thread than the
    encoder (the export pipeline does it on its compositing thread).
    """
    image = np.ascontiguousarray(image)
    if spec.input_format != spec.pix_fmt:
        # Wrapping the array (no copy) also makes swscale take its fast path: 3x quicker at 1080p than
        # converting a from_ndarray() frame. The wrapped array only has to outlive reformat().
        frame = av.VideoFrame.from_numpy_buffer(image, format=spec.input_format)
        frame = frame.reformat(format=spec.pix_fmt, **color_args(spec))
    else:
        frame = av.VideoFrame.from_ndarray(image, format=spec.input_format)
    if spec.color is not None:  # some encoders (prores_ks) take the tags from the frame, not the stream
        frame.color_primaries = spec.color.primaries
        frame.color_trc = spec.color.trc
        frame.colorspace = spec.color.space
        frame.color_range = spec.color.range
    return frame


class VideoEncoder:
    """Writes frames at explicit timestamps to one video file, with optional source audio.

    Use as a context manager; leaving it by an exception closes the file without flushing (the caller
    deletes the temporary output). ``write`` takes arrays in ``spec.input_format`` at the coded size.
    ``audio``: "auto" (copy when the container takes the source codec, else re-encode), "copy", "none",
    or an encoder name (aac, libopus, pcm_s16le). ``audio_tracks``: stream indices of the source's audio
    tracks to carry (None: every one); ``audio_shift``: seconds added to the audio's timestamps (the
    shift the caller applied to the video's).
    """

    def __init__(self, path: Path, spec: VideoSpec, *, audio_from: Path | None = None, audio: str = "auto",
                 audio_tracks: Sequence[int] | None = None, audio_shift: Fraction = Fraction(0)) -> None:
        self.path = Path(path)
        self.spec = spec
        self.format = container_format(self.path)
        self.time_base = container_time_base(self.format, spec.time_base)
        options = {"movie_timescale": str(spec.time_base.denominator)} if self.format in ("mp4", "mov") else {}
        if self.format in ("mp4", "mov"):
            options["movflags"] = "+write_colr"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._out = av.open(str(self.path), "w", format=self.format, options=options)
        self._stream = self._out.add_stream(spec.codec, rate=spec.rate_hint)
        self._setup_stream()
        self._audio: list[AudioFeed] = []
        if audio_from is not None and audio != "none":
            if audio_tracks is None:
                with av.open(str(audio_from)) as source:
                    audio_tracks = [s.index for s in source.streams.audio]
            try:
                for index in audio_tracks:
                    self._audio.append(AudioFeed(audio_from, index, self._out, self.format, audio, audio_shift))
            except BaseException:
                self.abort()
                raise
        modes = sorted({feed.mode for feed in self._audio})
        self.audio_mode = "+".join(modes) if modes else None
        self._durations: dict[int, int] = {}
        self.frames = 0

    def _setup_stream(self) -> None:
        spec, stream = self.spec, self._stream
        stream.width, stream.height, stream.pix_fmt = spec.width, spec.height, spec.pix_fmt
        stream.time_base = spec.time_base
        ctx = stream.codec_context
        ctx.time_base = spec.time_base
        ctx.thread_count = 0
        stream.options = dict(spec.options)
        if spec.color is not None:
            ctx.color_range = spec.color.range
            ctx.color_primaries = spec.color.primaries
            ctx.color_trc = spec.color.trc
            ctx.colorspace = spec.color.space
        if spec.codec_tag:
            ctx.codec_tag = spec.codec_tag
        if spec.rotation % 360:
            stream.set_display_rotation(spec.rotation)

    def write(self, image: np.ndarray, pts: int, duration: int | None = None) -> None:
        """Encode one frame shown at ``pts`` (source time base) for ``duration`` ticks (for the last frame)."""
        self.write_frame(to_frame(self.spec, image), pts, duration)

    def write_frame(self, frame: av.VideoFrame, pts: int, duration: int | None = None) -> None:
        """Encode a ready :class:`av.VideoFrame` (any format; converted with the source's colour matrix)."""
        if frame.format.name != self.spec.pix_fmt:
            frame = frame.reformat(format=self.spec.pix_fmt, **color_args(self.spec))
        frame.pts = pts
        frame.time_base = self.spec.time_base
        if duration:
            self._durations[pts] = duration
        for packet in self._stream.encode(frame):
            self._mux_video(packet)
        self.frames += 1

    def _mux_video(self, packet: av.Packet) -> None:
        if packet.pts is not None and packet.time_base == self.spec.time_base:
            known = self._durations.pop(packet.pts, None)
            if known:
                packet.duration = known
        if packet.dts is not None:
            for feed in self._audio:
                feed.pump(float(packet.dts * packet.time_base), self._out.mux)
        self._out.mux(packet)

    def close(self) -> None:
        """Flush the encoder, the rest of the audio, and the file trailer."""
        for packet in self._stream.encode(None):
            self._mux_video(packet)
        for feed in self._audio:
            feed.pump(None, self._out.mux)
            feed.close()
        self._out.close()

    def abort(self) -> None:
        """Close without flushing (the file is incomplete; the caller removes it)."""
        try:
            for feed in self._audio:
                feed.close()
            self._out.close()
        except (av.FFmpegError, OSError, ValueError):
            log.debug("closing an aborted output failed", exc_info=True)

    def __enter__(self) -> VideoEncoder:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
