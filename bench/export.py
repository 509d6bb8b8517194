"""Export throughput at 1080p against a plain decode -> encode of the same clip (the floor), same run.

Run: ``.venv/bin/python bench/export.py [--frames 60] [--kinds greenscreen,mask] [--repeat 2] [--device cpu]``.

Generates a 1920x1080 H.264 clip (a moving gradient with a moving disc), keeps a soft mask of the disc
at processing resolution (480x853) in memory, then for every kind times (a) the floor: decode every
frame and encode it with the export's encoder, pixel format and options, nothing else; (b) the export
pipeline (decode -> finish + composite -> encode, threaded), excluding the self-check, which is timed
separately; (c) floor2: decode the source as the floor does, but encode the export's own output picture
for each frame (decoded into memory first), because a green screen or a matte is much cheaper to encode
than the textured source, which flatters ratio (a). Each
measurement is repeated and the best run kept, floors and export interleaved so all see the same machine
load. Prints export/floor (ratio, the target >= 0.85 for greenscreen and mask) and export/floor2 (ratio2:
the pipeline's own overhead, decode + finish + composite + conversions, on equal encoder work).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import av
import numpy as np

from xmem_tui.config import load_settings
from xmem_tui.export.composite import make_compositor
from xmem_tui.export.job import export_video
from xmem_tui.export.mattes import MaskSet
from xmem_tui.export.options import resolve
from xmem_tui.export.registry import kind_names
from xmem_tui.export.request import ExportRequest
from xmem_tui.media.encode import VideoEncoder, VideoSpec


def make_clip(path: Path, frames: int, size: tuple[int, int]) -> None:
    """A 1080p clip: a drifting colour gradient (compressible but not trivial) and a moving bright disc."""
    w, h = size
    yy, xx = np.mgrid[:h, :w]
    rng = np.random.default_rng(0)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "20"}
        for i in range(frames):
            frame = np.empty((h, w, 3), np.uint8)
            frame[..., 0] = (xx + 7 * i) % 256
            frame[..., 1] = (yy + 3 * i) % 256
            frame[..., 2] = ((xx + yy) // 4 + 5 * i) % 256
            cx, cy = w // 4 + 12 * i, h // 2
            disc = (xx - cx) ** 2 + (yy - cy) ** 2 < (h // 4) ** 2
            frame[disc] = (230, 200, 180)
            frame += rng.integers(0, 6, frame.shape, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


class DiscMasks:
    """Soft masks of the disc at processing resolution, made once and kept in memory, so the benchmark
    times the export and not a mask reader (a workspace read of a 480p PNG adds a few ms per frame)."""

    def __init__(self, shape: tuple[int, int], size: tuple[int, int], frames: int) -> None:
        h, w = shape
        scale = h / size[1]
        yy, xx = np.mgrid[:h, :w]
        self.masks = []
        for index in range(frames):
            cx, cy = (size[0] // 4 + 12 * index) * scale, size[1] // 2 * scale
            dist = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2)
            self.masks.append(np.clip((size[1] // 4 * scale - dist + 1.0) * 127.5, 0, 255).astype(np.uint8)[None])

    def read_soft(self, index: int) -> np.ndarray:
        return self.masks[index]


def floor_fps(video: Path, out: Path, codec: str, pix_fmt: str, options: dict[str, str],
              pictures: Path | None = None) -> float:
    """Plain decode -> encode with the same encoder settings.

    With ``pictures`` (an export's output), the source is still decoded frame by frame, but what is
    encoded is that output's picture for the frame (decoded into memory beforehand): the same decoder and
    encoder work as the export, without its finishing, compositing and colour conversions.
    """
    stored: list[av.VideoFrame] = []
    if pictures is not None:
        with av.open(str(pictures)) as container:
            stored = list(container.decode(video=0))
    with av.open(str(video)) as src:
        stream = src.streams.video[0]
        stream.thread_type = "AUTO"
        spec = VideoSpec(codec=codec, pix_fmt=pix_fmt, width=stream.width, height=stream.height,
                         time_base=stream.time_base, options=options, rate_hint=stream.average_rate)
        start = time.perf_counter()
        n = 0
        with VideoEncoder(out, spec) as enc:
            for frame in src.decode(stream):
                enc.write_frame(stored[n] if stored else frame, frame.pts, frame.duration)
                n += 1
        return n / (time.perf_counter() - start)


def floor_png(video: Path, folder: Path, fmt: str) -> float:
    """Plain decode -> PNG files (the floor for image-sequence kinds)."""
    import cv2

    folder.mkdir(exist_ok=True)
    with av.open(str(video)) as src:
        stream = src.streams.video[0]
        stream.thread_type = "AUTO"
        start = time.perf_counter()
        n = 0
        for n, frame in enumerate(src.decode(stream), start=1):
            image = frame.to_ndarray(format="rgb24" if fmt == "rgba" else "gray")
            if fmt == "rgba":
                image = cv2.cvtColor(image, cv2.COLOR_RGB2BGRA)
            cv2.imwrite(str(folder / f"{n:05d}.png"), image, [cv2.IMWRITE_PNG_COMPRESSION, 1])
        return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--kinds", default=",".join(kind_names()))
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        video = root / "bench1080.mp4"
        make_clip(video, args.frames, size)  # type: ignore[arg-type]
        settings = load_settings(None, project_dir=root)
        shape = (480, 480 * size[0] // size[1])
        masks = MaskSet(DiscMasks(shape, size, args.frames), shape, args.frames, {1: (128, 0, 0)})  # type: ignore[arg-type]
        print(f"export benchmark: {size[0]}x{size[1]}, {args.frames} frames, compositing on "
              f"{make_compositor(args.device).name}, masks at {shape[1]}x{shape[0]}")
        print(f"{'kind':<12} {'codec':<11} {'floor fps':>9} {'floor2 fps':>10} {'export fps':>10} {'ratio':>6} "
              f"{'ratio2':>6} {'check s':>8}")
        for kind in args.kinds.split(","):
            opts = resolve(ExportRequest(kind=kind, device=args.device, size="1080x1920"), settings)
            codec = opts.codec
            floor = floor2 = export = 0.0
            check_s = 0.0
            for r in range(args.repeat):
                out = root / f"out_{kind}_{r}{codec.ext}"
                run_opts = resolve(ExportRequest(kind=kind, device=args.device, out=str(out), size="1080x1920"),
                                   settings)
                if codec.sequence:
                    floor = max(floor, floor_png(video, root / f"floor_{kind}_{r}", "rgba" if kind == "alpha"
                                                 else "gray"))
                else:
                    options = codec.options(run_opts.crf, run_opts.speed)
                    floor = max(floor, floor_fps(video, root / f"floor_{kind}{codec.ext}", codec.encoder,
                                                 codec.pix_fmt, options))
                start = time.perf_counter()
                streamed = None
                for progress in export_video(run_opts, settings, video, masks):
                    if progress.message == "self-checking":
                        streamed = time.perf_counter() - start
                total = time.perf_counter() - start
                export = max(export, args.frames / (streamed or total))
                check_s = total - (streamed or total)
                if not codec.sequence and kind != "reframe":  # same decode, same encoder on the export's pictures
                    floor2 = max(floor2, floor_fps(video, root / f"floor2_{kind}{codec.ext}", codec.encoder,
                                                   codec.pix_fmt, options, pictures=out))
            ratio = export / floor if floor else float("nan")
            ratio2 = export / floor2 if floor2 else float("nan")
            print(f"{kind:<12} {codec.name:<11} {floor:>9.1f} {floor2:>10.1f} {export:>10.1f} {ratio:>6.2f} "
                  f"{ratio2:>6.2f} {check_s:>8.2f}")

if __name__ == "__main__":
    main()
