"""``xmem-tui info VIDEO [--json]``: what a video really contains, measured by decoding it.

Shows the decoded frame count, measured and nominal frame rates, whether the rate is variable, the
rotation, audio streams and any decoding problems, so a user can see why a file behaves as it does
before spending time on it. ``--json`` prints the full probe (every frame's timestamp) for scripts.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from xmem_tui.config import Settings

if TYPE_CHECKING:
    from xmem_tui.media.info import VideoInfo

NAME = "info"
HELP = "show what a video or image folder contains (decoded frame count, timestamps, VFR, audio)"


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("video", type=Path, help="video file or folder of JPEG/PNG frames")
    parser.add_argument("--json", action="store_true", help="print the full probe as JSON")
    parser.add_argument("--fps", type=float, default=24.0, help="frame rate of an image folder (default 24)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from xmem_tui.media.probe import probe
    from xmem_tui.media.sources import find_source
    from xmem_tui.workspace import workspace_root

    path = find_source(args.video, settings.source_dir)
    workspace = workspace_root(settings.workspace_dir, path)
    info = probe(path, cache_dir=workspace if workspace.is_dir() else None, image_fps=args.fps)
    if args.json:
        print(json.dumps(info.to_json(), sort_keys=True))
    else:
        print(summary(info))
    return 0


def summary(info: VideoInfo) -> str:
    """A few aligned lines describing ``info`` for people."""
    rate = "variable (VFR)" if info.vfr else "constant (CFR)"
    nominal = f"{info.nominal_fps:.3f}" if info.nominal_fps else "none"
    source = "image folder" if info.kind == "images" else f"{info.container} / {info.codec}"
    lines = [
        ("path", str(info.path)),
        ("kind", f"{source}, {info.pix_fmt or '?'}"),
        ("size", f"{info.width}x{info.height}" + (f" (rotated {info.rotation} deg)" if info.rotation else "")),
        ("frames", f"{info.frame_count} (decoded), {len(info.keyframes)} keyframes"),
        ("frame rate", f"{info.avg_fps:.3f} fps measured, {nominal} nominal, {rate}"),
        ("duration", f"{info.duration_s:.3f} s from {info.start_time_s:.3f} s"),
    ]
    for a in info.audio:
        start = f", starts at {a.start_time_s:.3f} s" if a.start_time_s is not None else ""
        lines.append(("audio", f"#{a.index} {a.codec} {a.sample_rate} Hz {a.channels} ch{start}"))
    if not info.audio:
        lines.append(("audio", "none"))
    if info.color:
        lines.append(("colour", ", ".join(f"{k} {v}" for k, v in info.color.items())))
    lines.extend(("warning", w) for w in info.warnings)
    return "\n".join(f"{key + ':':<12}{value}" for key, value in lines)
