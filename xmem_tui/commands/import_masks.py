"""``xmem-tui import VIDEO MASK_DIR``: import palette PNG masks (XMem / Cutie / DAVIS layout)."""

from __future__ import annotations

import argparse
from pathlib import Path

from xmem_tui.config import Settings

NAME = "import"
HELP = "import a folder of index masks (00012.png = frame 12) as user annotations"


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("video", type=Path, help="source video or image folder")
    parser.add_argument("mask_dir", type=Path, help="folder of palette PNGs named by frame number")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from xmem_tui.mask_import import import_masks
    from xmem_tui.media.sources import find_source
    from xmem_tui.workspace import Workspace

    ws = Workspace.for_video(settings, find_source(args.video, settings.source_dir))
    report = import_masks(ws, args.mask_dir)
    for warning in report.warnings:
        print(f"warning: {warning}")
    print(f"imported {len(report.imported)} masks into {ws.root} (frames {_ranges(report.imported)})")
    return 0


def _ranges(indices: list[int]) -> str:
    """Compact "0-3, 7, 9-10" for a sorted list of frame numbers."""
    parts: list[str] = []
    for index in indices:
        if parts and parts[-1][1] == index - 1:
            parts[-1] = (parts[-1][0], index)
        else:
            parts.append((index, index))
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in parts)
