"""Media layer throughput: probe, sequential / random / backward decoding, scene rendering.

Run: ``.venv/bin/python bench/bench_media.py [VIDEO ...]`` (default: the shared Big Buck Bunny clip and a
generated 854x480 clip with a keyframe every 12 frames). Prints one table row per video.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

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


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Probe, sequential, random and backward decode speed.")
    parser.add_argument("videos", nargs="*", type=Path, help="videos to measure (default: the shared Big Buck "
                        "Bunny clip and a generated 480p clip)")
    main(parser.parse_args().videos)
