"""``xmem-tui annotate VIDEO [--frame N]``: the OpenCV annotation window (works over ``ssh -X``)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from xmem_tui.config import Settings
from xmem_tui.errors import UserError

NAME = "annotate"
HELP = "open the annotation window: click, scribble, brush or lasso masks; p propagates as a job"
#: Every edit is saved when it is made, so the process ends as soon as the window is closed (see cli.py):
#: tearing torch and Qt down took longer than everything else about closing the window.
EXIT_AT_ONCE = True


IMPORT_NOTE = """\
Importing a mask (key i) reads the first of these that exists, for the frame shown (frame 12 -> 00012.png):
  workspace/<video file name>/import/00012.png   (a folder in the video's workspace)
  <folder of the video>/<video stem>_masks/00012.png   (next to the video: clip.mp4 -> clip_masks/)
A palette PNG of index masks (0 = background, k = object k), greyscale 0/255 (object 1) or a few grey
levels, or RGB in the objects' colours, at the video's size or the processing size (off by up to 2
pixels is resized).

Every edit is saved at once (with an undo snapshot); propagation runs as a job in the background worker,
and its masks appear in the window as they are written. Over `ssh -X`, lower annotate.max_width /
max_height in config.toml to send less per redraw."""


def register(parser: argparse.ArgumentParser) -> None:
    from xmem_tui.annotate.keymap import help_lines

    parser.add_argument("video", type=Path, help="source video or image folder (also looked up in source/)")
    parser.add_argument("--frame", type=int, default=0, metavar="N",
                        help="frame to show first, counted from 0 like everywhere in xmem-tui (default 0)")
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    keys = "\n".join(f"  {k:<12} {text}" for k, text in help_lines())
    parser.epilog = f"keys in the window:\n{keys}\n\n{IMPORT_NOTE}"


def run(args: argparse.Namespace, settings: Settings) -> int:
    from xmem_tui.annotate.controller import Controller
    from xmem_tui.annotate.cv_window import CvWindow, is_remote_display
    from xmem_tui.annotate.jobs_client import PropagationClient
    from xmem_tui.annotate.segmenters import Segmenters
    from xmem_tui.media.frames import open_frames
    from xmem_tui.media.sources import find_source
    from xmem_tui.workspace import Workspace

    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        raise UserError("no display: DISPLAY is not set; connect with `ssh -X` (or -Y) or run on a desktop.")
    video = find_source(args.video, settings.source_dir)
    ws = Workspace.for_video(settings, video)
    if not 0 <= args.frame < ws.frame_count:
        raise UserError(f"--frame {args.frame} is out of range: {video.name} has frames 0-{ws.frame_count - 1}.")
    remote = is_remote_display()
    with ws.exclusive("annotate"), open_frames(video, info=ws.info) as frames:
        controller = Controller(ws, frames, settings, Segmenters.for_settings(settings),
                                jobs=PropagationClient(settings, ws), start_frame=args.frame, hover_cursor=not remote)
        CvWindow(controller, f"xmem-tui annotate: {video.name}", remote=remote).run()
    saved = sorted(controller.saved_frames)
    print(f"{video.name}: {len(saved)} frame(s) annotated this session; masks in {ws.root / 'masks'}")
    return 0
