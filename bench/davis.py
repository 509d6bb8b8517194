"""Propagation quality on real footage: J&F as the DAVIS benchmark defines it, over ../shared/media/davis16/.

Run: ``.venv/bin/python bench/davis.py [--engine flow|xmem|cutie] [--synth] [--size 480] [--sequences a,b]
[--stop N] [--step S] [--models DIR]``.

Each sequence's first ground-truth mask is given to the engine (semi-supervised protocol) and J (region IoU)
and F (boundary F-measure, tolerance 0.008 of the image diagonal) are measured on every other frame but the
last (:mod:`xmem_tui.inference.metrics`). The floor is the first mask copied to every frame, scored the same
way in the same run; the targets of the weight-free engine are a mean J&F of 0.60 and every sequence at least
its floor + 0.05. Speed is the engine's own steps at the processing size (frames resized as the app does):
wall frames/s, and CPU seconds per frame over every thread of the process, which is what a loaded machine
does not distort; the load average is printed with them. The last column says whether the frame with the
lowest J is among the five that ``xmem-tui review`` lists first after this run (target: 7 of 10); the summary
says what measuring review's signals cost per frame (wall time, not part of the engine's speed).

``--engine xmem`` / ``cutie`` use the checkpoint in the models folder, or with ``--synth`` the synthesized
weights of ../shared/reference/synth_weights.py (right shapes, meaningless values: a speed and plumbing check
only, its J&F means nothing).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import tempfile
from pathlib import Path

import numpy as np

from xmem_tui.config import find_config, load_settings
from xmem_tui.inference.engine import Engine
from xmem_tui.inference.evaluation import copy_first_mask, load_sequence, run_engine

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
DAVIS = SHARED / "media" / "davis16"
#: Engine name -> (checkpoint file in models/, schema name in ../shared/reference) for --synth.
SYNTH = {"xmem": ("XMem.pth", "manifests/xmem.tsv"), "cutie": ("cutie-base-mega.pth", "cutie/cutie_base.tsv")}


def synthesize(engine: str, folder: Path) -> None:
    """Write the reference's seed-0 synthetic weights for ``engine`` into ``folder`` under the release's name."""
    import torch

    spec = importlib.util.spec_from_file_location("synth_weights", SHARED / "reference" / "synth_weights.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    name, manifest = SYNTH[engine]
    torch.save(module.synthesize(str(SHARED / "reference" / manifest), seed=0), folder / name)


def build(args: argparse.Namespace, models: Path | None) -> Engine:
    from xmem_tui.inference.service import build_engine

    overrides: dict[str, object] = {"processing.size": args.size}
    if models is not None:
        overrides["paths.models_dir"] = str(models.resolve())
    settings = load_settings(find_config(), overrides)
    return build_engine(settings, args.engine)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", default="flow", help="flow (default), xmem, cutie or any registered engine")
    parser.add_argument("--synth", action="store_true", help="xmem/cutie: synthesized weights (speed check only)")
    parser.add_argument("--size", type=int, default=480, help="processing size, shorter side (default 480)")
    parser.add_argument("--sequences", default="", help="comma-separated names (default: all of davis16/)")
    parser.add_argument("--stop", type=int, default=None, help="only the first N frames of each sequence")
    parser.add_argument("--step", type=int, default=1, help="every S-th frame (faster motion, shorter runs)")
    parser.add_argument("--models", type=Path, default=None, help="models folder (default: the project's)")
    parser.add_argument("--root", type=Path, default=DAVIS, help="DAVIS-layout folder of sequences")
    args = parser.parse_args()
    names = args.sequences.split(",") if args.sequences else sorted(p.name for p in args.root.iterdir() if p.is_dir())
    with tempfile.TemporaryDirectory() as tmp:
        models = args.models
        if args.synth:
            if args.engine not in SYNTH:
                parser.error(f"--synth is for {' or '.join(SYNTH)}")
            models = Path(tmp)
            synthesize(args.engine, models)
        engine = build(args, models)
        if args.synth:
            print("synthesized weights: right shapes, meaningless values; only speed and plumbing are measured")
        table(engine, names, args)


def table(engine: Engine, names: list[str], args: argparse.Namespace) -> None:
    load_before = os.getloadavg()
    print(f"DAVIS-2016 ({args.root}), engine {engine.name}, processing size {args.size}, "
          f"frames {'all' if args.stop is None else f'0-{args.stop - 1}'} step {args.step}")
    head = (f"{'sequence':<16}{'frames':>7}{'J':>7}{'F':>7}{'J&F':>7}{'floor':>7}{'margin':>8}"
            f"{'fps':>7}{'CPU s/f':>9}{'worst J':>9}{'in top 5':>9}")
    print(head)
    print("-" * len(head))
    rows = []
    for name in names:
        seq = load_sequence(args.root / name, args.stop, args.step)
        floor = copy_first_mask(seq)
        run = run_engine(engine, seq, args.size)
        n = len(seq.frames)
        worst = run.score.worst_frame
        hit = worst in run.review
        rows.append((run.score.j_mean, run.score.f_mean, run.score.jf, floor.jf, n / run.wall_s, run.cpu_s / n, hit,
                     run.signals_s / n))
        print(f"{name:<16}{n:>7}{run.score.j_mean:7.3f}{run.score.f_mean:7.3f}{run.score.jf:7.3f}{floor.jf:7.3f}"
              f"{run.score.jf - floor.jf:+8.3f}{n / run.wall_s:7.2f}{run.cpu_s / n:9.3f}{worst!s:>9}"
              f"{'yes' if hit else 'no':>9}", flush=True)
    a = np.array(rows, dtype=np.float64)
    print("-" * len(head))
    print(f"{'mean':<16}{'':>7}{a[:, 0].mean():7.3f}{a[:, 1].mean():7.3f}{a[:, 2].mean():7.3f}{a[:, 3].mean():7.3f}"
          f"{(a[:, 2] - a[:, 3]).mean():+8.3f}{a[:, 4].mean():7.2f}{a[:, 5].mean():9.3f}")
    load_after = os.getloadavg()
    print()
    print(f"mean J&F {a[:, 2].mean():.3f} (weight-free engine's target >= 0.60); sequences at floor + 0.05 or more: "
          f"{int((a[:, 2] >= a[:, 3] + 0.05).sum())} of {len(rows)}; worst-J frame in review's top 5: "
          f"{int(a[:, 6].sum())} of {len(rows)} (target 7 of 10; its signals cost "
          f"{1000 * a[:, 7].mean():.1f} ms a frame)")
    print(f"load average (1 min) {load_before[0]:.2f} before, {load_after[0]:.2f} after, on {os.cpu_count()} CPUs; "
          f"CPU s/f is process CPU time (all threads) per frame")


if __name__ == "__main__":
    main()
