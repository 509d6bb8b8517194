"""``xmem-tui repair VIDEO``: rebuild a workspace's state.json from its masks (after a crash or a bad edit)."""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from xmem_tui.config import Settings

NAME = "repair"
HELP = "rebuild a video's workspace state from its mask files (keeps every mask)"


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("video", type=Path, help="source video or image folder")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from xmem_tui.media.sources import find_source
    from xmem_tui.workspace import Workspace, workspace_root

    video = find_source(args.video, settings.source_dir)
    root = workspace_root(settings.workspace_dir, video)
    state = root / "state.json"
    if state.exists():
        backup = state.with_name(f"state.json.broken-{time.strftime('%Y%m%d-%H%M%S')}")
        shutil.move(state, backup)
        print(f"moved the old state aside: {backup}")
    journal = root / "frames.jsonl"
    if journal.exists():
        journal.unlink()
    ws = Workspace.for_video(settings, video)
    count = len(ws.records())
    print(f"{ws.root}: state rebuilt from {count} mask files ({len(ws.user_frames())} user-annotated)")
    return 0
