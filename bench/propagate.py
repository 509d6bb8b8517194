"""Benchmark XMem propagation on CPU (or CUDA): throughput, peak memory, 480p latency per backend, readout.

Prints three tables:
  1. frames/s and peak memory after 250 / 1,000 / 4,000 frames at a small size with long-term memory on
     (memory must plateau: the 4,000-frame peak should be within 10% of the 1,000-frame peak), on the
     network ``load_xmem`` builds (default backend);
  2. seconds per frame on a real DAVIS clip (854x480) with the demo defaults: the baseline is the official
     algorithm step for step (plain module, contiguous layout, dense readout, as the golden tests replay
     it); next to it every CPU backend as ``load_xmem`` builds it (sparse readout), stepped in alternation
     frame by frame (the order rotates each frame), repeated for several rounds, with each backend's
     difference from the baseline (worst frame: max abs, mean abs, argmax mismatch) against the golden
     bounds, and the load average before and after each round;
  3. memory readout alone: dense affinity product (official) against the sparse top-k product.

Weights are synthesised with ../shared/reference/synth_weights.py when available (random init otherwise).
Wall-clock numbers on a shared machine are noisy; process CPU time / threads is printed next to them.

Usage: python bench/propagate.py [--quick] [--threads 2] [--device cpu] [--seq dog] [--frames 20] [--rounds 2]
                                [--long 250,1000,4000]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch

from xmem_tui.inference.attention import readout, similarity, topk_softmax
from xmem_tui.inference.core import InferenceCore
from xmem_tui.inference.cpu_backend import BACKENDS, backend_of
from xmem_tui.inference.engine import Engine
from xmem_tui.inference.xmem_engine import XMemEngine, image_to_tensor, load_xmem
from xmem_tui.media.frames import open_frames
from xmem_tui.media.masks import read_index_mask
from xmem_tui.model import Cutie, XMem

DEMO = {"top_k": 30, "mem_every": 10, "deep_update_every": -1, "enable_long_term": True,
        "enable_long_term_count_usage": True, "max_mid_term_frames": 10, "min_mid_term_frames": 5,
        "num_prototypes": 128, "max_long_term_elements": 10000}
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
REFERENCE = SHARED / "reference"
#: the golden tests' bounds (tests/inference/test_golden_xmem.py): max abs, mean abs, argmax mismatch
BOUNDS = (2e-3, 2e-5, 1e-3)
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


def save_weights(path: Path) -> str:
    """Write the benchmark's XMem checkpoint to ``path``; returns where the weights came from."""
    if (REFERENCE / "synth_weights.py").is_file():
        sys.path.insert(0, str(REFERENCE))
        from synth_weights import synthesize

        torch.save(synthesize(str(REFERENCE / "manifests" / "xmem.tsv"), 0), path)
        return "synthetic"
    torch.manual_seed(0)
    torch.save(XMem().state_dict(), path)
    return "random init"


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


def davis_clip(seq: str, n: int) -> tuple[list[np.ndarray], np.ndarray]:
    """The first ``n`` frames of a DAVIS-2016 sequence (RGB) and its frame-0 ground truth as a 0/1 mask."""
    root = SHARED / "media" / "davis16" / seq
    with open_frames(root / "JPEGImages") as reader:
        frames = [reader.get(i) for i in range(min(n, len(reader)))]
    return frames, (read_index_mask(root / "Annotations" / "00000.png") > 127).astype(np.uint8)


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.1f} (1 min), {five:.1f} (5 min)"


def latency(checkpoint: Path, device: torch.device, seq: str, n: int, rounds: int, threads: int) -> None:
    frames, mask = davis_clip(seq, n + 1)
    n = len(frames) - 1
    nets = {"baseline (official)": XMem.from_checkpoint(checkpoint).to(device).eval()}
    for backend in BACKENDS[1:] if device.type == "cpu" else ("auto",):
        net = load_xmem(checkpoint, device, backend)
        nets.setdefault(backend_of(net), net)  # a backend that fell back duplicates "torch"
    h, w = frames[0].shape[:2]
    print(f"\n2. DAVIS {seq} {w}x{h}, 1 object, demo config, {n} propagated frames (mem_every 10), "
          f"{threads} threads, {rounds} rounds; order rotates every frame")
    print(f"{'':>20} {'wall s/frame':>13} {'CPU s/frame':>12} {'ratio wall':>11} {'ratio CPU':>10}   "
          f"difference from the baseline, worst frame (max abs / mean abs / argmax)")
    onehot = torch.from_numpy(mask).float()[None].to(device)
    names = list(nets)
    times: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in names}
    worst = {k: [0.0, 0.0, 0.0] for k in names}
    for r in range(rounds):
        before = load()
        cores = {k: InferenceCore(net, DEMO, sparse_readout=None if k != names[0] else False)
                 for k, net in nets.items()}
        for core in cores.values():
            core.set_all_labels([1])
        for t in range(n + 1):
            image = image_to_tensor(frames[t], device)
            outs: dict[str, torch.Tensor] = {}
            for i in range(len(names)):
                name = names[(t + r + i) % len(names)]
                w0, c0 = time.perf_counter(), time.process_time()
                outs[name] = cores[name].step(image, onehot if t == 0 else None)
                if device.type == "cuda":
                    torch.cuda.synchronize()
                if t > 0:  # frame 0 is the annotated frame
                    times[name][0].append(time.perf_counter() - w0)
                    times[name][1].append((time.process_time() - c0) / threads)
            for name in names[1:]:
                worst[name] = worst_difference(worst[name], outs[names[0]], outs[name])
        print(f"  round {r + 1}: {before} before, {load()} after", flush=True)
    base_wall, base_cpu = (float(np.median(x)) for x in times[names[0]])
    for name in names:
        wm, cm = (float(np.median(x)) for x in times[name])
        diff = ""
        if name != names[0]:
            ok = all(v <= b for v, b in zip(worst[name], BOUNDS, strict=True))
            diff = (f"{worst[name][0]:.1e} / {worst[name][1]:.1e} / {worst[name][2]:.1e} "
                    f"({'within' if ok else 'OUTSIDE'} the golden bounds)")
        print(f"{name:>20} {wm:>13.3f} {cm:>12.3f} {wm / base_wall:>10.2f}x {cm / base_cpu:>9.2f}x   {diff}")
    print(f"golden bounds: max abs {BOUNDS[0]:.0e}, mean abs {BOUNDS[1]:.0e}, argmax mismatch {BOUNDS[2]:.0e}; "
          "ratio = time / baseline time (lower is faster); medians over all rounds")


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


def bench_args(doc: str, extra: Callable[[argparse.ArgumentParser], None] | None = None) -> argparse.Namespace:
    """--quick, --threads (applied), --device of a propagation benchmark, plus the options ``extra`` adds."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short run (fewer frames and rounds)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    if extra is not None:
        extra(parser)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    return args


def xmem_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seq", default="dog", help="DAVIS-2016 sequence under ../shared/media/davis16")
    parser.add_argument("--frames", type=int, default=20, help="propagated frames per round at 480p")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of the 480p table")
    parser.add_argument("--long", default="250,1000,4000", help="frame counts at which table 1 reports")


def main() -> None:
    args = bench_args(__doc__, xmem_options)
    device = torch.device(args.device)
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = Path(tmp) / "XMem.pth"
        origin = save_weights(checkpoint)
        net = load_xmem(checkpoint, device)
        print(f"XMem weights: {origin}; device {device} (backend {backend_of(net)}); torch {torch.__version__}; "
              f"{load()}")
        with torch.inference_mode():
            # the long run goes first so that its peak memory is not the 480p run's
            long_run(net, device, [50, 250] if args.quick else [int(x) for x in args.long.split(",")])
            latency(checkpoint, device, args.seq, 3 if args.quick else args.frames, 1 if args.quick else args.rounds,
                    args.threads)
            readout_bench(device, 2 if args.quick else 5)


if __name__ == "__main__":
    main()
