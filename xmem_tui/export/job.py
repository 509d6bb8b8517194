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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from xmem_tui.errors import MediaError
from xmem_tui.export.composite import is_green, make_compositor
from xmem_tui.export.kinds import ExportError, SelfCheckFailed
from xmem_tui.export.mattes import MaskSource, MatteStream
from xmem_tui.export.options import ExportOptions, output_paths, report_path, resolve, temporary
from xmem_tui.export.pipeline import ExportPipeline, first_frame, make_stage
from xmem_tui.export.reframe import crop_size, object_center, parse_aspect, parse_size, plan_crops
from xmem_tui.export.selfcheck import check_sequence, check_video
from xmem_tui.export.sinks import PngSink, Sink, VideoSink
from xmem_tui.fsutil import atomic_write_json
from xmem_tui.media.encode import ColorTags
from xmem_tui.media.palette import object_color
from xmem_tui.progress import Progress

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MaskSet:
    """The masks an export reads: a source, its processing shape (upright), frame count and object colours."""

    source: MaskSource
    shape: tuple[int, int]
    count: int
    colors: dict[int, tuple[int, int, int]]


def run_export(params: dict[str, Any], settings: Any, video: Path,
               cancelled: Callable[[], bool] = lambda: False) -> Generator[Progress, None, dict[str, Any]]:
    """Export ``video``'s masks as ``params`` say (see :mod:`xmem_tui.export.options`); yields progress.

    Returns (as the generator's value, which the job runner stores as the job result) the outputs, the
    report path and the count of frames without masks, or ``{"cancelled": True, ...}``.

    Raises:
        ExportError: invalid parameters; SelfCheckFailed: the written file does not match the source.
    """
    from xmem_tui.workspace import Workspace

    opts = resolve(params, settings)
    ws = Workspace.for_video(settings, Path(video))
    masks = MaskSet(ws, ws.shape, ws.frame_count, {k: tuple(o.color) for k, o in ws.objects.items()})
    return (yield from export_video(opts, settings, Path(video), masks, cancelled))


def _parse_color(text: str) -> tuple[int, int, int] | None:
    value = text.strip().lstrip("#")
    if len(value) == 6 and all(c in "0123456789abcdefABCDEF" for c in value):
        return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)
    return None


def _background(text: str, size: tuple[int, int], rot_k: int) -> tuple[np.ndarray, bool]:
    """Full-size RGB background in the output orientation, and whether it is a solid green screen.

    ``size`` is the upright (width, height); an image is scaled to cover it and centre-cropped.
    """
    w, h = size
    color = _parse_color(text)
    if color is not None:
        image = np.empty((h, w, 3), np.uint8)
        image[:] = color
        solid_green = is_green(color)
    else:
        bgr = cv2.imread(str(Path(text).expanduser()), cv2.IMREAD_COLOR)
        if bgr is None:
            raise ExportError(f"background {text!r} is neither a #RRGGBB colour nor a readable image file.")
        scale = max(w / bgr.shape[1], h / bgr.shape[0])
        big = cv2.resize(bgr, (max(w, round(bgr.shape[1] * scale)), max(h, round(bgr.shape[0] * scale))),
                         interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
        y, x = (big.shape[0] - h) // 2, (big.shape[1] - w) // 2
        image = cv2.cvtColor(big[y:y + h, x:x + w], cv2.COLOR_BGR2RGB)
        solid_green = False
    return np.ascontiguousarray(np.rot90(image, k=rot_k)), solid_green


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


def _crop_plan(opts: ExportOptions, masks: MaskSet, objects: list[int], display: tuple[int, int],
               missing: set[int]) -> tuple[list[tuple[int, int]], tuple[int, int]]:
    """Crop window corner per frame (upright frame pixels) from the objects' smoothed bounding boxes."""
    stream = MatteStream(masks.source, objects, masks.shape, merge=True, temporal=0, rot_k=0, count=masks.count)
    scale_x, scale_y = display[0] / masks.shape[1], display[1] / masks.shape[0]
    centers = []
    for i in range(masks.count):
        c = object_center(stream.get(i)[0])
        centers.append(None if c is None else (c[0] * scale_x, c[1] * scale_y))
    window = crop_size(display[0], display[1], parse_aspect(opts.aspect))
    missing.update(stream.missing)
    return plan_crops(centers, display, window, opts.smooth), window


def export_video(opts: ExportOptions, settings: Any, video: Path, masks: MaskSet,
                 cancelled: Callable[[], bool] = lambda: False) -> Generator[Progress, None, dict[str, Any]]:
    """Run one export against ``masks``; see :func:`run_export`."""
    started = time.time()
    k, codec = opts.kind, opts.codec
    objects = _objects(opts, masks)
    frame, time_base, rate = first_frame(video)
    rotation = int(frame.rotation or 0)
    coded = (frame.width, frame.height)
    upright = (coded[1], coded[0]) if rotation % 180 else coded
    display = k.display or codec.sequence  # image sequences have no display matrix: write them upright
    rot_k = 0 if display else (-rotation // 90) % 4
    out_size = upright if display else coded
    if codec.pix_fmt.endswith("420p") and (out_size[0] % 2 or out_size[1] % 2) and k.name != "reframe":
        raise ExportError(f"{video}: {out_size[0]}x{out_size[1]} has an odd side, which {codec.name} (4:2:0) "
                          "cannot store; use --kind alpha --codec prores4444 or png, or --kind mask --codec ffv1.")
    finals = output_paths(opts, settings, video.stem, objects)
    temps = [temporary(p) for p in finals]
    merge = not (k.per_object or opts.per_object)
    mattes = MatteStream(masks.source, objects, masks.shape, merge=merge, temporal=opts.finish.temporal,
                         rot_k=rot_k, count=masks.count)
    extra: dict[str, Any] = {}
    if k.name == "greenscreen":
        extra["background"], solid_green = _background(opts.background, upright, rot_k)
        extra["despill"] = opts.finish.despill and solid_green
    if k.name == "reframe":
        extra["crops"], extra["window"] = _crop_plan(opts, masks, objects, upright, mattes.missing)
        extra["out_size"] = parse_size(opts.size)
    stage = make_stage(k.name, mattes=mattes, opts=opts.finish, compositor=make_compositor(opts.device),
                       colors=[masks.colors.get(o, object_color(o)) for o in objects], opacity=opts.opacity,
                       labels=objects, frame_shape=(out_size[1], out_size[0]), display=display, **extra)
    for temp in temps:
        _remove(temp)
    sinks: list[Sink] = []
    for temp in temps:
        temp.parent.mkdir(parents=True, exist_ok=True)
        if codec.sequence:
            sinks.append(PngSink(temp, palette=k.name == "masks"))
        else:
            sinks.append(VideoSink(temp, codec, k.input_format, codec.options(opts.crf, opts.speed),
                                   time_base=time_base, rotation=0 if display else rotation,
                                   color=ColorTags.of_frame(frame), rate_hint=rate,
                                   audio_from=None if video.is_dir() else video, audio=opts.audio))
    pipeline = ExportPipeline(video, stage, sinks, masks.count, k.name)
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
        return {"cancelled": True, "done": done, "total": masks.count}
    yield Progress(done=masks.count, total=masks.count, message="self-checking")
    try:
        report = _check(opts, pipeline, video, temps, finals, masks, mattes.missing, out_size, started)
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
    result = {"outputs": [str(p) for p in finals], "report": str(report_path(finals[0])),
              "missing_masks": len(mattes.missing), "done": masks.count, "total": masks.count, "complete": True}
    yield Progress(done=masks.count, total=masks.count, message="self-check passed", stats=result)
    return result


def _check(opts: ExportOptions, pipeline: ExportPipeline, video: Path, temps: list[Path], finals: list[Path],
           masks: MaskSet, missing: set[int], out_size: tuple[int, int], started: float) -> dict[str, Any]:
    timeline = pipeline.timeline
    if timeline is None:
        raise MediaError(f"{video}: no frames decoded; check the file plays.")
    problems: list[str] = []
    warnings: list[str] = []
    outputs = []
    expect_audio = opts.audio != "none" and not video.is_dir()
    for temp, final in zip(temps, finals, strict=True):
        if opts.codec.sequence:
            result = check_sequence(temp, timeline, out_size)
        else:
            rotation = 0 if opts.kind.display else timeline.rotation  # sequences never get here
            result = check_video(temp, timeline, video, rotation=rotation, expect_audio=expect_audio)
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
        warnings.append("image sequences carry no audio; frame times are listed under timestamps_s")
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
