"""Export jobs: resolve options, stream the export to temporary files, self-check, then rename.

:func:`run_export` is what the job runner (and ``xmem-tui export`` in the foreground) calls; it reads the
masks from the video's workspace. :func:`export_video` does the work against any mask source, which is
what tests and the benchmark use. Nothing appears under the final name unless it is complete and passed
its self-check; the check report is written beside it as ``<out>.check.json`` either way.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import time
from collections.abc import Callable, Generator
from fractions import Fraction
from pathlib import Path
from typing import Any

from xmem_tui.errors import MediaError
from xmem_tui.export.composite import make_compositor
from xmem_tui.export.errors import ExportError, SelfCheckFailed
from xmem_tui.export.mattes import MaskSet, MatteStream
from xmem_tui.export.options import ExportOptions, export_stem, output_paths, report_path, resolve, temporary
from xmem_tui.export.pipeline import ExportPipeline, SourceTimeline, Stage
from xmem_tui.export.registry import Preparation
from xmem_tui.export.request import ExportRequest, ExportResult
from xmem_tui.export.selfcheck import check_sequence, check_video
from xmem_tui.export.sinks import PngSink, Sink, VideoSink
from xmem_tui.fsutil import atomic_write_json
from xmem_tui.media.audio import audio_span
from xmem_tui.media.info import VideoInfo
from xmem_tui.media.probe import probe
from xmem_tui.params import to_params
from xmem_tui.progress import Progress

log = logging.getLogger(__name__)


def run_export(request: ExportRequest, settings: Any, video: Path,
               cancelled: Callable[[], bool] = lambda: False) -> Generator[Progress, None, ExportResult]:
    """Export ``video``'s masks as ``request`` says (see :mod:`xmem_tui.export.options`); yields progress.

    Returns (as the generator's value, which the job runner stores as the job result) the outputs, the
    report path and the count of frames without masks; a cancelled export returns ``complete=False``.

    Raises:
        ExportError: invalid parameters; SelfCheckFailed: the written file does not match the source.
    """
    from xmem_tui.workspace import Workspace

    opts = resolve(request, settings)
    ws = Workspace.for_video(settings, Path(video))
    masks = MaskSet(ws, ws.shape, ws.frame_count, {k: tuple(o.color) for k, o in ws.objects.items()})
    return (yield from export_video(opts, settings, Path(video), masks, cancelled, info=ws.info))


def _objects(opts: ExportOptions, masks: MaskSet) -> list[int]:
    if opts.objects is None:
        if not masks.colors:
            raise ExportError("the workspace has no objects yet; annotate at least one before exporting.")
        return sorted(masks.colors)
    unknown = [k for k in opts.objects if k not in masks.colors]
    if unknown:
        known = ", ".join(map(str, sorted(masks.colors))) or "none"
        raise ExportError(f"object {unknown[0]} is not in the workspace (objects: {known}); fix --objects.")
    return opts.objects


def export_video(opts: ExportOptions, settings: Any, video: Path, masks: MaskSet,
                 cancelled: Callable[[], bool] = lambda: False, info: VideoInfo | None = None
                 ) -> Generator[Progress, None, ExportResult]:
    """Run one export against ``masks``; see :func:`run_export`. ``info`` is the source's probe (the
    workspace's); without it the source is probed here."""
    started = time.time()
    video = Path(video)
    info = info if info is not None else probe(video)
    k, codec = opts.kind, opts.codec
    objects = _objects(opts, masks)
    coded = info.coded_size
    upright = (info.width, info.height)
    display = k.display or codec.sequence  # image sequences have no display matrix: write them upright
    rot_k = 0 if display else (info.rotation // 90) % 4
    out_size = upright if display else coded
    written = k.output_size(opts, out_size) if k.output_size is not None else out_size
    if codec.pix_fmt.endswith("420p") and (written[0] % 2 or written[1] % 2):
        raise ExportError(f"{video}: {written[0]}x{written[1]} has an odd side, which {codec.name} (4:2:0) "
                          "cannot store; use --kind alpha --codec prores4444 or png, or --kind mask --codec ffv1.")
    if codec.encoder == "libx265" and written[0] < 64:  # x265 writes past its buffers on narrower frames
        raise ExportError(f"{video}: {written[0]} pixels is too narrow for {codec.name} (at least 64); "
                          "use --codec h264.")
    finals = output_paths(opts, settings, export_stem(video), objects)
    kept = [p for p in finals if p.exists()]
    if kept and not opts.overwrite:
        raise ExportError(f"{kept[0]} already exists and was kept; pass --overwrite (overwrite = yes in the "
                          "dialog) to replace it, or --out to write elsewhere.")
    temps = [temporary(p) for p in finals]
    merge = not (k.per_object or opts.per_object)
    mattes = MatteStream(masks.source, objects, masks.shape, merge=merge, temporal=opts.finish.temporal,
                         rot_k=rot_k, count=masks.count)
    prep = Preparation(opts=opts, masks=masks, objects=objects, mattes=mattes,
                       compositor=make_compositor(opts.device), upright=upright, rot_k=rot_k,
                       frame_shape=(out_size[1], out_size[0]))
    stage = Stage(render=k.prepare(prep), mattes=mattes, needs_pixels=k.needs_source or opts.finish.upscale == "guided",
                  display=display, uses_mattes=k.uses_mattes)
    for temp in temps:
        _remove(temp)
    source = SourceTimeline.begin(info)
    sinks: list[Sink] = []
    for temp in temps:
        temp.parent.mkdir(parents=True, exist_ok=True)
        if codec.sequence:
            sinks.append(PngSink(temp, palette=k.palette, time_base=info.time_base))
        else:
            sinks.append(VideoSink(temp, codec, k.input_format, codec.options(opts.crf, opts.speed),
                                   time_base=source.time_base, rotation=0 if display else source.rotation,
                                   color=source.color, rate_hint=_rate_hint(info),
                                   audio_from=info.path if info.audio else None, audio=opts.audio,
                                   audio_tracks=tuple(a.index for a in info.audio), shift=source.shift))
    pipeline = ExportPipeline(info, source, stage, sinks, masks.count, k.name)
    run = pipeline.run()
    completed, done = False, 0
    try:
        for progress in run:
            if cancelled():
                break
            done = progress.done
            yield progress
        else:
            completed = True
    finally:
        run.close()  # stops the threads and aborts the encoders if we did not get to the end
        if not completed:
            for temp in temps:
                _remove(temp)
    if not completed:
        yield Progress(done=done, total=masks.count, message="export cancelled")
        return ExportResult(done=done, total=masks.count, complete=False)
    yield Progress(done=masks.count, total=masks.count, message="self-checking")
    try:
        report = _check(opts, pipeline, video, temps, finals, masks, mattes.missing, written, started)
    except BaseException:
        for temp in temps:
            _remove(temp)
        raise
    for final in finals:
        atomic_write_json(report_path(final), report)
    if report["problems"]:
        for temp in temps:
            _remove(temp)
        raise SelfCheckFailed(f"{finals[0]}: export self-check failed: {report['problems'][0]} "
                              f"(report: {report_path(finals[0])}).")
    for temp, final in zip(temps, finals, strict=True):
        if temp.is_dir():
            _remove(final)  # a folder cannot be renamed over another; a file is replaced atomically
        os.replace(temp, final)
    result = ExportResult(outputs=tuple(str(p) for p in finals), report=str(report_path(finals[0])),
                          missing_masks=len(mattes.missing), done=masks.count, total=masks.count)
    yield Progress(done=masks.count, total=masks.count, message="self-check passed", stats=to_params(result))
    return result


def _rate_hint(info: VideoInfo) -> Fraction | None:
    """The nominal rate encoders use for rate control only (never for timing): the measured one."""
    return Fraction(info.avg_fps).limit_denominator(1001) if info.avg_fps > 0 else None


def _check(opts: ExportOptions, pipeline: ExportPipeline, video: Path, temps: list[Path], finals: list[Path],
           masks: MaskSet, missing: set[int], out_size: tuple[int, int], started: float) -> dict[str, Any]:
    timeline = pipeline.timeline
    if not timeline.pts:
        raise MediaError(f"{video}: no frames decoded; check the file plays.")
    problems: list[str] = []
    warnings: list[str] = []
    outputs = []
    expect_audio = opts.audio != "none" and not video.is_dir()
    source_audio = audio_span(video) if expect_audio and not opts.codec.sequence else None  # once, for every output
    for temp, final in zip(temps, finals, strict=True):
        if opts.codec.sequence:
            result = check_sequence(temp, timeline, out_size)
        else:
            rotation = 0 if opts.kind.display else timeline.rotation  # sequences never get here
            result = check_video(temp, timeline, video, rotation=rotation, expect_audio=expect_audio,
                                  source_audio=source_audio)
            sink_audio = [s.audio_mode for s in pipeline.sinks if getattr(s, "path", None) == temp]
            result.setdefault("audio", {})["mode"] = sink_audio[0] if sink_audio else None
        result["path"] = str(final)
        problems += [f"{final.name}: {p}" for p in result.pop("problems")]
        outputs.append(result)
    if masks.count != len(timeline.pts):
        problems.append(f"the workspace has {masks.count} frames but the source decodes {len(timeline.pts)}; "
                        "masks would be misaligned (re-open the workspace so it re-probes the video)")
    if missing:
        warnings.append(f"{len(missing)} of {masks.count} frames had no masks and were exported with an empty matte")
    if opts.codec.sequence:
        warnings.append("image sequences carry no audio; frame times are in timestamps.csv beside the images "
                        "(and under timestamps_s here)")
    return {"ok": not problems, "problems": problems, "warnings": warnings, "kind": opts.kind.name,
            "codec": opts.codec.name, "preset": opts.preset, "source": str(video),
            "finishing": opts.finish.to_json(), "missing_masks": sorted(missing)[:1000],
            "missing_mask_count": len(missing), "outputs": outputs, "seconds": round(time.time() - started, 3)}


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
