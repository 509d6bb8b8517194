"""``xmem-tui demo``: make a demo project with generated clips and run the main job on it.

The demo clip's ground-truth keyframes are imported as if drawn, its masks propagated and a green screen
exported with its audio and self-checked: on a terminal as worker jobs while the dashboard shows them
(the way a user works), otherwise in the foreground with progress lines, ending with the output's path.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from xmem_tui.config import Settings

if TYPE_CHECKING:
    from xmem_tui.demo import DemoProject, DemoRun

NAME = "demo"
HELP = "make a demo project (generated clips, no footage needed), propagate and export one, and open it"


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dir", type=Path, default=Path("xmem-demo"),
                        help="folder for the demo project (default: ./xmem-demo)")
    parser.add_argument("--no-open", action="store_true",
                        help="do not open the dashboard: run the job here and print the results (also when not "
                             "on a terminal)")
    parser.add_argument("--no-run", action="store_true",
                        help="only make the project (clips, ground truth, config) and print its summary")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from xmem_tui.config import load_settings
    from xmem_tui.demo import create_demo, prepare_run

    project = create_demo(args.dir)
    demo_settings = load_settings(project.root / "config.toml")
    _print_summary(project, demo_settings)
    interactive = not args.no_open and sys.stdout.isatty()
    if not args.no_run:
        work = prepare_run(project, demo_settings)
        if work.imported:
            print(f"imported the ground truth of frames {', '.join(map(str, work.imported))} of {work.video.name} "
                  "as keyframes (as if drawn in the window)")
        if interactive:
            _queue(work, demo_settings)
        else:
            code = _run_here(work, demo_settings)
            if code:
                return code
    if not interactive:
        print(f"next: cd {project.root} && xmem-tui")
        return 0
    os.chdir(project.root)
    from xmem_tui.commands import tui

    return tui.run(args, demo_settings)


def _queue(work: DemoRun, settings: Settings) -> None:
    """Hand the propagation and then the export to the worker (one job at a time, in order)."""
    from xmem_tui.jobs.pidfile import ensure_worker
    from xmem_tui.jobs.queue import JobQueue

    queue = JobQueue.for_settings(settings)
    queue.submit("propagate", work.video, work.propagation.to_params())
    if work.export is not None:
        queue.submit("export", work.video, work.export.to_params())
    ensure_worker(settings)
    print(f"queued: propagate {work.video.name} from frame 0"
          + (f", then export {work.output}" if work.export is not None else ""))


def _run_here(work: DemoRun, settings: Settings) -> int:
    """Propagate and export in this process, exactly as ``xmem-tui propagate`` and ``export`` would."""
    from xmem_tui.commands import propagate
    from xmem_tui.commands.export import export_one

    flags = argparse.Namespace(video=work.video, start=work.propagation.start, end=None, backward=False,
                               until_keyframe=False, engine=None, clear_memory=False, queue=False)
    code = propagate.run(flags, settings)
    if code:
        return code
    if work.export is None:
        print(f"kept the export of an earlier demo run: {work.output}")
    else:
        export_one(work.video, work.export, settings)
    return 0


def _print_summary(project: DemoProject, settings: Settings) -> None:
    from xmem_tui.media.probe import probe
    from xmem_tui.workspace.naming import workspace_root

    print(f"demo project: {project.root}")
    for clip in project.clips:
        info = probe(clip, cache_dir=workspace_root(settings.workspace_dir, clip))
        rate = "VFR" if info.vfr else "CFR"
        audio = ", audio" if info.has_audio else ""
        print(f"  {clip.name}: {info.frame_count} frames, {info.width}x{info.height}, "
              f"{info.avg_fps:.2f} fps {rate}, {info.duration_s:.2f} s{audio}")
    print(f"  ground-truth masks: {project.ground_truth}/<clip>/  "
          "(xmem-tui import source/demo_vfr.mp4 ground_truth/demo_vfr)")
