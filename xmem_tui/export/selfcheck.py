"""Self-check of a written export against its source: the export only counts if this passes.

The output is re-opened with PyAV and decoded, and compared with what the export's decoder saw in the
source: frame count, every frame's presentation time (the source pts rescaled to the output's time base
with FFmpeg's rounding, compared exactly; when both time bases are equal that is exact in seconds),
the end time (last pts + last duration), the audio start relative to the first video frame, the display
rotation and the colour tags. Image sequences have no timestamps: their frame count and sizes are checked
and the source times are listed in the report so a consumer can re-time them.
"""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
from PIL import Image

from xmem_tui.export.pipeline import SourceTimeline
from xmem_tui.media.encode import ColorTags, rescale

log = logging.getLogger(__name__)


def audio_start(path: Path) -> Fraction | None:
    """Time of the first decoded audio sample (decoders apply priming/skip), or None without audio."""
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        for frame in container.decode(stream):
            if frame.pts is not None:
                return frame.pts * frame.time_base
    return None


def _seconds(value: Fraction | None) -> float | None:
    return None if value is None else float(value)


def check_video(out: Path, src: SourceTimeline, source: Path, *, rotation: int, expect_audio: bool
                ) -> dict[str, Any]:
    """Compare one video output with the source timeline; ``problems`` is empty when it passes."""
    problems: list[str] = []
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        out_tb = stream.time_base
        pts: list[int] = []
        durations: list[int] = []
        first: av.VideoFrame | None = None
        for frame in container.decode(stream):
            first = first or frame
            pts.append(int(frame.pts))
            durations.append(int(frame.duration or 0))
        has_audio = bool(container.streams.audio)
    expected = [rescale(p, src.time_base, out_tb) for p in src.pts]
    report: dict[str, Any] = {
        "path": str(out),
        "frames": {"source": len(src.pts), "output": len(pts)},
        "time_base": {"source": str(src.time_base), "output": str(out_tb), "same": out_tb == src.time_base},
    }
    if len(pts) != len(src.pts):
        problems.append(f"frame count {len(pts)} != source {len(src.pts)}")
    mismatches = [i for i, (a, b) in enumerate(zip(pts, expected, strict=False)) if a != b]
    max_err = max((abs(float(a * out_tb) - float(b * src.time_base)) for a, b in zip(pts, src.pts, strict=False)),
                  default=0.0)
    report["timestamps"] = {"mismatches": len(mismatches), "first_mismatch": mismatches[0] if mismatches else None,
                            "max_error_s": max_err}
    if mismatches:
        i = mismatches[0]
        problems.append(f"frame {i} at {float(pts[i] * out_tb):.6f}s, source {float(src.pts[i] * src.time_base):.6f}s "
                        f"({len(mismatches)} frames differ)")
    tick = max(out_tb, src.time_base)
    if pts and src.pts and not src.durations[-1]:
        report["duration"] = {"source_s": None, "note": "the source does not say how long its last frame lasts"}
    elif pts and src.pts:
        src_end = (src.pts[-1] + src.durations[-1]) * src.time_base
        out_end = (pts[-1] + durations[-1]) * out_tb
        report["duration"] = {"source_s": float(src_end - src.pts[0] * src.time_base),
                              "output_s": float(out_end - pts[0] * out_tb)}
        if abs(out_end - src_end) > tick:
            problems.append(f"ends at {float(out_end):.6f}s, source at {float(src_end):.6f}s")
    got_rotation = int(first.rotation or 0) if first is not None else 0
    report["rotation"] = {"source": src.rotation, "output": got_rotation}
    if got_rotation % 360 != rotation % 360:
        problems.append(f"display rotation {got_rotation} != expected {rotation}")
    if first is not None and src.color is not None:
        report["color"] = {"source": src.color.to_json(), "output": ColorTags.of_frame(first).to_json()}
        problems += _color_problems(src.color, ColorTags.of_frame(first), gray=first.format.name == "gray")
    report["audio"] = _audio_report(out, source, src, pts[0] * out_tb if pts else Fraction(0), expect_audio,
                                    has_audio, tick, problems)
    report["problems"] = problems
    return report


def _color_problems(src: ColorTags, out: ColorTags, gray: bool) -> list[str]:
    """Tags the source specifies must be kept (unspecified ones may be filled in by the encoder); a grey
    matte is always full range, so its range is not compared."""
    problems = []
    for name, unspecified in (("primaries", 2), ("trc", 2), ("space", 2), ("range", 0)):
        if gray and name == "range":
            continue
        want, got = getattr(src, name), getattr(out, name)
        if want != unspecified and want != got:
            problems.append(f"colour {name} {got} != source {want}")
    return problems


def _audio_report(out: Path, source: Path, src: SourceTimeline, out_video_start: Fraction, expect_audio: bool,
                  has_audio: bool, tick: Fraction, problems: list[str]) -> dict[str, Any]:
    src_audio = audio_start(source) if expect_audio else None
    report: dict[str, Any] = {"source": src_audio is not None, "output": has_audio}
    if src_audio is None:
        return report
    if not has_audio:
        problems.append("the source has audio but the output has none")
        return report
    out_audio = audio_start(out)
    src_offset = src_audio - src.pts[0] * src.time_base
    out_offset = (out_audio - out_video_start) if out_audio is not None else None
    report.update(source_offset_s=_seconds(src_offset), output_offset_s=_seconds(out_offset))
    with av.open(str(out)) as container:
        tick = max(tick, container.streams.audio[0].time_base)
    if out_offset is None or abs(out_offset - src_offset) > tick:
        problems.append(f"audio starts {_seconds(out_offset)}s after the video, source {float(src_offset):.6f}s")
    return report


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
    return {"path": str(folder), "frames": {"source": len(src.pts), "output": len(files)},
            "timestamps_s": [float(p * src.time_base) for p in src.pts], "problems": problems}
