"""Benchmark Cutie propagation on CPU (or CUDA): bounded memory on long runs and seconds per 480p frame.

Prints two tables:
  1. frames/s, peak memory (process peak RSS counted from the start of the run, or CUDA peak allocation)
     and memory sizes after 250 / 1,000 / 4,000 frames at 64x112 with the official eval config and
     long-term memory on (memory must plateau: the 4,000-frame peak within 10% of the 1,000-frame peak);
  2. seconds per frame at 480x854 (1 object, official config), the official formulation (dense readout,
     contiguous layout, direct convolutions) against ours (``load_cutie``'s placement: sparse readout, the
     CPU backend of ``processing.backend`` for the mask encoder and decoder), measured interleaved in the same
     run, with their output difference.

Weights are synthesised with ../shared/reference/synth_weights.py over cutie/cutie_base.tsv when available
(random init otherwise). Wall-clock numbers on a shared machine are noisy; process CPU time / threads is
printed next to them.

Usage: python bench/cutie.py [--quick] [--threads 2] [--device cpu]
"""

from __future__ import annotations

import copy
import ctypes
import time
from pathlib import Path

import numpy as np
import torch
from propagate import bench_args, build_net, memory_table, print_latency, video, worst_difference

from xmem_tui.inference.cutie.core import CutieCore
from xmem_tui.inference.cutie_engine import DEFAULT_CONFIG, CutieEngine
from xmem_tui.inference.placement import frame_to_tensor, place_network
from xmem_tui.model import Cutie

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


if __name__ == "__main__":
    main()
