"""Deterministic synthetic clips with known ground truth, for the demo, tests and benchmarks.

A scene is a textured background seen by a panning camera, with 1-3 textured objects (stripes, checker
or noise) that move, rotate, deform a little and pass in front of each other, under brightness flicker
and sensor noise. That is realistic enough that optical flow and GrabCut behave as on real footage, yet
every pixel's label is known. Everything derives from ``SceneSpec.seed``, so a spec always renders the
same frames. :func:`write_clip` encodes a scene with PyAV as a constant- or variable-frame-rate file,
optionally rotated (display matrix) and with an audio track, and returns the exact timestamps written.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from xmem_tui.media.timeline import rescale

_TEXTURES = ("stripes", "checker", "noise")
VFR_TIME_BASE = Fraction(1, 1200)
"""Encoder time base of VFR clips: a multiple of both 1/24 s and 1/60 s ticks."""


@dataclass(frozen=True)
class SceneSpec:
    """What to render. Sizes in pixels, speeds in pixels per frame.

    Attributes:
        height: Frame height (even, for 4:2:0 encoding).
        width: Frame width (even).
        n_frames: Number of frames.
        n_objects: Number of objects, 1-3 (labels 1..n_objects).
        seed: Seeds every random choice (textures, colours, paths, noise).
        pan: Camera pan (dx, dy) per frame; the background slides by this much.
        motion: Multiplier of object speed (1.0: about 2 % of the width per frame).
        deform: Relative amplitude of the objects' shape wobble.
        flicker: Relative amplitude of the global brightness flicker.
        noise: Standard deviation of the per-pixel sensor noise, in grey levels.
        fps: Nominal frame rate used by :func:`write_clip` for constant-rate clips.
    """

    height: int = 96
    width: int = 160
    n_frames: int = 24
    n_objects: int = 2
    seed: int = 0
    pan: tuple[float, float] = (1.0, 0.3)
    motion: float = 1.0
    deform: float = 0.08
    flicker: float = 0.04
    noise: float = 2.0
    fps: float = 24.0

    def __post_init__(self) -> None:
        if not 1 <= self.n_objects <= 3:
            raise ValueError(f"n_objects must be 1-3, got {self.n_objects}")
        if self.height < 16 or self.width < 16 or self.height % 2 or self.width % 2:
            raise ValueError(f"frame size must be even and at least 16x16, got {self.width}x{self.height}")
        if self.n_frames < 1:
            raise ValueError(f"n_frames must be at least 1, got {self.n_frames}")


@dataclass(frozen=True)
class _Object:
    radius: float
    aspect: float
    lobes: int
    phase: float
    x0: float
    y0: float
    vx: float
    bob: float
    bob_phase: float
    angle0: float
    spin: float
    patch: np.ndarray  # float32 (S, S, 3) texture in object coordinates, centred


def _background(spec: SceneSpec, rng: np.random.Generator) -> tuple[np.ndarray, float, float]:
    """A textured canvas large enough for the whole pan, and the top-left offset of frame 0."""
    pad_x = math.ceil(abs(spec.pan[0]) * spec.n_frames) + 4
    pad_y = math.ceil(abs(spec.pan[1]) * spec.n_frames) + 4
    h, w = spec.height + pad_y, spec.width + pad_x
    coarse = rng.uniform(40, 200, size=(max(2, h // 24), max(2, w // 24), 3)).astype(np.float32)
    canvas = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
    fine = cv2.GaussianBlur(rng.normal(0, 1, size=(h, w)).astype(np.float32), (0, 0), 1.2)
    canvas += (fine * 25)[..., None]
    for _ in range(max(4, h * w // 1500)):  # blobs and bars give flow and GrabCut real structure
        colour = tuple(float(c) for c in rng.uniform(20, 235, size=3))
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        size = int(rng.integers(2, max(3, min(h, w) // 10)))
        if rng.random() < 0.5:
            cv2.circle(canvas, (x, y), size, colour, -1, lineType=cv2.LINE_AA)
        else:
            cv2.rectangle(canvas, (x, y), (x + 2 * size, y + size // 2 + 1), colour, -1)
    x0 = 2.0 if spec.pan[0] >= 0 else pad_x - 2.0
    y0 = 2.0 if spec.pan[1] >= 0 else pad_y - 2.0
    return canvas, x0, y0


def _texture(kind: str, size: int, rng: np.random.Generator) -> np.ndarray:
    c0 = rng.uniform(0, 255, size=3).astype(np.float32)
    c1 = (255 - c0 + rng.uniform(-40, 40, size=3)).clip(0, 255).astype(np.float32)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) - size / 2
    period = float(rng.uniform(5, 9)) * size / 60
    if kind == "stripes":
        t = np.clip(np.sin(2 * np.pi * xx / period) * 3, -1, 1) * 0.5 + 0.5
    elif kind == "checker":
        t = ((np.floor(xx / period) + np.floor(yy / period)) % 2).astype(np.float32)
    else:
        t = cv2.GaussianBlur(rng.uniform(0, 1, size=(size, size)).astype(np.float32), (0, 0), period / 4)
        t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    return c0 * (1 - t[..., None]) + c1 * t[..., None]


def _objects(spec: SceneSpec, rng: np.random.Generator) -> list[_Object]:
    h, w, n = spec.height, spec.width, spec.n_objects
    speed = 0.02 * w * spec.motion
    objects = []
    for j in range(n):
        radius = min(h, w) * float(rng.uniform(0.17, 0.24))
        size = int(radius * 3) + 2
        objects.append(_Object(
            radius=radius, aspect=float(rng.uniform(0.75, 1.3)), lobes=int(rng.integers(2, 5)),
            phase=float(rng.uniform(0, 2 * np.pi)), x0=w * (j + 1) / (n + 1),
            y0=h * (0.5 + (j - (n - 1) / 2) * 0.12), vx=speed * (1 + 0.3 * j) * (1 if j % 2 == 0 else -1),
            bob=h * 0.1, bob_phase=float(rng.uniform(0, 2 * np.pi)), angle0=float(rng.uniform(0, np.pi)),
            spin=float(rng.uniform(-0.06, 0.06)), patch=_texture(_TEXTURES[j % 3], size, rng)))
    return objects


def _bounce(x: float, lo: float, hi: float) -> float:
    """Reflect ``x`` into [lo, hi] like a ball bouncing between two walls (triangle wave)."""
    span = hi - lo
    if span <= 0:
        return lo
    r = (x - lo) % (2 * span)
    return lo + (r if r <= span else 2 * span - r)


def _draw(frame: np.ndarray, mask: np.ndarray, obj: _Object, label: int, t: int, spec: SceneSpec) -> None:
    """Composite one object at time ``t`` into ``frame`` (float32) and ``mask`` (in place)."""
    h, w = mask.shape
    margin = obj.radius * 0.6
    cx = _bounce(obj.x0 + obj.vx * t, margin, w - margin)
    cy = obj.y0 + obj.bob * math.sin(0.15 * t + obj.bob_phase)
    angle = obj.angle0 + obj.spin * t
    reach = obj.radius * (1 + spec.deform) * max(obj.aspect, 1.0) + 2
    x_lo, x_hi = max(0, int(cx - reach)), min(w, int(cx + reach) + 1)
    y_lo, y_hi = max(0, int(cy - reach)), min(h, int(cy + reach) + 1)
    if x_lo >= x_hi or y_lo >= y_hi:
        return
    yy, xx = np.mgrid[y_lo:y_hi, x_lo:x_hi].astype(np.float32)
    dx, dy = xx - cx, yy - cy
    cos, sin = math.cos(angle), math.sin(angle)
    u, v = dx * cos + dy * sin, -dx * sin + dy * cos
    rho = np.hypot(u / obj.aspect, v)
    alpha = np.arctan2(v, u / obj.aspect)
    edge = obj.radius * (1 + spec.deform * np.sin(obj.lobes * alpha + obj.phase + 0.2 * t))
    inside = rho <= edge
    half = obj.patch.shape[0] / 2
    texture = cv2.remap(obj.patch, u + half, v + half, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    shade = 1.0 - 0.3 * np.clip(rho / obj.radius, 0, 1.2) ** 2
    region = frame[y_lo:y_hi, x_lo:x_hi]
    region[inside] = (texture * shade[..., None])[inside]
    mask[y_lo:y_hi, x_lo:x_hi][inside] = label


def render_scene(spec: SceneSpec) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Render ``spec`` into frames (uint8 RGB (H, W, 3)) and ground-truth index masks (uint8 (H, W))."""
    rng = np.random.default_rng(spec.seed)
    canvas, bx, by = _background(spec, rng)
    objects = _objects(spec, rng)
    depth = [int(k) for k in rng.permutation(spec.n_objects)]  # drawn back to front
    flicker_phase = float(rng.uniform(0, 2 * np.pi))
    h, w = spec.height, spec.width
    # Fresh noise for every frame costs more than the rest of the rendering: draw windows of one bank.
    noise = rng.standard_normal((2 * h, 2 * w, 3), dtype=np.float32) * np.float32(spec.noise) + np.float32(0.5)
    frames, masks = [], []
    for t in range(spec.n_frames):
        shift = np.float32([[1, 0, bx + spec.pan[0] * t], [0, 1, by + spec.pan[1] * t]])
        frame = cv2.warpAffine(canvas, shift, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_REFLECT)
        mask = np.zeros((h, w), dtype=np.uint8)
        for j in depth:
            _draw(frame, mask, objects[j], j + 1, t, spec)
        gain = 1 + spec.flicker * (math.sin(0.9 * t + flicker_phase) + 0.5 * float(rng.normal()))
        frame *= gain
        oy, ox = int(rng.integers(0, h)), int(rng.integers(0, w))
        frame += noise[oy:oy + h, ox:ox + w]
        np.clip(frame, 0, 255, out=frame)
        frames.append(frame.astype(np.uint8))
        masks.append(mask)
    return frames, masks


def vfr_pts(n_frames: int, seed: int = 0) -> list[int]:
    """Irregular timestamps in :data:`VFR_TIME_BASE` ticks: runs at 24 and 60 fps with dropped frames."""
    rng = np.random.default_rng(seed + 7919)
    pts, now = [], 0
    while len(pts) < n_frames:
        step = 50 if len(pts) // 5 % 2 == 0 else 20  # 1/24 s or 1/60 s
        for _ in range(int(rng.integers(3, 8))):
            pts.append(now)
            now += step * (int(rng.integers(2, 4)) if rng.random() < 0.15 else 1)
    return pts[:n_frames]


@dataclass(frozen=True)
class WrittenClip:
    """What :func:`write_clip` wrote. Unpacks as ``pts, masks = write_clip(...)``.

    Attributes:
        pts: Presentation timestamp of every frame in display order, in ``time_base`` units as stored.
        masks: Ground-truth index masks in display orientation.
        frames: The rendered frames (display orientation, before lossy encoding).
        time_base: The stream time base of the written file.
    """

    pts: list[int]
    masks: list[np.ndarray]
    frames: list[np.ndarray]
    time_base: Fraction

    def __iter__(self) -> Iterator[Any]:
        return iter((self.pts, self.masks))

    @property
    def timestamps_s(self) -> list[float]:
        return [float(p * self.time_base) for p in self.pts]


def _add_audio(container: av.container.OutputContainer, duration_s: float) -> tuple[Any, list[Any]]:
    """An AAC stereo stream and the frames of a 440/660 Hz sine covering ``duration_s``."""
    rate, chunk = 48000, 1024
    stream = container.add_stream("aac", rate=rate, layout="stereo")
    total = math.ceil(duration_s * rate / chunk) * chunk
    t = np.arange(total, dtype=np.float32) / rate
    wave = np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 660 * t)]).astype(np.float32) * 0.2
    frames = []
    for start in range(0, total, chunk):
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(wave[:, start:start + chunk]),
                                           format="fltp", layout="stereo")
        frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
        frames.append(frame)
    return stream, frames


def write_clip(path: Path, spec: SceneSpec, *, vfr: bool = False, rotation: int = 0, audio: bool = False,
               codec: str = "libx264", gop: int = 12, pix_fmt: str = "yuv420p",
               options: dict[str, str] | None = None) -> WrittenClip:
    """Render ``spec`` and encode it to ``path`` (container chosen by the suffix).

    Args:
        path: Output file (.mp4, .mkv, .mov...).
        spec: The scene.
        vfr: Irregular timestamps (:func:`vfr_pts`) instead of a constant ``spec.fps``.
        rotation: 0/90/180/270: frames are stored rotated and the display matrix says to rotate them
            back by this many degrees clockwise, so a correct reader shows the rendered scene upright.
        audio: Add an AAC stereo sine track as long as the video.
        codec: Video encoder name; ``gop`` is its keyframe interval (several GOPs make seeking matter).
        pix_fmt: Encoder pixel format.
        options: Extra encoder options (e.g. ``{"x264-params": "open-gop=1"}``).

    Returns:
        A :class:`WrittenClip` (unpacks as ``pts, masks``): the timestamps as stored in the file, in the
        time base the muxer chose (read back from the file), the masks and the rendered frames.
    """
    if rotation not in (0, 90, 180, 270):
        raise ValueError(f"rotation must be 0, 90, 180 or 270, got {rotation}")
    frames, masks = render_scene(spec)
    if vfr:
        enc_tb, pts = VFR_TIME_BASE, vfr_pts(spec.n_frames, spec.seed)
    else:
        enc_tb = 1 / Fraction(spec.fps).limit_denominator(1001)
        pts = list(range(spec.n_frames))
    step = pts[-1] - pts[-2] if len(pts) > 1 else 1
    duration_s = float((pts[-1] + step) * enc_tb)
    stored_h, stored_w = spec.height, spec.width
    if rotation in (90, 270):
        stored_h, stored_w = stored_w, stored_h
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=Fraction(spec.fps).limit_denominator(1001))
        stream.width, stream.height, stream.pix_fmt = stored_w, stored_h, pix_fmt
        stream.time_base = stream.codec_context.time_base = enc_tb
        preset = {"preset": "veryfast"} if codec.startswith("libx26") else {}
        stream.options = {"g": str(gop), **preset, **(options or {})}
        if rotation:
            stream.set_display_rotation(-rotation)  # PyAV takes counter-clockwise degrees
        audio_stream, audio_frames = _add_audio(container, duration_s) if audio else (None, [])
        pending = list(audio_frames)
        for frame_rgb, p in zip(frames, pts, strict=True):
            while pending and pending[0].pts * pending[0].time_base <= p * enc_tb:  # keep streams interleaved
                container.mux(audio_stream.encode(pending.pop(0)))
            stored = np.ascontiguousarray(np.rot90(frame_rgb, k=rotation // 90))  # undone by clockwise display
            frame = av.VideoFrame.from_ndarray(stored, format="rgb24")
            frame.pts, frame.time_base = p, enc_tb
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
        for audio_frame in pending:
            container.mux(audio_stream.encode(audio_frame))
        if audio_stream is not None:
            container.mux(audio_stream.encode(None))
    with av.open(str(path)) as reread:
        final_tb = reread.streams.video[0].time_base
    stored_pts = [rescale(p, enc_tb, final_tb) for p in pts]
    return WrittenClip(pts=stored_pts, masks=masks, frames=frames, time_base=final_tb)


def write_image_folder(folder: Path, spec: SceneSpec, *, ext: str = ".png", names: list[str] | None = None
                       ) -> list[np.ndarray]:
    """Render ``spec`` into an image folder (default names ``00000.png``...); returns the masks."""
    frames, masks = render_scene(spec)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    names = names or [f"{i:05d}{ext}" for i in range(len(frames))]
    for name, frame in zip(names, frames, strict=True):
        if not cv2.imwrite(str(folder / name), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)):
            raise OSError(f"could not write {folder / name}")
    return masks

