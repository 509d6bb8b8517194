"""``xmem-tui demo``: create a demo project with generated clips and open the dashboard on it."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from xmem_tui.config import Settings

if TYPE_CHECKING:
    from xmem_tui.demo import DemoProject

NAME = "demo"
HELP = "create a demo project (generated clips, no footage needed) and open it"


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dir", type=Path, default=Path("xmem-demo"),
                        help="folder for the demo project (default: ./xmem-demo)")
    parser.add_argument("--no-open", action="store_true",
                        help="only create the project and print its summary (also when not on a terminal)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from xmem_tui.config import load_settings
    from xmem_tui.demo import create_demo

    project = create_demo(args.dir)
    demo_settings = load_settings(project.root / "config.toml")
    _print_summary(project, demo_settings)
    if args.no_open or not sys.stdout.isatty():
        return 0
    os.chdir(project.root)
    from xmem_tui.commands import tui

    return tui.run(args, demo_settings)


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
    print(f"  ground-truth masks to import: {project.ground_truth}/<clip>/  "
          "(xmem-tui import source/demo_cfr.mp4 ground_truth/demo_cfr)")
    print(f"next: cd {project.root} && xmem-tui")
