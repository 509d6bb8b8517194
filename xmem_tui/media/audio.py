"""Source audio carried into an export: every track, copied or re-encoded, in sync even when damaged.

One :class:`AudioFeed` per source audio track. A track is copied packet by packet when the container can
hold it exactly, else decoded and re-encoded (AAC for MP4/MOV, Opus for WebM, FLAC for MKV, or what the
user asked for) with its first sample at the source's first decoded audio time, so the A/V offset is the
source's. "Exactly" rules out copying audio whose priming packet starts before zero (AAC) into Matroska:
without MP4's edit list the muxer would shift every stream, video included.

Damage never stops an export and never moves the sound against the picture. A packet that does not
decode is skipped (one warning per track), and the re-encoder places every decoded frame at its own
timestamp: a hole left by a skipped packet (or any gap in the source's timestamps) is filled with
silence, so everything after it stays where it was; a damaged last packet is padded to its end. A copied
track goes out as it came in (the player conceals a damaged packet, as it would in the source).

:func:`audio_span` measures a file's audio (first decoded sample, end, one frame's length) for the
self-check, which wants every track's duration within one audio frame of the source's.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
from av.audio.frame import format_dtypes

from xmem_tui.errors import MediaError
from xmem_tui.media.timeline import rescale

log = logging.getLogger(__name__)

#: Audio codecs each container takes as a stream copy that editors also read; ``None`` = anything.
COPYABLE_AUDIO: dict[str, set[str] | None] = {
    "mp4": {"aac", "mp3", "alac", "ac3", "eac3"},
    "mov": {"aac", "mp3", "alac", "ac3", "eac3", "pcm_s16le", "pcm_s24le"},
    "matroska": None,
    "webm": {"opus", "vorbis"},
}
#: Audio encoder used when the source audio cannot be copied.
AUDIO_ENCODER = {"mp4": "aac", "mov": "aac", "matroska": "flac", "webm": "libopus"}
#: Containers whose edit lists represent audio that starts before zero (AAC priming) when copied.
_EDIT_LISTS = {"mp4", "mov"}
#: A hole in the source's audio shorter than this is timestamp rounding (Matroska stores milliseconds).
_MIN_GAP = Fraction(1, 500)


def silence_like(frame: av.AudioFrame, samples: int) -> av.AudioFrame:
    """``samples`` samples of silence in ``frame``'s format, layout and rate (fed before it to fill a hole)."""
    fmt = frame.format
    channels = frame.layout.nb_channels
    shape = (channels, samples) if fmt.is_planar else (1, samples * channels)
    quiet = np.full(shape, 128 if fmt.packed.name == "u8" else 0, format_dtypes[fmt.name])
    out = av.AudioFrame.from_ndarray(quiet, format=fmt.name, layout=frame.layout.name)
    out.sample_rate = frame.sample_rate
    return out


class AudioFeed:
    """One source audio track, copied or re-encoded into ``out``, handed over in timestamp order.

    Args:
        source: The source file.
        index: The track's stream index in ``source``.
        out: The output container.
        fmt: The output muxer name (mp4, mov, matroska, webm).
        codec: "auto" (copy when ``fmt`` takes the track, else re-encode), "copy", or an encoder name.
        shift: Seconds added to every timestamp (the video's shift, when it starts before zero).
    """

    def __init__(self, source: Path, index: int, out: av.container.OutputContainer, fmt: str, codec: str,
                 shift: Fraction = Fraction(0)) -> None:
        self.source = Path(source)
        self._shift = shift
        self._in = av.open(str(source))
        src = next(s for s in self._in.streams.audio if s.index == index)
        self.track = index
        name = src.codec_context.name
        self._packets = self._in.demux(src)
        self._ahead: list[av.Packet] = []  # read by _first_pts, handed out first by _next_packet
        allowed = COPYABLE_AUDIO[fmt]
        copyable = (allowed is None or name in allowed) and (fmt in _EDIT_LISTS or self._first_pts() >= 0)
        if codec == "copy" and not copyable:
            self._in.close()
            raise MediaError(f"{source}: {name} audio cannot be copied into {fmt}; use audio=auto to re-encode it.")
        copy = codec == "copy" or (codec == "auto" and copyable)
        self.mode = "copy" if copy else "encode"
        self.damaged = 0
        if copy:
            self._out = out.add_stream_from_template(src)
        else:
            encoder = AUDIO_ENCODER[fmt] if codec == "auto" else codec
            rate = 48000 if encoder == "libopus" else (src.rate or 48000)
            self._out = out.add_stream(encoder, rate=rate)
            self._out.layout = "stereo" if src.codec_context.layout.nb_channels >= 2 else "mono"
            self._out.time_base = self._out.codec_context.time_base = self._tb = Fraction(1, rate)
            self._resampler: av.AudioResampler | None = None
            self._next_pts: int | None = None
            self._fed_end: Fraction | None = None  # source time just after the last sample given to the resampler
            self._damaged_from: Fraction | None = None  # a damaged packet before the first decoded frame
            self._damaged_to: Fraction | None = None  # the end of the latest damaged packet
            self._last: av.AudioFrame | None = None
        self._pending: list[av.Packet] = []
        self._done = False

    def _first_pts(self) -> int:
        """pts of the track's first packet; negative when the codec's priming samples precede time zero."""
        while (packet := self._read()) is not None:
            self._ahead.append(packet)
            if packet.pts is not None:
                return int(packet.pts)
        return 0

    def _next_packet(self) -> av.Packet | None:
        return self._ahead.pop(0) if self._ahead else self._read()

    def _read(self) -> av.Packet | None:
        try:
            return next(self._packets, None)
        except av.FFmpegError as exc:  # a truncated file: the track ends where its data does
            log.warning("%s: audio track #%d ends early (%s)", self.source, self.track, exc)
            return None

    def _produce(self) -> Iterator[av.Packet]:
        """Output packets for the next source packet (empty when nothing came out of it)."""
        packet = self._next_packet()
        if packet is None or (packet.size == 0 and packet.pts is None):
            self._done = True
            if self.mode == "encode":
                yield from self._finish()
            return
        if self.mode == "copy":
            if packet.dts is None:
                return
            if self._shift:
                ticks = rescale(self._shift, Fraction(1), packet.time_base)
                packet.dts += ticks
                if packet.pts is not None:
                    packet.pts += ticks
            packet.stream = self._out
            yield packet
            return
        try:
            frames = packet.decode()
        except (av.error.InvalidDataError, av.FFmpegError) as exc:
            self._skip(packet, exc)
            return
        for frame in frames:
            yield from self._send(self._resample(frame))

    def _skip(self, packet: av.Packet, exc: Exception) -> None:
        """A packet that does not decode: warn once per track, remember where it lies (silence goes there)."""
        self.damaged += 1
        when = packet.pts * packet.time_base if packet.pts is not None else None
        if self.damaged == 1:
            at = f" at {float(when):.3f} s" if when is not None else ""
            log.warning("%s: audio track #%d: a damaged packet%s was skipped (%s); silence fills the gap, sync holds "
                        "(further damaged packets of this track are skipped the same way)", self.source, self.track,
                        at, " ".join(str(exc).split())[:120])
        if when is None:
            return
        if self._resampler is None and (self._damaged_from is None or when < self._damaged_from):
            self._damaged_from = when
        if packet.duration:
            end = (packet.pts + packet.duration) * packet.time_base
            self._damaged_to = end if self._damaged_to is None else max(self._damaged_to, end)

    def _resample(self, frame: av.AudioFrame) -> list[av.AudioFrame]:
        """Frames for the encoder, with silence first where the source's audio has a hole before ``frame``."""
        out = self._out
        when = frame.pts * frame.time_base if frame.pts is not None else None
        if self._resampler is None:
            self._resampler = av.AudioResampler(format=out.codec_context.format, layout=out.layout,
                                                rate=out.rate, frame_size=out.codec_context.frame_size or None)
            start = when if when is not None else Fraction(0)
            if self._damaged_from is not None:  # the track starts where its first (damaged) packet does
                start = min(start, self._damaged_from)
            self._next_pts = rescale(start + self._shift, Fraction(1), self._tb)
            self._fed_end = start
        chunks: list[av.AudioFrame] = []
        assert self._fed_end is not None
        if when is not None:
            hole = when - self._fed_end
            if hole > max(_MIN_GAP, Fraction(frame.samples, 2 * frame.sample_rate)):
                chunks += self._resampler.resample(silence_like(frame, round(hole * frame.sample_rate)))
            self._fed_end = when
        chunks += self._resampler.resample(frame)
        self._fed_end += Fraction(frame.samples, frame.sample_rate)
        self._last = frame
        return chunks

    def _send(self, chunks: list[av.AudioFrame]) -> Iterator[av.Packet]:
        out = self._out
        for chunk in chunks:  # in samples: the muxer may give the stream another time base (Matroska: 1 ms)
            chunk.pts = self._next_pts
            chunk.time_base = self._tb
            self._next_pts += chunk.samples  # type: ignore[operator]
            yield from out.encode(chunk)

    def _finish(self) -> Iterator[av.Packet]:
        """Pad a damaged ending with silence up to its end, then flush the resampler and the encoder."""
        chunks: list[av.AudioFrame] = []
        if self._resampler is not None:
            last, fed, damaged = self._last, self._fed_end, self._damaged_to
            if last is not None and fed is not None and damaged is not None and damaged - fed > _MIN_GAP:
                chunks += self._resampler.resample(silence_like(last, round((damaged - fed) * last.sample_rate)))
            chunks += self._resampler.resample(None)
        yield from self._send(chunks)
        yield from self._out.encode(None)

    def pump(self, until_s: float | None, mux: Any) -> None:
        """Mux every audio packet that starts before ``until_s`` seconds (all of them when None)."""
        while not self._done or self._pending:
            if not self._pending:
                self._pending.extend(self._produce())
                continue
            packet = self._pending[0]
            when = packet.pts if packet.pts is not None else packet.dts
            if until_s is not None and when is not None and float(when * packet.time_base) > until_s:
                return
            mux(self._pending.pop(0))

    def close(self) -> None:
        self._in.close()


#: A sample this loud (fraction of full scale, -40 dBFS) is sound; the first one marks a track's onset.
ONSET_LEVEL = 0.01


@dataclass(frozen=True)
class AudioSpan:
    """One audio track as decoded: its first sample, its first audible sample (``onset``; None if it is
    silent throughout), its end and one frame's length, in seconds.

    The onset is what lines sound up with picture: a re-encoded or copied track may start with the
    encoder's priming samples (silence decoded ahead of the first real sample, 1024 for AAC) where the
    container has no edit list to hide them, which moves ``start`` but not the sound.
    """

    index: int
    start: Fraction
    end: Fraction
    frame: Fraction
    damaged: int
    onset: Fraction | None = None

    @property
    def duration(self) -> Fraction:
        return self.end - self.start


def audio_span(path: Path) -> list[AudioSpan]:
    """Every audio track of ``path`` decoded (damaged packets skipped and counted), in stream order.

    A damaged packet counts with its own time (an export puts silence there): the start is the earliest
    decoded frame or damaged packet, the end the latest end of either.
    """
    found: dict[int, dict[str, Any]] = {}
    with av.open(str(path)) as container:
        streams = list(container.streams.audio)
        order = [s.index for s in streams]  # read now: a stream must not be touched once the file is closed
        if not streams:
            return []
        packets = container.demux(*streams)
        while True:
            try:
                packet = next(packets, None)
            except av.FFmpegError:
                break
            if packet is None:
                break
            track = found.setdefault(packet.stream.index, {"start": None, "end": None, "frame": Fraction(0),
                                                           "damaged": 0, "onset": None})
            try:
                frames = packet.decode()
            except av.FFmpegError:  # the export fills it with silence: count its time as the track's
                track["damaged"] += 1
                if packet.pts is not None:
                    at = packet.pts * packet.time_base
                    stop = at + packet.duration * packet.time_base
                    track["start"] = at if track["start"] is None else min(track["start"], at)
                    track["end"] = stop if track["end"] is None else max(track["end"], stop)
                continue
            for frame in frames:
                if frame.pts is None or not frame.sample_rate:
                    continue
                at = frame.pts * frame.time_base
                length = Fraction(frame.samples, frame.sample_rate)
                track["start"] = at if track["start"] is None else min(track["start"], at)
                track["end"] = at + length if track["end"] is None else max(track["end"], at + length)
                track["frame"] = max(track["frame"], length)
                if track["onset"] is None:
                    loud = _first_loud(frame)
                    if loud is not None:
                        track["onset"] = at + Fraction(loud, frame.sample_rate)
    return [AudioSpan(i, t["start"], t["end"], t["frame"], t["damaged"], t["onset"])
            for i in order if (t := found.get(i)) and t["start"] is not None]


def _first_loud(frame: av.AudioFrame) -> int | None:
    """Index of the first sample of ``frame`` at or above :data:`ONSET_LEVEL` in any channel, or None."""
    data = frame.to_ndarray()
    scale = 1.0
    if np.issubdtype(data.dtype, np.integer):
        info = np.iinfo(data.dtype)
        scale = float(info.max)
        if info.min == 0:  # unsigned: silence sits in the middle
            data = data.astype(np.int64) - (info.max + 1) // 2
            scale = float((info.max + 1) // 2)
    channels = frame.layout.nb_channels
    planes = data if frame.format.is_planar else data.reshape(-1, channels).T
    loud = np.flatnonzero((np.abs(planes) >= ONSET_LEVEL * scale).any(axis=0))
    return int(loud[0]) if loud.size else None
