"""``xmem-tui import VIDEO MASK_DIR``: import a folder of masks (XMem / Cutie / DAVIS layout, any common
convention: palette, 0/255 greyscale, grey levels, colour-coded)."""

from __future__ import annotations

import argparse
from pathlib import Path

from xmem_tui.config import Settings

NAME = "import"
HELP = "import a folder of index masks (00012.png = frame 12) as user annotations"


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("video", type=Path, help="source video or image folder")
    parser.add_argument("mask_dir", type=Path, help="folder of masks named by frame number (00012.png = frame 12): "
                                                    "palette PNGs (DAVIS-2017, XMem, Cutie), greyscale 0/255 "
                                                    "(DAVIS-2016), grey levels or colour-coded RGB")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from xmem_tui.mask_import import import_masks, skipped_line
    from xmem_tui.media.sources import find_source
    from xmem_tui.workspace import Workspace

    ws = Workspace.for_video(settings, find_source(args.video, settings.source_dir))
    report = import_masks(ws, args.mask_dir)
    skipped = skipped_line(report)
    for note in report.notes:
        print(f"note: {note}")
    for warning in [*report.warnings, *([skipped] if skipped else [])]:
        print(f"warning: {warning}")
    objects = ", ".join(map(str, report.objects)) or "none"
    print(f"imported {len(report.imported)} masks into {ws.root} (frames {_ranges(report.imported)}; "
          f"objects {objects})")
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
