"""Media layer throughput: probe, sequential / random / backward decoding, scene rendering.

Run: ``.venv/bin/python bench/bench_media.py [VIDEO ...]`` (default: the shared Big Buck Bunny clip and a
generated 854x480 clip with a keyframe every 12 frames). Prints one table row per video.

``--matrix`` instead writes every file of the conformance matrix (:mod:`xmem_tui.media.conformance`) at
``--size`` with ``--frames`` frames and a keyframe every ``--gop`` frames, and prints per file the
random-access time per frame next to the sequential decode rate and the time one GOP takes to decode
sequentially (the aim: one random access costs at most one GOP's decode, i.e. ratio <= 1).
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import tempfile
import time
from pathlib import Path

from xmem_tui.media.conformance import CASES, write_case
from xmem_tui.media.frames import open_frames
from xmem_tui.media.probe import probe
from xmem_tui.media.synthetic import SceneSpec, render_scene, write_clip

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "media"


def measure(path: Path, cache_dir: Path) -> dict[str, float]:
    t = time.perf_counter()
    info = probe(path, cache_dir=cache_dir)
    probe_s = time.perf_counter() - t
    t = time.perf_counter()
    probe(path, cache_dir=cache_dir)
    cached_ms = (time.perf_counter() - t) * 1000
    with open_frames(path, info, cache_bytes=0) as reader:
        t = time.perf_counter()
        n = sum(1 for _ in reader.iter())
        seq_fps = n / (time.perf_counter() - t)
        picks = random.Random(0).sample(range(n), min(20, n))
        t = time.perf_counter()
        for i in picks:
            reader.get(i)
        random_ms = (time.perf_counter() - t) * 1000 / len(picks)
        t = time.perf_counter()
        back = sum(1 for _ in reader.iter(step=-1))
        back_fps = back / (time.perf_counter() - t)
    return {"frames": n, "size": f"{info.width}x{info.height}", "keyframes": len(info.keyframes),
            "probe_s": probe_s, "cached_ms": cached_ms, "seq_fps": seq_fps, "random_ms": random_ms,
            "back_fps": back_fps}


def main(paths: list[Path]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        if not paths:
            spec = SceneSpec(height=480, width=854, n_frames=120, n_objects=3)
            t = time.perf_counter()
            render_scene(spec)
            print(f"render_scene 854x480: {spec.n_frames / (time.perf_counter() - t):.0f} frames/s")
            paths = [SHARED / "bigbuckbunny_720p_25fps_aac.mp4", tmp_path / "synthetic_480p.mp4"]
            write_clip(paths[1], spec, gop=12)
        header = f"{'video':<34}{'frames':>7}{'size':>10}{'keys':>6}{'probe s':>9}{'cached ms':>10}" \
                 f"{'seq fps':>9}{'random ms':>10}{'back fps':>9}"
        print(header)
        for path in paths:
            r = measure(path, tmp_path / "cache")
            print(f"{path.name[:33]:<34}{r['frames']:>7}{r['size']:>10}{r['keyframes']:>6}{r['probe_s']:>9.2f}"
                  f"{r['cached_ms']:>10.1f}{r['seq_fps']:>9.0f}{r['random_ms']:>10.1f}{r['back_fps']:>9.0f}")


def random_access(path: Path, picks: int = 20) -> dict[str, float]:
    """Sequential decode rate, and the mean time of ``picks`` random reads (a fresh reader each, no cache)."""
    info = probe(path)
    with open_frames(path, info, cache_bytes=0) as reader:
        started = time.perf_counter()
        n = sum(1 for _ in reader.iter())
        seq_fps = n / (time.perf_counter() - started)
    chosen = random.Random(0).sample(range(n), min(picks, n))
    total = 0.0
    for i in chosen:
        with open_frames(path, info, cache_bytes=0) as reader:
            started = time.perf_counter()
            reader.get(i)
            total += time.perf_counter() - started
    with open_frames(path, info, cache_bytes=0) as reader:  # one reader, as the window keeps: seeks only
        reader.get(chosen[0])
        started = time.perf_counter()
        for i in chosen[1:]:
            reader.get(i)
        same_ms = (time.perf_counter() - started) * 1000 / max(1, len(chosen) - 1)
    keys = sorted(set(info.keyframes))
    gop = n / max(1, len(keys))
    random_ms = total * 1000 / len(chosen)
    gop_ms = gop * 1000 / seq_fps
    return {"frames": n, "keys": len(keys), "seq_fps": seq_fps, "random_ms": random_ms, "same_ms": same_ms,
            "gop_ms": gop_ms, "ratio": random_ms / gop_ms, "same_ratio": same_ms / gop_ms}


def matrix(size: tuple[int, int], frames: int, gop: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        print(f"conformance files at {size[0]}x{size[1]}, {frames} frames, keyframe every {gop}; random access: "
              "20 random frames, each by a fresh reader (open + seek + decode), and by one open reader (seek + decode)")
        print("| file | frames | keyframes | sequential frames/s | one GOP ms | random ms (fresh reader) | ratio | "
              "random ms (open reader) | ratio |")
        print("|---|---|---|---|---|---|---|---|---|")
        for case in CASES:
            if case.damage_audio is not None:
                continue  # the same video as its undamaged twin
            c = dataclasses.replace(case, frames=frames, gop=gop)
            r = random_access(write_case(c, Path(tmp), size=size).path)
            print(f"| {case.name} | {r['frames']} | {r['keys']} | {r['seq_fps']:.0f} | {r['gop_ms']:.1f} | "
                  f"{r['random_ms']:.1f} | {r['ratio']:.2f} | {r['same_ms']:.1f} | {r['same_ratio']:.2f} |", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Probe, sequential, random and backward decode speed.")
    parser.add_argument("videos", nargs="*", type=Path, help="videos to measure (default: the shared Big Buck "
                        "Bunny clip and a generated 480p clip)")
    parser.add_argument("--matrix", action="store_true", help="random access vs sequential decode for every "
                        "conformance matrix file")
    parser.add_argument("--size", default="640x360", help="matrix frame size WxH (default 640x360)")
    parser.add_argument("--frames", type=int, default=96, help="matrix frames per file (default 96)")
    parser.add_argument("--gop", type=int, default=24, help="matrix keyframe interval (default 24)")
    args = parser.parse_args()
    if args.matrix:
        w, h = (int(v) for v in args.size.split("x"))
        matrix((w, h), args.frames, args.gop)
    else:
        main(args.videos)
