"""Self-check of a written export against its source: the export only counts if this passes.

The output is decoded again through :mod:`~xmem_tui.media.decoded`, and compared with the presentation
timeline of the frames the export wrote (:class:`~xmem_tui.export.pipeline.SourceTimeline`, from the source's
probe): frame count, every frame's presentation time (the source pts rescaled to the output's time base with
FFmpeg's rounding, compared exactly, and never more than 1 ms off), the end time (last pts + last duration),
the display rotation and the colour tags. Every source audio track must be in the output, its sound starting
at the source's offset from the first video frame (measured at the first audible sample, so encoder priming
does not count) and lasting as long as the source's within one audio frame. Image sequences have no
timestamps: their frame count and sizes are checked, and the source times are in the report and in the
folder's ``timestamps.csv``.
"""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path
from typing import Any

from PIL import Image

from xmem_tui.export.pipeline import SourceTimeline
from xmem_tui.export.sinks import TIMESTAMPS, format_seconds
from xmem_tui.media.audio import AudioSpan, audio_span
from xmem_tui.media.color import ColorTags
from xmem_tui.media.decoded import decode_timing
from xmem_tui.media.timeline import rescale

log = logging.getLogger(__name__)

#: Every output frame must be shown within this of its source frame (Matroska rounds to milliseconds).
MAX_TIME_ERROR = Fraction(1, 1000)


def check_video(out: Path, src: SourceTimeline, source: Path, *, rotation: int, expect_audio: bool,
                source_audio: list[AudioSpan] | None = None) -> dict[str, Any]:
    """Compare one video output with the source timeline; ``problems`` is empty when it passes.

    ``source_audio``: :func:`~xmem_tui.media.audio.audio_span` of ``source`` when the caller has it
    already (several outputs of one export); measured here when None.
    """
    problems: list[str] = []
    decoded = decode_timing(out)
    out_tb, pts, durations, has_audio = decoded.time_base, decoded.pts, decoded.durations, decoded.has_audio
    expected = [rescale(p + src.shift, src.time_base, out_tb) for p in src.pts]
    report: dict[str, Any] = {
        "path": str(out),
        "frames": {"source": len(src.pts), "output": len(pts)},
        "time_base": {"source": str(src.time_base), "output": str(out_tb), "same": out_tb == src.time_base},
        "shift_s": float(src.shift_s),
    }
    if len(pts) != len(src.pts):
        problems.append(f"frame count {len(pts)} != source {len(src.pts)}")
    mismatches = [i for i, (a, b) in enumerate(zip(pts, expected, strict=False)) if a != b]
    max_err = max((abs(a * out_tb - (b + src.shift) * src.time_base) for a, b in zip(pts, src.pts, strict=False)),
                  default=Fraction(0))
    report["timestamps"] = {"mismatches": len(mismatches), "first_mismatch": mismatches[0] if mismatches else None,
                            "max_error_s": float(max_err)}
    report["timestamps"]["within_1ms"] = max_err <= MAX_TIME_ERROR
    if max_err > MAX_TIME_ERROR:
        problems.append(f"a frame is {float(max_err) * 1000:.3f} ms from its source time (at most 1 ms allowed)")
    if mismatches:
        i = mismatches[0]
        problems.append(f"frame {i} at {float(pts[i] * out_tb):.6f}s, source "
                        f"{float((src.pts[i] + src.shift) * src.time_base):.6f}s "
                        f"({len(mismatches)} frames differ)")
    tick = max(out_tb, src.time_base)
    if pts and src.pts:
        src_end = (src.pts[-1] + src.shift + src.durations[-1]) * src.time_base
        out_end = (pts[-1] + durations[-1]) * out_tb
        report["duration"] = {"source_s": float(src_end - (src.pts[0] + src.shift) * src.time_base),
                              "output_s": float(out_end - pts[0] * out_tb)}
        if abs(out_end - src_end) > tick:
            problems.append(f"ends at {float(out_end):.6f}s, source at {float(src_end):.6f}s")
    got_rotation = decoded.rotation
    report["rotation"] = {"source": src.rotation, "output": got_rotation}
    if got_rotation % 360 != rotation % 360:
        problems.append(f"display rotation {got_rotation} != expected {rotation}")
    if decoded.color is not None and src.color is not None:
        report["color"] = {"source": src.color.to_json(), "output": decoded.color.to_json()}
        video_range = decoded.codec == "prores"  # ProRes has no full-range form: a full-range source is converted
        problems += _color_problems(src.color, decoded.color,
                                    skip_range=decoded.pixel_format == "gray" or video_range)
    video_start = (pts[0] * out_tb if pts else Fraction(0), src.pts[0] * src.time_base if src.pts else Fraction(0))
    sources = (audio_span(source) if source_audio is None else source_audio) if expect_audio else []
    report["audio"] = _audio_report(out, sources, video_start, has_audio, tick, problems)
    report["problems"] = problems
    return report


def _color_problems(src: ColorTags, out: ColorTags, skip_range: bool) -> list[str]:
    """Tags the source specifies must be kept (unspecified ones may be filled in by the encoder); a grey
    matte is always full range and ProRes always video range, so their range is not compared."""
    problems = []
    for name, unspecified in (("primaries", 2), ("trc", 2), ("space", 2), ("range", 0)):
        if skip_range and name == "range":
            continue
        want, got = getattr(src, name), getattr(out, name)
        if want != unspecified and want != got:
            problems.append(f"colour {name} {got} != source {want}")
    return problems


def _audio_report(out: Path, sources: list[AudioSpan], video_start: tuple[Fraction, Fraction], has_audio: bool,
                  tick: Fraction, problems: list[str]) -> dict[str, Any]:
    """Each source track against the output track in the same position: start offset and duration."""
    report: dict[str, Any] = {"source": bool(sources), "output": has_audio}
    if not sources:
        return report
    if not has_audio:
        problems.append("the source has audio but the output has none")
        return report
    outputs = audio_span(out)
    report["tracks"] = {"source": len(sources), "output": len(outputs)}
    if len(outputs) != len(sources):
        problems.append(f"{len(outputs)} audio tracks, source {len(sources)}")
    out_start, src_start = video_start
    rows = [_track(s, o, src_start, out_start, tick, problems) for s, o in zip(sources, outputs, strict=False)]
    report["track_checks"] = rows
    if rows:  # the first track's numbers at the top level, as before multi-track reports
        report.update(source_offset_s=rows[0]["source_offset_s"], output_offset_s=rows[0]["output_offset_s"])
    return report


def _track(src: AudioSpan, out: AudioSpan, src_video: Fraction, out_video: Fraction, tick: Fraction,
           problems: list[str]) -> dict[str, Any]:
    """Sync: the first audible sample (the onset) lies as far from the first video frame as in the source;
    a silent track is compared by its first sample, give or take one audio frame of encoder priming.
    Length: from the onset (else the first sample) to the end, within one audio frame of the source's."""
    one_frame = max(src.frame, out.frame) + Fraction(1, 1000)
    audible = src.onset is not None and out.onset is not None
    src_mark = src.onset if audible else src.start
    out_mark = out.onset if audible else out.start
    assert src_mark is not None and out_mark is not None
    src_offset, out_offset = src_mark - src_video, out_mark - out_video
    slack = max(tick, Fraction(1, 1000)) if audible else one_frame
    src_length, out_length = src.end - src_mark, out.end - out_mark
    row = {"measured_at": "onset" if audible else "first sample", "source_offset_s": float(src_offset),
           "output_offset_s": float(out_offset), "source_duration_s": float(src_length),
           "output_duration_s": float(out_length), "audio_frame_s": float(max(src.frame, out.frame)),
           "source_damaged_packets": src.damaged}
    if abs(out_offset - src_offset) > slack:
        problems.append(f"audio track {out.index}: sound starts {float(out_offset):.6f}s after the video, "
                        f"source {float(src_offset):.6f}s")
    if abs(out_length - src_length) > one_frame:
        problems.append(f"audio track {out.index} lasts {float(out_length):.6f}s, source {float(src_length):.6f}s "
                        "(more than one audio frame apart)")
    return row


def check_sequence(folder: Path, src: SourceTimeline, size: tuple[int, int]) -> dict[str, Any]:
    """Compare a PNG sequence folder with the source: one readable ``size`` (w, h) image per source frame."""
    problems: list[str] = []
    files = sorted(folder.glob("*.png"))
    names_ok = [f.name for f in files] == [f"{i:05d}.png" for i in range(len(files))]
    if len(files) != len(src.pts):
        problems.append(f"{len(files)} images != {len(src.pts)} source frames")
    if not names_ok:
        problems.append("image names are not 00000.png, 00001.png, ... in order")
    bad = []
    for f in files:
        try:
            with Image.open(f) as image:
                if image.size != size:
                    bad.append(f.name)
        except OSError:
            bad.append(f.name)
    if bad:
        problems.append(f"{len(bad)} images unreadable or not {size[0]}x{size[1]} (first: {bad[0]})")
    expected = [f"{i},{format_seconds(p * src.time_base)}" for i, p in enumerate(src.pts)]
    try:
        listed = (folder / TIMESTAMPS).read_text(encoding="utf-8").splitlines()[1:]
    except OSError:
        listed = None
    if listed != expected:
        problems.append(f"{TIMESTAMPS} is missing or does not list every frame's source time")
    return {"path": str(folder), "frames": {"source": len(src.pts), "output": len(files)},
            "timestamps_s": [float(p * src.time_base) for p in src.pts], "problems": problems}
