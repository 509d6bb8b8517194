"""Benchmark XMem propagation on CPU (or CUDA): throughput, peak memory, 480p latency, readout speed-up.

Prints three tables:
  1. frames/s and peak memory after 250 / 1,000 / 4,000 frames at a small size with long-term memory on
     (memory must plateau: the 4,000-frame peak should be within 10% of the 1,000-frame peak);
  2. seconds per frame at 480x854 with the demo defaults, the official formulation (dense readout,
     contiguous layout, direct convolutions) against ours (sparse readout, channels_last, Winograd for the
     widest convolutions), measured interleaved in the same run, with their output difference;
  3. memory readout alone: dense affinity product (official) against the sparse top-k product.

Weights are synthesised with ../shared/reference/synth_weights.py when available (random init otherwise).
Wall-clock numbers on a shared machine are noisy; process CPU time / threads is printed next to them.

Usage: python bench/propagate.py [--quick] [--threads 2] [--device cpu]
"""

from __future__ import annotations

import argparse
import copy
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch

from xmem_tui.inference.attention import readout, similarity, topk_softmax
from xmem_tui.inference.core import InferenceCore
from xmem_tui.inference.engine import Engine
from xmem_tui.inference.winograd import accelerate
from xmem_tui.inference.xmem_engine import XMemEngine, image_to_tensor
from xmem_tui.model import Cutie, XMem

DEMO = {"top_k": 30, "mem_every": 10, "deep_update_every": -1, "enable_long_term": True,
        "enable_long_term_count_usage": True, "max_mid_term_frames": 10, "min_mid_term_frames": 5,
        "num_prototypes": 128, "max_long_term_elements": 10000}
REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference"
N = TypeVar("N", XMem, Cutie)


def build_net(model: type[N] = XMem, manifest: str = "manifests/xmem.tsv") -> tuple[N, str]:
    """``model`` with the reference's seed-0 synthetic weights (``manifest`` under ../shared/reference), or
    randomly initialised where the reference is missing; and which of the two it is."""
    if (REFERENCE / "synth_weights.py").is_file():
        sys.path.insert(0, str(REFERENCE))
        from synth_weights import synthesize

        return model.from_checkpoint(synthesize(str(REFERENCE / manifest), 0)), "synthetic"
    torch.manual_seed(0)
    return model().eval(), "random init"


def video(h: int, w: int, n: int, seed: int = 0) -> tuple[list[np.ndarray], np.ndarray]:
    """A panning blocky-noise background with a moving disc; returns frames and the frame-0 mask."""
    rng = np.random.default_rng(seed)
    cells = rng.integers(0, 256, ((h + 23) // 8 + 1, (w + 23) // 8 + 1, 3), dtype=np.uint8)
    canvas = np.repeat(np.repeat(cells, 8, 0), 8, 1)
    yy, xx = np.mgrid[:h, :w]
    frames = []
    for t in range(n):
        f = canvas[(t // 4) % 16:(t // 4) % 16 + h, (t // 2) % 16:(t // 2) % 16 + w].copy()
        cy, cx = h / 2 + h / 4 * np.sin(t / 20), w / 2 + w / 4 * np.cos(t / 25)
        f[(yy - cy) ** 2 + (xx - cx) ** 2 < (h / 5) ** 2] = (220, 40, 40)
        frames.append(f)
    mask = (((yy - h / 2) ** 2 + (xx - w * 3 / 4) ** 2) < (h / 5) ** 2).astype(np.uint8)
    return frames, mask


def peak_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def long_run(net: XMem, device: torch.device, checkpoints: list[int]) -> None:
    frames, mask = video(64, 112, 64)
    engine = XMemEngine(net, DEMO, device, amp=device.type == "cuda")
    engine.reset([1])
    print(f"\n1. long run at 64x112, 1 object, demo config (long-term cap {DEMO['max_long_term_elements']})")
    memory_table(engine, frames, mask, checkpoints, lambda: peak_mb(device))


def memory_table(engine: Engine, frames: list[np.ndarray], mask: np.ndarray, checkpoints: list[int],
                 peak: Callable[[], float]) -> None:
    """Propagate ``frames`` in a loop (mask on the first); a row of speed, peak MB and memory sizes per
    checkpoint, and the peak's growth over the last two."""
    print(f"{'frames':>7} {'frames/s':>9} {'peak MB':>9} {'working':>8} {'long-term':>10}")
    t0, done, peaks = time.perf_counter(), 0, {}
    for stop in checkpoints:
        while done < stop:
            engine.step(frames[done % len(frames)], mask if done == 0 else None)
            done += 1
        stats = engine.memory_stats()
        peaks[stop] = peak()
        print(f"{done:>7} {done / (time.perf_counter() - t0):>9.1f} {peaks[stop]:>9.0f} {stats.working:>8} "
              f"{stats.long_term:>10}", flush=True)
    if len(checkpoints) >= 2:
        a, b = checkpoints[-2], checkpoints[-1]
        print(f"peak growth {a} -> {b} frames: {100 * (peaks[b] / peaks[a] - 1):+.1f}% (limit +10%)")


def latency(net: XMem, fast: XMem, device: torch.device, n: int, threads: int) -> None:
    frames, mask = video(480, 854, n + 1)
    cores = {"official formulation": InferenceCore(net, DEMO, sparse_readout=False),
             "xmem-tui": InferenceCore(fast, DEMO, sparse_readout=device.type == "cpu")}
    onehot = torch.from_numpy(mask).float()[None].to(device)
    times = {k: ([], []) for k in cores}
    outs: dict[str, torch.Tensor] = {}
    worst = [0.0, 0.0, 0.0]
    for t in range(n + 1):
        image = image_to_tensor(frames[t], device)
        for name, core in cores.items():
            if t == 0:
                core.set_all_labels([1])
            w0, c0 = time.perf_counter(), time.process_time()
            outs[name] = core.step(image, onehot if t == 0 else None)
            if device.type == "cuda":
                torch.cuda.synchronize()
            if t > 0:  # frame 0 is the annotated frame
                times[name][0].append(time.perf_counter() - w0)
                times[name][1].append((time.process_time() - c0) / threads)
        worst = worst_difference(worst, *outs.values())
    print(f"\n2. 480x854, 1 object, demo config, {n} propagated frames (mem_every 10), {threads} threads")
    print_latency(times, worst)


def worst_difference(worst: list[float], a: torch.Tensor, b: torch.Tensor) -> list[float]:
    """[max abs, mean abs, argmax mismatch] of two (K+1, H, W) outputs, folded into the worst so far."""
    d = (a - b).abs()
    return [max(worst[0], float(d.max())), max(worst[1], float(d.mean())),
            max(worst[2], float((a.argmax(0) != b.argmax(0)).float().mean()))]


def print_latency(times: dict[str, tuple[list[float], list[float]]], worst: list[float]) -> None:
    """Median wall and CPU seconds per frame of each variant, as ratios to the first, and their difference."""
    print(f"{'':>22} {'wall s/frame':>13} {'CPU s/frame':>12}")
    base = None
    for name, (wall, cpu) in times.items():
        wm, cm = float(np.median(wall)), float(np.median(cpu))
        base = base or (wm, cm)
        print(f"{name:>22} {wm:>13.3f} {cm:>12.3f}   ratio {base[0] / wm:.2f}x wall, {base[1] / cm:.2f}x CPU")
    print(f"difference between the two, worst frame: max abs {worst[0]:.1e}, mean abs {worst[1]:.1e}, "
          f"argmax mismatch {worst[2]:.1e}")


def readout_bench(device: torch.device, reps: int) -> None:
    g = torch.Generator().manual_seed(0)
    hw, n, cv = 1620, 16200 + 10000, 512
    mk, ms = torch.randn(n, 64, generator=g) * 5, 1 + torch.rand(n, generator=g)
    qk, qe = torch.randn(hw, 64, generator=g) * 5, torch.rand(hw, 64, generator=g)
    values = [torch.randn(10000, cv, generator=g), torch.randn(16200, cv, generator=g)]
    mk, ms, qk, qe = (x.to(device) for x in (mk, ms, qk, qe))
    values = [v.to(device) for v in values]
    w, idx = topk_softmax(similarity(mk, ms, qk, qe), 30)
    print(f"\n3. readout only: {hw} queries x {n} memory elements x {cv} channels, top-30")
    res = {}
    for name, sparse in (("dense (official)", False), ("sparse top-k", True)):
        best = float("inf")
        for _ in range(reps):
            t0 = time.perf_counter()
            res[name] = readout(w, idx, values, sparse=sparse)
            best = min(best, time.perf_counter() - t0)
        res[name + " t"] = best
        print(f"{name:>17}: {1000 * best:8.1f} ms")
    print(f"speed-up {res['dense (official) t'] / res['sparse top-k t']:.1f}x, max abs difference "
          f"{float((res['dense (official)'] - res['sparse top-k']).abs().max()):.1e}")


def bench_args(doc: str) -> argparse.Namespace:
    """--quick, --threads (applied), --device of a propagation benchmark."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short run (250 frames, 3 frames at 480p)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    return args


def main() -> None:
    args = bench_args(__doc__)
    device = torch.device(args.device)
    net, origin = build_net()
    net = net.to(device)
    print(f"XMem weights: {origin}; device {device}; torch {torch.__version__}")
    fast = copy.deepcopy(net).to(memory_format=torch.channels_last)
    if device.type == "cpu":
        accelerate(fast)
    with torch.inference_mode():
        # the long run goes first so that its peak memory is not the 480p run's
        long_run(fast, device,
                 [50, 250] if args.quick else [250, 1000, 4000])
        latency(net, fast, device, 3 if args.quick else 12, args.threads)
        readout_bench(device, 2 if args.quick else 5)


if __name__ == "__main__":
    main()
