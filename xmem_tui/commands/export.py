"""``xmem-tui export VIDEO --kind K``: frame-exact export for editors, in the foreground or queued.

In the foreground a progress line is redrawn in place; with ``--queue`` the export becomes a job for the
worker (so a dropped SSH session does not stop it). Exit status 1 when the self-check fails.

``--all`` exports every video of the source folder that has masks the same way (``--out`` then names a
folder, see :mod:`xmem_tui.export.batch`). The export's self-check decodes the whole output again: it is
shown as its own step ("self-check: decoding the output again"), not as a frame counter stuck at the end.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from xmem_tui.config import Settings

if TYPE_CHECKING:
    from xmem_tui.export.request import ExportRequest

NAME = "export"
HELP = "export the masks of a video: greenscreen, mask, alpha, overlay, masks (PNG) or reframe"


def register(parser: argparse.ArgumentParser) -> None:
    from xmem_tui.export.codecs import CODECS
    from xmem_tui.export.presets import PRESETS
    from xmem_tui.export.registry import KINDS, kind_names
    from xmem_tui.export.request import AUDIO_CHOICES

    kinds = "; ".join(f"{spec.name}: {spec.help}" for spec in KINDS if spec.help)
    parser.add_argument("video", type=Path, nargs="?", default=None,
                        help="source video (its workspace holds the masks); leave out with --all")
    parser.add_argument("--all", action="store_true",
                        help="export every video in the source folder that has masks, all the same way "
                             "(--out is then a folder)")
    parser.add_argument("--kind", choices=kind_names(), default=None,
                        help=f"what to export (default: [export] kind): {kinds}")
    parser.add_argument("--objects", default=None, help="object numbers, e.g. 1,2 (default: all)")
    parser.add_argument("--preset", choices=tuple(PRESETS), default=None,
                        help="editor preset: premiere = ProRes 4444 alpha MOV + AAC; resolve = ProRes 4444 "
                             "alpha MOV + PCM audio; capcut = green screen H.264 MP4 + AAC (flags override it)")
    parser.add_argument("--out", type=Path, default=None,
                        help="output file (a folder for PNG sequences); default: exports/VIDEO_KIND_CODEC.EXT, "
                             "e.g. exports/clip_alpha_prores.mov (the preset's name instead of the codec's with "
                             "--preset)")
    parser.add_argument("--codec", choices=tuple(CODECS), default=None,
                        help="storage codec (default: the kind's first)")
    parser.add_argument("--crf", type=int, default=None, help="quality for H.264/H.265/VP9 (lower = better)")
    parser.add_argument("--speed", default=None, help="x264/x265 preset name (default medium)")
    parser.add_argument("--background", default=None, help="greenscreen background: #RRGGBB or an image file")
    parser.add_argument("--per-object", action="store_true", default=None, help="mask: one file per object")
    parser.add_argument("--upscale", choices=("bilinear", "guided"), default=None, help="mask upscaling")
    parser.add_argument("--median", type=int, default=None, help="median filter size in pixels (odd, 0 = off)")
    parser.add_argument("--feather", type=float, default=None, help="edge feather (Gaussian sigma, pixels)")
    parser.add_argument("--choke", type=int, default=None, help="shrink (>0) or grow (<0) the matte, pixels")
    parser.add_argument("--temporal", type=int, default=None, help="temporal smoothing over +-k frames")
    parser.add_argument("--no-despill", dest="despill", action="store_false", default=None,
                        help="keep green spill on greenscreen edges")
    parser.add_argument("--audio", choices=AUDIO_CHOICES, default=None, help="audio track (default auto)")
    parser.add_argument("--device", default=None, help="compositing device: cpu, cuda, auto "
                                                        "(default: processing.device)")
    parser.add_argument("--aspect", default=None, help="reframe aspect W:H (default 9:16)")
    parser.add_argument("--size", default=None, help="reframe output size WxH (default 1080x1920)")
    parser.add_argument("--overwrite", action="store_true", default=None,
                        help="replace an existing output (without it an existing output is kept and the export "
                             "refused)")
    parser.add_argument("--queue", action="store_true", help="submit to the job queue instead of running here")


def request_from(args: argparse.Namespace) -> ExportRequest:
    """The request the flags describe (unset flags stay None, so the preset and the settings apply)."""
    from xmem_tui.export.request import ExportRequest
    from xmem_tui.params import field_names

    given = {k: getattr(args, k) for k in field_names(ExportRequest) if k != "out" and hasattr(args, k)}
    out = str(args.out.expanduser().resolve()) if args.out is not None else None
    return ExportRequest(**given, out=out)


def videos_from(args: argparse.Namespace, settings: Settings) -> list[Path]:
    """The video given, or with ``--all`` every source video with masks (in name order).

    Raises:
        UserError: neither or both given, a missing video, or ``--all`` finding nothing to export.
    """
    from xmem_tui.errors import UserError

    if args.all == (args.video is not None):
        raise UserError("give one VIDEO or --all (every video in the source folder), not "
                        f"{'both' if args.all else 'neither'}; e.g. `xmem-tui export source/clip.mp4 --kind mask`.")
    from xmem_tui.media.sources import find_source, list_sources

    if not args.all:
        return [find_source(args.video, settings.source_dir)]
    from xmem_tui.workspace import Workspace

    videos = []
    for video in list_sources(settings.source_dir):
        if Workspace.for_video(settings, video).records():
            videos.append(video.resolve())
        else:
            print(f"skipped {video.name}: no masks yet", file=sys.stderr)
    if not videos:
        raise UserError(f"--all: no video in {settings.source_dir} has masks yet; annotate and propagate first.")
    return videos


def run(args: argparse.Namespace, settings: Settings) -> int:
    from xmem_tui.export.batch import request_for

    videos = videos_from(args, settings)
    check_device(args, settings)
    request = request_from(args)
    jobs = [(video, request_for(request, settings, video) if args.all else request) for video in videos]
    if args.queue:
        from xmem_tui.jobs.queue import JobQueue

        queue = JobQueue.for_settings(settings)
        for video, one in jobs:
            job = queue.submit(kind="export", video=video, params=one.to_params())
            print(f"queued export job {job.id}" + (f" ({video.name})" if args.all else ""))
        return 0
    for video, one in jobs:
        if args.all:
            print(f"{video.name}:", file=sys.stderr)
        export_one(video, one, settings)
    return 0


def check_device(args: argparse.Namespace, settings: Settings) -> None:
    """Refuse an explicit compositing device that cannot run here before anything starts, naming where it
    was set (``--device``, else ``processing.device``) and the devices present.

    Raises:
        ConfigError: see :func:`xmem_tui.inference.gpu.usable_device`.
    """
    wanted, key = (args.device, "--device") if args.device else (settings.processing.device, "processing.device")
    if wanted not in ("auto", "cpu"):
        from xmem_tui.inference.gpu import usable_device

        usable_device(wanted, key)


def export_one(video: Path, request: ExportRequest, settings: Settings) -> None:
    """Run one export here, with a progress line; prints the output paths."""
    from xmem_tui.export.job import run_export
    from xmem_tui.progress import Throttle

    tty = sys.stderr.isatty()
    throttle = Throttle(0.1 if tty else 2.0)  # a log file gets a line every 2 s, not a line per frame
    steps = run_export(request, settings, video, lambda: False)
    while True:
        try:
            progress = next(steps)
        except StopIteration as stop:
            result = stop.value
            break
        if progress.message.startswith("self-check"):
            if progress.message == "self-checking":  # its own step: frames and fps would say nothing
                line = "self-check: decoding the output again and comparing it with the source..."
                print(f"\r{line:<78}" if tty else line, end="" if tty else "\n", file=sys.stderr, flush=True)
        elif throttle.ready(force=progress.done == progress.total):
            eta = f" eta {progress.eta_s:.0f}s" if progress.eta_s is not None else ""
            line = f"{progress.message}: {progress.done}/{progress.total} frames {progress.fps:.1f} fps{eta}"
            print(f"\r{line}   " if tty else line, end="" if tty else "\n", file=sys.stderr, flush=True)
    if tty:
        print(file=sys.stderr)
    for path in result.outputs:
        print(path)
    if result.report:  # stdout stays the paths alone, for scripts
        print(f"self-check {result.check() or 'unreadable'}: {result.report}", file=sys.stderr)
    if result.missing_masks:
        print(f"warning: {result.missing_masks} frames had no masks (empty matte)", file=sys.stderr)
