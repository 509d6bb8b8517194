"""``xmem-tui propagate VIDEO --from N``: propagate masks from an annotated frame, in the foreground or queued.

Foreground runs show a progress line on stderr (frame i/N, frames/s, ETA, memory, engine) and write masks
as they go, so Ctrl-C leaves every finished frame on disk. ``--queue`` hands the same request to the
worker instead (it survives a dropped SSH session) and prints the job id.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from xmem_tui.config import Settings

if TYPE_CHECKING:
    from xmem_tui.inference.propagation import FrameResult
    from xmem_tui.inference.request import PropagationRequest

NAME = "propagate"
HELP = "propagate masks from an annotated frame through the video"


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("video", type=Path, help="source video or image folder (or its name in source/)")
    parser.add_argument("--from", dest="start", type=int, required=True, metavar="N",
                        help="start frame (0-based); it must have a mask")
    parser.add_argument("--to", dest="end", type=int, default=None, metavar="M",
                        help="last frame, inclusive (default: the end, or frame 0 with --backward)")
    parser.add_argument("--backward", action="store_true", help="propagate towards frame 0")
    parser.add_argument("--until-keyframe", action="store_true",
                        help="stop before the next user-annotated frame instead of passing through it")
    parser.add_argument("--clear-memory", action="store_true",
                        help="remember only the start frame (and user frames the run reaches), "
                             "not the video's other annotated frames")
    from xmem_tui.inference.registry import ENGINES, engine_choices

    engines = "; ".join(f"{spec.name}: {spec.help}" for spec in ENGINES if spec.help)
    parser.add_argument("--engine", choices=engine_choices(), default=None,
                        help=f"auto: the first engine whose checkpoints exist (XMem when models/XMem.pth exists, "
                             f"else Cutie, else weight-free flow); {engines} (default: the engine chosen for the "
                             f"video in the dashboard, else processing.engine)")
    parser.add_argument("--queue", action="store_true", help="submit a job to the worker and print its id")


def request_from(args: argparse.Namespace) -> PropagationRequest:
    """The request the flags describe; without ``--engine`` the run uses the video's engine (chosen in the
    dashboard), else ``processing.engine``."""
    from xmem_tui.inference.request import PropagationRequest

    return PropagationRequest(start=args.start, end=args.end, backward=args.backward,
                              until_keyframe=args.until_keyframe, engine=args.engine,
                              clear_memory=args.clear_memory)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from xmem_tui.media.sources import find_source

    video = find_source(args.video, settings.source_dir)
    request = request_from(args)
    if args.queue:
        from xmem_tui.jobs.queue import JobQueue

        print(JobQueue.for_settings(settings).submit("propagate", video, request.to_params()).id)
        return 0
    from xmem_tui.inference.service import run_propagation
    from xmem_tui.workspace import Workspace

    ws = Workspace.for_video(settings, video)
    bar = ProgressLine(sys.stderr)
    started = time.monotonic()
    last: FrameResult | None = None
    written = 0
    results = run_propagation(ws, settings, request)
    try:
        for last in results:
            written += not last.input
            bar.update(last)
    except KeyboardInterrupt:
        results.close()
        bar.finish()
        where = f"frame {last.frame}" if last else f"frame {args.start}"
        print(f"interrupted: masks up to {where} are saved in {ws.root}", file=sys.stderr)
        return 130
    bar.finish()
    elapsed = time.monotonic() - started
    if last is None:
        print(f"nothing to propagate from frame {args.start} (the range is empty)")
        return 0
    label = " (weight-free)" if last.weight_free and "weight-free" not in last.engine else ""
    print(f"propagated {written} frames {last.direction} from frame {args.start} to {last.frame} of {video.name} "
          f"with {last.engine}{label} in {elapsed:.1f} s ({last.done / max(elapsed, 1e-9):.2f} frames/s); "
          f"masks in {ws.root / 'masks'}")
    print(f"frames worth a look: {shlex.join(['xmem-tui', 'review', str(args.video)])}")
    return 0


class ProgressLine:
    """A one-line progress display: redrawn in place on a terminal, a line every few seconds otherwise."""

    def __init__(self, stream: TextIO, width: int = 24, interval: float = 0.25, log_interval: float = 5.0) -> None:
        self.stream = stream
        self.width = width
        self.tty = stream.isatty()
        self.interval = interval if self.tty else log_interval
        self._last = float("-inf")
        self._shown: FrameResult | None = None
        self._pending: FrameResult | None = None

    def update(self, result: FrameResult) -> None:
        self._pending = result
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            self._draw(result)

    def finish(self) -> None:
        if self._pending is not None and self._pending is not self._shown:
            self._draw(self._pending)
        if self.tty and self._shown is not None:
            self.stream.write("\n")
            self.stream.flush()

    def _draw(self, r: FrameResult) -> None:
        self._shown = r
        self.stream.write(("\r" if self.tty else "") + format_result(r, self.width) + ("" if self.tty else "\n"))
        self.stream.flush()


def format_result(r: FrameResult, width: int = 24) -> str:
    """``[#####-----] frame 120 (40/100) 12.3 fps ETA 0:05 | mem 3240+0 | CPU 1.2G | XMem``."""
    from xmem_tui.inference.gpu import format_bytes

    filled = int(width * r.done / r.total) if r.total else width
    eta = "--:--" if r.eta_s is None else f"{int(r.eta_s) // 60}:{int(r.eta_s) % 60:02d}"
    mem = f"mem {r.memory.working}+{r.memory.long_term}"
    if r.gpu.device.startswith("cuda"):
        device = (f"{r.gpu.device} {format_bytes(r.gpu.used)}/{format_bytes(r.gpu.total)} "
                  f"peak {format_bytes(r.gpu.peak)}")
    else:
        device = f"{r.gpu.device} {format_bytes(r.gpu.used)}"
    return (f"[{'#' * filled}{'-' * (width - filled)}] frame {r.frame} ({r.done}/{r.total}) {r.fps:.1f} fps "
            f"ETA {eta} | {mem} | {device} | {r.engine}")
