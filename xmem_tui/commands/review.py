"""``xmem-tui review VIDEO``: the propagated frames most worth a look, ranked, with the reasons.

Reads the quality signals recorded during propagation (``quality.jsonl`` in the workspace); frames the
user has annotated since are left out, and frames made stale by a later edit are listed separately
because they need propagating again rather than inspecting.
"""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path

from xmem_tui.config import Settings

NAME = "review"
HELP = "list the propagated frames most worth a look (quality signals), ranked"


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("video", type=Path, help="source video or image folder (or its name in source/)")
    parser.add_argument("--top", type=int, default=20, metavar="N", help="how many frames to list (default 20)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from xmem_tui.inference.quality import load_signals, rank_frames
    from xmem_tui.media.sources import find_source
    from xmem_tui.workspace import Workspace

    ws = Workspace.for_video(settings, find_source(args.video, settings.source_dir))
    signals = load_signals(ws.quality_path)
    ranked = rank_frames(signals, top=max(args.top, 0), exclude=ws.user_frames())
    stale = ws.stale_frames()
    times = ws.info.timestamps_s
    if args.json:
        print(json.dumps({"video": str(ws.video_path), "frames_with_signals": len(signals), "stale": stale,
                          "ranked": [{"frame": f, "time_s": round(times[f], 3) if f < len(times) else None,
                                      "score": s, "reasons": r} for f, s, r in ranked]}, indent=2))
        return 0
    if not signals:
        print(f"no quality signals for {ws.video_path.name} yet: propagate first "
              f"({shlex.join(['xmem-tui', 'propagate', str(args.video)])} --from N)")
        return 0
    print(f"{ws.video_path.name}: {len(signals)} propagated frames measured; "
          f"{len(ranked)} worth a look" + (" (top shown)" if len(ranked) == args.top else ""))
    if ranked:
        print(f"{'frame':>6} {'time':>9} {'score':>6}  reasons")
        for frame, score, reasons in ranked:
            when = f"{times[frame]:.2f}s" if frame < len(times) else "?"
            print(f"{frame:>6} {when:>9} {score:>6.2f}  {'; '.join(reasons)}")
    if stale:
        print(f"stale (a later edit upstream; propagate again): {_short(stale)}")
    return 0


def _short(frames: list[int], limit: int = 20) -> str:
    text = ", ".join(map(str, frames[:limit]))
    return text + (f" ... ({len(frames)} frames)" if len(frames) > limit else "")
