"""Bad video files made on purpose: truncated, zero-frame, audio-only, and headers that lie."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from xmem_tui.media.synthetic import SceneSpec, render_scene


def truncated(source: Path, path: Path) -> Path:
    """The first half of an MP4 whose index (moov) is written last: the index is gone."""
    data = source.read_bytes()
    assert data.find(b"moov") > len(data) // 2, "the clip's index is not at the end"
    path.write_bytes(data[: len(data) // 2])
    return path


def zero_frames(path: Path) -> Path:
    """A valid MP4 with a video stream and not one frame."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height = 64, 48
    return path


def audio_only(path: Path) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=48000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate, frame.pts = 48000, 0
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def lying_header(path: Path, n_frames: int = 20, header_fps: int = 60, junk_packets: int = 0) -> list[float]:
    """Frames of a synthetic scene at a real 24 fps (time base 1/24) under a header that says otherwise.

    ``header_fps`` is the rate written to the stream header (MKV keeps it as the stream's average rate).
    ``junk_packets`` undecodable packets are muxed after the real ones, so an MP4's sample table (and
    ``stream.frames``) claims that many frames more than decode. Returns the real timestamps (seconds).
    """
    frames, _ = render_scene(SceneSpec(n_frames=n_frames, seed=4))
    tb = Fraction(1, 24)
    pts = list(range(n_frames))
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=header_fps)
        stream.width, stream.height, stream.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        stream.time_base = stream.codec_context.time_base = tb
        stream.codec_context.options = {"bf": "0"}
        for image, p in zip(frames, pts, strict=True):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = p, tb
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
        for k in range(junk_packets):
            packet = av.Packet(bytes(64))
            packet.stream, packet.time_base = stream, tb
            packet.pts = packet.dts = n_frames + k
            container.mux(packet)
    return [float(p * tb) for p in pts]
