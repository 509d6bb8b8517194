"""Generated conformance clips: the containers, codecs, pixel formats, audio and timing users bring.

Every case of :data:`CASES` is written with PyAV from a synthetic scene with ground-truth masks
(:func:`~xmem_tui.media.synthetic.render_scene`), tiny and short so a whole matrix runs in minutes: the
media tests run the cases marked ``ci`` (``tests/e2e/test_media_matrix.py``), ``pytest -m slow`` and
``bench/media_matrix.py`` run them all. Nothing is committed; the files are made where the caller says.

Besides plain encodes, :func:`write_case` makes the awkward files found in the wild:

* ``packed``: MPEG-4 Part 2 with B-frames stored the DivX/Xvid way in AVI ("packed bitstream": a P-VOP
  and the B-VOP shown before it in one chunk, then a tiny placeholder N-VOP chunk). FFmpeg decodes it in
  display order but labels frames with the chunks' storage-order timestamps (1, 3, 2, 5, 4, ...).
* a negative start time in Matroska: the frames before zero come out of the demuxer with no timestamp.
* ``damage_audio``: one audio packet of each track overwritten with zeros (it no longer decodes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from xmem_tui.media.synthetic import VFR_TIME_BASE, SceneSpec, render_scene, vfr_pts

FORMATS = {".mp4": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm", ".avi": "avi", ".ts": "mpegts"}
AUDIO_RATE = 48000
#: DivX 5 user data whose trailing "p" tells FFmpeg's MPEG-4 decoder that B-frames are packed.
_DIVX_PACKED = b"\x00\x00\x01\xb2DivX503b1393p"
_VOP = b"\x00\x00\x01\xb6"


@dataclass(frozen=True)
class Case:
    """One file of the matrix.

    Attributes:
        name: Short unique name (the file is ``<name><ext>``).
        ext: Container by file extension (see :data:`FORMATS`).
        video: Video encoder (libx264, libx265, mpeg4, libvpx-vp9, prores_ks, mjpeg, ffv1).
        pix_fmt: Encoded pixel format.
        audio: One encoder per audio track (aac, ac3, eac3, libmp3lame, pcm_s16le, libopus, flac, vorbis).
        vfr: Irregular frame times (:func:`~xmem_tui.media.synthetic.vfr_pts`) instead of ``fps``.
        rotation: Clockwise display rotation (0/90/180/270): frames stored turned, a display matrix set.
        start: Time of the first frame in seconds (negative allowed).
        bframes: B-frames between references (0: none).
        packed: MPEG-4 Part 2 B-frames packed DivX-style (AVI only).
        damage_audio: Overwrite this audio packet (by position) of every track so it does not decode.
        fps: Frame rate of constant-rate cases.
        frames: Number of frames.
        gop: Keyframe interval in frames (several GOPs make random access seek).
        ci: Part of the representative set the default test run covers.
        options: Extra video encoder options.
    """

    name: str
    ext: str
    video: str
    pix_fmt: str = "yuv420p"
    audio: tuple[str, ...] = ()
    vfr: bool = False
    rotation: int = 0
    start: Fraction = Fraction(0)
    bframes: int = 0
    packed: bool = False
    damage_audio: int | None = None
    fps: Fraction = Fraction(24)
    frames: int = 12
    gop: int = 6
    ci: bool = False
    options: dict[str, str] = field(default_factory=dict)

    @property
    def time_base(self) -> Fraction:
        return VFR_TIME_BASE if self.vfr else 1 / self.fps

    def pts(self) -> list[int]:
        """Every frame's timestamp in :attr:`time_base` ticks, as written."""
        offset = round(self.start / self.time_base)
        base = vfr_pts(self.frames, seed=1) if self.vfr else list(range(self.frames))
        return [offset + p for p in base]


_F = Fraction
CASES: tuple[Case, ...] = (
    Case("mp4_h264_bframes_aac", ".mp4", "libx264", audio=("aac",), bframes=2, ci=True),
    Case("mp4_h264_vfr_rot90_aac", ".mp4", "libx264", audio=("aac",), vfr=True, rotation=90, bframes=2, ci=True),
    Case("mov_prores_422p10_pcm_start2", ".mov", "prores_ks", "yuv422p10le", audio=("pcm_s16le",), start=_F(2),
         ci=True),
    Case("mkv_hevc10_flac_vorbis", ".mkv", "libx265", "yuv420p10le", audio=("flac", "vorbis"), bframes=2, ci=True),
    Case("webm_vp9_opus", ".webm", "libvpx-vp9", audio=("libopus",), ci=True),
    Case("avi_mpeg4_packed_ac3", ".avi", "mpeg4", audio=("ac3",), bframes=1, packed=True, fps=_F(2997, 125),
         frames=16, ci=True),
    Case("ts_h264_mp3", ".ts", "libx264", audio=("libmp3lame",), bframes=2, ci=True),
    Case("mkv_ffv1_444_eac3_start2", ".mkv", "ffv1", "yuv444p", audio=("eac3",), start=_F(2), ci=True),
    Case("avi_mjpeg_yuvj420p_pcm", ".avi", "mjpeg", "yuvj420p", audio=("pcm_s16le",), ci=True),
    Case("mp4_hevc8_ac3_rot270", ".mp4", "libx265", audio=("ac3",), rotation=270, bframes=2, ci=True),
    Case("mkv_h264_negative_start", ".mkv", "libx264", start=_F(-1, 8), ci=True),
    Case("mkv_vp9_vfr_two_tracks", ".mkv", "libvpx-vp9", audio=("libopus", "aac"), vfr=True, ci=True),
    # The rest run in `pytest -m slow` and bench/media_matrix.py.
    Case("avi_mpeg4_packed_ac3_damaged", ".avi", "mpeg4", audio=("ac3",), bframes=1, packed=True,
         fps=_F(2997, 125), frames=16, damage_audio=3),
    Case("avi_mpeg4_bframes_mp3", ".avi", "mpeg4", audio=("libmp3lame",), bframes=2),
    Case("mp4_mpeg4_bframes_aac", ".mp4", "mpeg4", audio=("aac",), bframes=2),
    Case("mov_h264_444_aac_rot180", ".mov", "libx264", "yuv444p", audio=("aac",), rotation=180, bframes=2),
    Case("mov_mjpeg_yuvj420p_pcm", ".mov", "mjpeg", "yuvj420p", audio=("pcm_s16le",)),
    Case("mov_prores_444_two_tracks", ".mov", "prores_ks", "yuv444p10le", audio=("aac", "pcm_s16le")),
    Case("mkv_ffv1_422p10_opus_vfr", ".mkv", "ffv1", "yuv422p10le", audio=("libopus",), vfr=True),
    Case("mkv_h264_rot90_flac", ".mkv", "libx264", audio=("flac",), rotation=90, bframes=2),
    Case("mkv_mpeg4_vorbis", ".mkv", "mpeg4", audio=("vorbis",), bframes=2),
    Case("webm_vp9_vfr_vorbis", ".webm", "libvpx-vp9", audio=("vorbis",), vfr=True),
    Case("webm_vp9_444_none", ".webm", "libvpx-vp9", "yuv444p"),
    Case("ts_hevc_ac3", ".ts", "libx265", audio=("ac3",), bframes=2),
    Case("ts_h264_two_tracks_start10", ".ts", "libx264", audio=("aac", "ac3"), start=_F(10)),
    Case("mp4_h264_yuvj420p_none", ".mp4", "libx264", "yuvj420p"),
    Case("mp4_hevc10_vfr_eac3", ".mp4", "libx265", "yuv420p10le", audio=("eac3",), vfr=True, bframes=2),
    Case("mp4_h264_2997_aac_damaged", ".mp4", "libx264", audio=("aac",), fps=_F(30000, 1001), damage_audio=4),
)


def case(name: str) -> Case:
    """The case called ``name``."""
    return next(c for c in CASES if c.name == name)


@dataclass(frozen=True)
class WrittenCase:
    """What :func:`write_case` wrote: the file, each frame's true presentation time and the ground truth.

    Attributes:
        path: The file.
        times: Presentation time of every frame in seconds (display order), as encoded.
        frames: The rendered frames (display orientation).
        masks: Ground-truth index masks (display orientation).
        audio_s: Length of each audio track in seconds, as encoded.
    """

    path: Path
    times: list[Fraction]
    frames: list[np.ndarray]
    masks: list[np.ndarray]
    audio_s: Fraction


def write_case(c: Case, folder: Path, size: tuple[int, int] = (96, 64),
               footage: tuple[list[np.ndarray], list[np.ndarray]] | None = None) -> WrittenCase:
    """Write case ``c`` into ``folder`` at ``size`` (width, height, display orientation).

    ``footage`` (RGB frames and their index masks, e.g. a DAVIS sequence) replaces the synthetic scene;
    its first ``c.frames`` frames are written at their own size. Sides stay at 64 pixels or more:
    libx265 writes past its buffers on narrower frames.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{c.name}{c.ext}"
    if footage is None:
        spec = SceneSpec(height=size[1], width=size[0], n_frames=c.frames, n_objects=2, seed=len(c.name))
        frames, masks = render_scene(spec)
    else:
        frames, masks = list(footage[0][:c.frames]), list(footage[1][:c.frames])
        size = (frames[0].shape[1], frames[0].shape[0])
    pts = c.pts()
    tb = c.time_base
    end = (pts[-1] + (pts[-1] - pts[-2])) * tb
    options = {"avoid_negative_ts": "disabled"} if c.start < 0 else {}  # else the muxer shifts it to zero
    with av.open(str(path), "w", format=FORMATS[c.ext], options=options) as out:
        video = _video_stream(out, c, size)
        tracks = [_AudioTrack(out, codec, pts[0] * tb, end, c.damage_audio) for codec in c.audio]
        if c.packed:
            packets = _packed_packets(c, frames, size)
            for j, data in enumerate(packets):
                for track in tracks:
                    track.mux_until((pts[0] + j) * tb)
                packet = av.Packet(data[0])
                packet.pts = packet.dts = pts[0] + j
                packet.time_base = tb
                packet.stream = video
                packet.is_keyframe = data[1]
                out.mux(packet)
        else:
            for image, p in zip(frames, pts, strict=True):
                for track in tracks:
                    track.mux_until(p * tb)
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(np.rot90(image, k=c.rotation // 90)),
                                                   format="rgb24")
                frame.pts, frame.time_base = p, tb
                out.mux(video.encode(frame))
            out.mux(video.encode(None))
        for track in tracks:
            track.finish()
    return WrittenCase(path, [p * tb for p in pts], frames, masks, end - pts[0] * tb)


def _video_stream(out: av.container.OutputContainer, c: Case, size: tuple[int, int]) -> av.VideoStream:
    rate = Fraction(c.fps).limit_denominator(1001)
    stream = out.add_stream("mpeg4" if c.packed else c.video, rate=rate)
    width, height = (size[1], size[0]) if c.rotation in (90, 270) else size
    stream.width, stream.height, stream.pix_fmt = width, height, c.pix_fmt
    stream.time_base = stream.codec_context.time_base = c.time_base
    options = {"g": str(c.gop)}
    if c.video == "libx264":
        options.update(preset="veryfast", bf=str(c.bframes))
    elif c.video == "libx265":
        options["x265-params"] = f"bframes={c.bframes}:keyint={c.gop}:log-level=error"
    elif c.video == "mpeg4":
        options["bf"] = str(c.bframes)
    elif c.video == "libvpx-vp9":
        options.update(deadline="realtime", **{"cpu-used": "8"})
    stream.options = {**options, **c.options}
    if c.packed:
        stream.codec_context.codec_tag = "DX50"
    if c.rotation:
        stream.set_display_rotation(-c.rotation)  # PyAV takes counter-clockwise degrees
    return stream


def _packed_packets(c: Case, frames: list[np.ndarray], size: tuple[int, int]) -> list[tuple[bytes, bool]]:
    """MPEG-4 Part 2 chunks the DivX way: each reference with the B-frames shown before it, then one
    N-VOP placeholder per B-frame (FFmpeg's decoder ignores its content once it knows the stream is packed)."""
    enc = av.CodecContext.create("mpeg4", "w")
    enc.width, enc.height, enc.pix_fmt = size[0], size[1], "yuv420p"
    enc.time_base = c.time_base
    enc.framerate = c.fps
    enc.options = {"bf": str(c.bframes), "g": str(c.gop)}
    coded: list[bytes] = []
    for i, image in enumerate(frames):
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts = i
        coded += [bytes(p) for p in enc.encode(frame)]
    coded += [bytes(p) for p in enc.encode(None)]
    at = coded[0].find(_VOP)
    coded[0] = coded[0][:at] + _DIVX_PACKED + coded[0][at:]
    chunks: list[tuple[bytes, bool]] = []
    i = 0
    while i < len(coded):
        reference, kind = coded[i], _vop_type(coded[i])
        i += 1
        bframes = []
        while i < len(coded) and _vop_type(coded[i]) == "B":
            bframes.append(coded[i])
            i += 1
        chunks.append((reference + b"".join(bframes), kind == "I"))
        chunks += [(_nvop(c.time_base.denominator), False)] * len(bframes)
    return chunks


def _nvop(resolution: int) -> bytes:
    """A not-coded P-VOP ("N-VOP") header: the placeholder a packed stream stores after each packed chunk."""
    bits = "01" + "0" + "1" + "0" * (resolution - 1).bit_length() + "1" + "0"  # type, time base, marker, increment
    bits += "0" + "1" * (-(len(bits) + 1) % 8)  # stuffing to the byte boundary
    return _VOP + int(bits, 2).to_bytes(len(bits) // 8, "big")


def _vop_type(data: bytes) -> str:
    at = data.find(_VOP)
    return "IPBS"[data[at + 4] >> 6]


class _AudioTrack:
    """A 440 Hz stereo tone from ``start`` to ``end`` (seconds), encoded and muxed as the video advances."""

    def __init__(self, out: av.container.OutputContainer, codec: str, start: Fraction, end: Fraction,
                 damage: int | None) -> None:
        self.out = out
        self.stream = out.add_stream(codec, rate=AUDIO_RATE, layout="stereo")
        if codec == "vorbis":
            self.stream.codec_context.options = {"strict": "-2"}  # FFmpeg's own Vorbis encoder is experimental
        self.stream.codec_context.open(strict=False)
        ctx = self.stream.codec_context
        self.resampler = av.AudioResampler(format=ctx.format.name, layout="stereo", rate=AUDIO_RATE,
                                           frame_size=ctx.frame_size or 1024)
        self.first = round(start * AUDIO_RATE)
        self.total = round((end - start) * AUDIO_RATE)
        self.done = 0
        self.damage = damage
        self.packets = 0

    def mux_until(self, t: Fraction) -> None:
        """Encode and mux the tone up to time ``t``."""
        want = min(self.total, max(0, round(t * AUDIO_RATE) - self.first))
        while self.done < want:
            n = min(1024, self.total - self.done)
            i = np.arange(self.done, self.done + n, dtype=np.float64) / AUDIO_RATE
            wave = (0.2 * np.sin(2 * np.pi * 440 * i)).astype(np.float32)
            frame = av.AudioFrame.from_ndarray(np.stack([wave, wave]), format="fltp", layout="stereo")
            frame.sample_rate, frame.time_base, frame.pts = AUDIO_RATE, Fraction(1, AUDIO_RATE), self.first + self.done
            self.done += n
            for chunk in self.resampler.resample(frame):
                self._mux(self.stream.encode(chunk))

    def finish(self) -> None:
        self.mux_until(Fraction(self.first + self.total, AUDIO_RATE))
        for chunk in self.resampler.resample(None):
            self._mux(self.stream.encode(chunk))
        self._mux(self.stream.encode(None))

    def _mux(self, packets: list[av.Packet]) -> None:
        for packet in packets:
            if self.packets == self.damage:
                packet = _zeroed(packet)
            self.packets += 1
            self.out.mux(packet)


def _zeroed(packet: av.Packet) -> av.Packet:
    """The same packet (timing, stream) with every byte zero: it no longer decodes."""
    broken = av.Packet(bytes(packet.size))
    broken.pts, broken.dts, broken.duration = packet.pts, packet.dts, packet.duration
    broken.time_base, broken.stream = packet.time_base, packet.stream
    return broken
