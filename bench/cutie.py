"""Benchmark Cutie propagation on CPU (or CUDA): bounded memory on long runs and seconds per 480p frame.

Prints three tables:
  1. frames/s, peak memory (process peak RSS counted from the start of the run, or CUDA peak allocation)
     and memory sizes after 250 / 1,000 / 4,000 frames at 64x112 with the official eval config and
     long-term memory on (memory must plateau: the 4,000-frame peak within 10% of the 1,000-frame peak);
  2. seconds per frame at 480x854 (1 object, official config), the official formulation (dense readout,
     contiguous layout, direct convolutions) against ours (``load_cutie``'s placement: sparse readout, the
     CPU backend of ``processing.backend`` for the mask encoder and decoder), measured interleaved in the same
     run, with their output difference;
  3. seconds per frame at 480x854 of the two product engines, XMem and Cutie, as a propagation builds them
     (``models/XMem.pth`` and ``models/cutie-base-mega.pth`` loaded through the engine registry with the
     default ``[xmem]`` and ``[cutie]`` settings, user frame in permanent memory), interleaved frame by
     frame in the same run.

Weights are synthesised with ../shared/reference/synth_weights.py over cutie/cutie_base.tsv when available
(random init otherwise). Wall-clock numbers on a shared machine are noisy; process CPU time / threads is
printed next to them.

Usage: python bench/cutie.py [--quick] [--threads 2] [--device cpu] (--quick: 50 / 250 frames, 3 at 480p)
"""

from __future__ import annotations

import copy
import ctypes
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from propagate import bench_args, build_net, memory_table, print_latency, video, worst_difference

from xmem_tui.config import load_settings
from xmem_tui.inference.cutie.core import CutieCore
from xmem_tui.inference.cutie_engine import DEFAULT_CONFIG, CutieEngine
from xmem_tui.inference.engine import Engine
from xmem_tui.inference.placement import frame_to_tensor, place_network
from xmem_tui.inference.registry import engine_spec
from xmem_tui.model import Cutie, XMem

PROC_SELF = Path("/proc/self")


def reset_peak(device: torch.device) -> None:
    """Start peak tracking now, so that loading and synthesising the weights do not set the peak."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    else:
        ctypes.CDLL("libc.so.6").malloc_trim(0)  # give freed heap (weight synthesis) back to the OS first
        (PROC_SELF / "clear_refs").write_text("5")  # Linux: VmHWM := VmRSS


def peak_mb(device: torch.device) -> float:
    """Peak memory since :func:`reset_peak`: allocated CUDA memory, or the process's VmHWM."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    for line in (PROC_SELF / "status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def long_run(net: Cutie, device: torch.device, checkpoints: list[int]) -> None:
    frames, mask = video(64, 112, 64)
    engine = CutieEngine(net, DEFAULT_CONFIG, device, amp=device.type == "cuda")
    engine.reset([1])
    cap = DEFAULT_CONFIG["long_term"]["max_num_tokens"]
    print(f"\n1. long run at 64x112, 1 object, official eval config (long-term cap {cap} tokens)")
    engine.step(frames[0], mask)  # warm-up, then measure from a fresh start
    engine.reset([1])
    reset_peak(device)
    memory_table(engine, frames, mask, checkpoints, lambda: peak_mb(device))


def latency(net: Cutie, fast: Cutie, device: torch.device, n: int, threads: int) -> None:
    frames, mask = video(480, 854, n + 1)
    cores = {"official formulation": CutieCore(net, DEFAULT_CONFIG, sparse_readout=False),
             "xmem-tui": CutieCore(fast, DEFAULT_CONFIG, sparse_readout=device.type == "cpu")}
    index = torch.from_numpy(mask.astype(np.int64)).to(device)
    times: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in cores}
    outs: dict[str, torch.Tensor] = {}
    worst = [0.0, 0.0, 0.0]
    for t in range(n + 1):
        image = frame_to_tensor(frames[t], device)
        for name, core in cores.items():
            w0, c0 = time.perf_counter(), time.process_time()
            outs[name] = core.step(image, index if t == 0 else None, [1] if t == 0 else None)
            if device.type == "cuda":
                torch.cuda.synchronize()
            if t > 0:  # frame 0 is the annotated frame
                times[name][0].append(time.perf_counter() - w0)
                times[name][1].append((time.process_time() - c0) / threads)
        worst = worst_difference(worst, *outs.values())
    print(f"\n2. 480x854, 1 object, official config, {n} propagated frames (mem_every 5), {threads} threads")
    print_latency(times, worst)


def product_engine(name: str, net: torch.nn.Module, folder: Path, device: torch.device, threads: int) -> Engine:
    """Engine ``name`` built as a propagation builds it: its checkpoint file saved into ``folder``'s models
    folder, then the registry's ``build`` (strict weights-only load, placement, the config's defaults)."""
    spec = engine_spec(name)
    models = folder / "models"
    models.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), models / spec.checkpoints[0])
    settings = load_settings(None, {"paths.models_dir": str(models), "processing.device": str(device),
                                    "processing.threads": threads}, project_dir=folder)
    return spec.build(settings, spec.device(settings))


def engines_side_by_side(cutie: Cutie, device: torch.device, n: int, threads: int) -> None:
    xmem, origin = build_net(XMem, "manifests/xmem.tsv")
    frames, mask = video(480, 854, n + 1)
    with tempfile.TemporaryDirectory() as folder:
        engines = {"XMem": product_engine("xmem", xmem, Path(folder), device, threads),
                   "Cutie": product_engine("cutie", cutie, Path(folder), device, threads)}
    del xmem
    times: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in engines}
    for engine in engines.values():
        engine.reset([1])
    for t in range(n + 1):
        for name, engine in engines.items():
            w0, c0 = time.perf_counter(), time.process_time()
            engine.step(frames[t], mask if t == 0 else None, end=t == n)
            if device.type == "cuda":
                torch.cuda.synchronize()
            if t > 0:  # frame 0 is the annotated frame
                times[name][0].append(time.perf_counter() - w0)
                times[name][1].append((time.process_time() - c0) / threads)
    print(f"\n3. product engines at 480x854, 1 object, [xmem] / [cutie] defaults (XMem weights: {origin}), "
          f"{n} propagated frames, {threads} threads")
    print(f"{'engine':>8} {'wall s/frame':>13} {'CPU s/frame':>12}")
    medians = {name: (float(np.median(wall)), float(np.median(cpu))) for name, (wall, cpu) in times.items()}
    for name, (wall, cpu) in medians.items():
        print(f"{name:>8} {wall:>13.3f} {cpu:>12.3f}")
    (xmem_wall, xmem_cpu), (cutie_wall, cutie_cpu) = medians["XMem"], medians["Cutie"]
    print(f"Cutie runs at {xmem_wall / cutie_wall:.2f}x XMem's speed in wall time, {xmem_cpu / cutie_cpu:.2f}x in "
          "CPU time")


def main() -> None:
    args = bench_args(__doc__)
    device = torch.device(args.device)
    net, origin = build_net(Cutie, "cutie/cutie_base.tsv")
    net = net.to(device)
    print(f"Cutie weights: {origin}; device {device}; torch {torch.__version__}")
    copied = copy.deepcopy(net)
    fast = place_network(copied, device, after_keys=(copied.mask_encoder, copied.mask_decoder))
    with torch.inference_mode():
        # the long run goes first so that its peak memory is not the 480p run's
        long_run(fast, device, [50, 250] if args.quick else [250, 1000, 4000])
        latency(net, fast, device, 3 if args.quick else 12, args.threads)
        del fast
        engines_side_by_side(net, device, 3 if args.quick else 12, args.threads)


if __name__ == "__main__":
    main()
