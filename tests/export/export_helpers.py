"""Helpers shared by the export tests: run an export job, decode what it wrote, compare with masks."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from xmem_tui.config import Settings
from xmem_tui.media.synthetic import SceneSpec, WrittenClip

SPEC = SceneSpec(height=96, width=160, n_frames=20, n_objects=2, seed=5)
CLIPS = {
    "cfr": {},
    "vfr": {"vfr": True},
    "rotated": {"rotation": 90, "vfr": True},
    "audio": {"audio": True, "vfr": True},
}


def run(settings: Settings, video: Path, **params: Any) -> tuple[list[Path], dict[str, Any]]:
    """Run an export job to completion; returns the outputs and the self-check report."""
    import json

    from xmem_tui.export.job import run_export
    from xmem_tui.export.request import ExportRequest

    last = None
    for progress in run_export(ExportRequest(**params), settings, video, lambda: False):
        last = progress
    assert last is not None and last.message == "self-check passed", last
    outputs = [Path(p) for p in last.stats["outputs"]]
    report = json.loads(Path(last.stats["report"]).read_text())
    return outputs, report


def decode(path: Path, fmt: str = "rgb24", decoder: str | None = None) -> tuple[list[Fraction], list[np.ndarray], int]:
    """Every frame's time in seconds (exact), its pixels in ``fmt`` (coded orientation) and the rotation."""
    times, images = [], []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        if decoder:  # e.g. libvpx-vp9, the only VP9 decoder that reads the alpha plane
            ctx = av.CodecContext.create(decoder, "r")
            frames = [f for p in container.demux(stream) if p.size for f in ctx.decode(p)]
        else:
            frames = list(container.decode(stream))
        for frame in frames:
            times.append(frame.pts * stream.time_base)
            images.append(frame.to_ndarray(format=fmt))
    with av.open(str(path)) as container:  # the display matrix reaches frames only through the stream's decoder
        rotation = int(next(container.decode(video=0)).rotation or 0)
    return times, images, rotation


def audio_start(path: Path) -> Fraction | None:
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return None
        frame = next(container.decode(container.streams.audio[0]))
        return frame.pts * frame.time_base


def upright(image: np.ndarray, rotation: int) -> np.ndarray:
    """Coded image -> display orientation (rotation is counter-clockwise degrees, as PyAV reports it)."""
    return np.rot90(image, k=rotation // 90)


def interior(mask: np.ndarray, label: int | None = None, margin: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Pixels safely inside and safely outside the object(s), away from edges where upscaling blends."""
    import cv2

    inside = (mask == label) if label else (mask > 0)
    kernel = np.ones((2 * margin + 1, 2 * margin + 1), np.uint8)
    core = cv2.erode(inside.astype(np.uint8), kernel).astype(bool)
    outside = ~cv2.dilate(inside.astype(np.uint8), kernel).astype(bool)
    return core, outside


def seconds(clip: WrittenClip) -> list[Fraction]:
    return [p * clip.time_base for p in clip.pts]
