"""One conformance case end to end, as a user would run it: info, random access, import, propagate, export.

Shared by ``tests/e2e/test_media_matrix.py`` and ``bench/media_matrix.py`` (which adds timings). For a
case of :data:`xmem_tui.media.conformance.CASES` it writes the file into a project's ``source/`` and:

1. ``info``: the probe's frame count and every frame's presentation time against what was written
   (containers that re-base time -- AVI, MPEG-TS -- may add one constant offset);
2. 5 random frames read with the frame reader equal the same frames of a sequential decode;
3. imports frame 0's ground-truth mask (a palette PNG, ``import_masks``) and propagates a few frames
   with the weight-free engine;
4. runs every export kind (and, for AVI/damaged cases, the ``resolve`` preset) and reads each
   self-check report: it must pass, every output frame within 1 ms of the presentation timeline, every
   audio track present, in sync and as long as the source's within one audio frame.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from xmem_tui.config import Settings, load_settings
from xmem_tui.media.conformance import Case, WrittenCase, write_case

#: Every export kind with options that keep it small; reframe writes a 9:16 crop.
EXPORTS: dict[str, dict[str, Any]] = {
    "greenscreen": {"kind": "greenscreen", "speed": "ultrafast"},
    "mask": {"kind": "mask"},
    "alpha": {"kind": "alpha"},
    "overlay": {"kind": "overlay", "speed": "ultrafast"},
    "masks": {"kind": "masks"},
    "reframe": {"kind": "reframe", "size": "72x128", "speed": "ultrafast"},
}
#: Containers without a start time of their own: the demuxer re-bases time by a constant.
_REBASED = {".avi", ".ts"}
PROPAGATED = 4


@dataclass
class CaseResult:
    """What one case measured; ``problems`` is empty when it conforms."""

    name: str
    frames: int = 0
    random_ms: float = 0.0
    sequential_fps: float = 0.0
    export_fps: float = 0.0
    checks: dict[str, bool] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and all(self.checks.values())


def project(root: Path, size: int = 64) -> Settings:
    """A fresh project in ``root`` (processing at 64 px by default, the smallest allowed: propagation is quick)."""
    (root / "source").mkdir(parents=True, exist_ok=True)
    return load_settings(None, {"processing.size": size}, project_dir=root)


def run_case(case: Case, root: Path, exports: dict[str, dict[str, Any]] | None = None,
             footage: tuple[list[np.ndarray], list[np.ndarray]] | None = None, size: int = 64) -> CaseResult:
    """Run ``case`` in a new project under ``root``; see the module docstring. ``footage``: real frames
    and masks instead of the synthetic scene; ``size``: the processing size."""
    settings = project(root, size)
    written = write_case(case, root / "source", footage=footage)
    result = CaseResult(case.name)
    ws = _check_info(case, written, settings, result)
    if ws is None:
        return result
    _check_random_access(written.path, ws.info, result)
    _import_and_propagate(ws, written, settings, root)
    todo = dict(exports if exports is not None else EXPORTS)
    if case.ext == ".avi" or case.damage_audio is not None:
        todo["resolve"] = {"preset": "resolve"}
    frames, seconds = 0, 0.0
    for label, params in todo.items():
        started = time.perf_counter()
        report = _export(settings, written.path, label, params, result)
        seconds += time.perf_counter() - started
        frames += ws.frame_count
        if report is not None:
            _check_report(label, report, result)
    result.export_fps = frames / seconds if seconds else 0.0
    return result


def _check_info(case: Case, written: WrittenCase, settings: Settings, result: CaseResult) -> Any:
    from xmem_tui.workspace import Workspace

    ws = Workspace.for_video(settings, written.path)
    info = ws.info
    result.frames = info.frame_count
    result.checks["count"] = info.frame_count == len(written.times)
    if not result.checks["count"]:
        result.problems.append(f"info: {info.frame_count} frames, {len(written.times)} written")
        return None
    got = [Fraction(p) * info.time_base for p in info.pts]
    offset = got[0] - written.times[0] if case.ext in _REBASED else Fraction(0)
    tick = max(info.time_base, Fraction(1, 1000))
    worst = max(abs(g - w - offset) for g, w in zip(got, written.times, strict=True))
    result.checks["pts"] = worst <= tick
    if not result.checks["pts"]:
        result.problems.append(f"info: a frame is {float(worst) * 1000:.2f} ms from its written time")
    result.checks["monotonic"] = list(info.pts) == sorted(set(info.pts))
    return ws


def _check_random_access(path: Path, info: Any, result: CaseResult) -> None:
    from xmem_tui.media.frames import open_frames

    with open_frames(path, info, cache_bytes=0) as reader:
        started = time.perf_counter()
        sequential = [frame.copy() for _, frame in reader.iter()]
        result.sequential_fps = len(sequential) / max(time.perf_counter() - started, 1e-9)
    picks = random.Random(info.frame_count).sample(range(info.frame_count), min(5, info.frame_count))
    with open_frames(path, info, cache_bytes=0) as reader:
        started = time.perf_counter()
        same = [np.array_equal(reader.get(i), sequential[i]) for i in picks]
        result.random_ms = (time.perf_counter() - started) * 1000 / len(picks)
    result.checks["random access"] = all(same)
    if not all(same):
        result.problems.append(f"random access: frames {[i for i, s in zip(picks, same, strict=True) if not s]} "
                               "differ from a sequential decode")


def _import_and_propagate(ws: Any, written: WrittenCase, settings: Settings, root: Path) -> None:
    from xmem_tui.inference.request import PropagationRequest
    from xmem_tui.inference.service import run_propagation
    from xmem_tui.mask_import import import_masks
    from xmem_tui.media.masks import write_index_mask

    folder = root / "import"
    write_index_mask(folder / "00000.png", written.masks[0])
    import_masks(ws, folder)
    request = PropagationRequest(start=0, end=min(PROPAGATED, ws.frame_count - 1), engine="flow")
    for _ in run_propagation(ws, settings, request):
        pass


def _export(settings: Settings, video: Path, label: str, params: dict[str, Any], result: CaseResult
            ) -> dict[str, Any] | None:
    from xmem_tui.errors import UserError
    from xmem_tui.export.job import run_export
    from xmem_tui.export.request import ExportRequest

    try:
        steps = run_export(ExportRequest(**params), settings, video)
        while True:
            next(steps)
    except StopIteration as stop:
        return json.loads(Path(stop.value.report).read_text())
    except UserError as exc:
        result.checks[f"export {label}"] = False
        result.problems.append(f"export {label}: {exc}")
    return None


def _check_report(label: str, report: dict[str, Any], result: CaseResult) -> None:
    ok = bool(report["ok"])
    for output in report["outputs"]:
        stamps = output.get("timestamps")
        if stamps is not None and stamps["max_error_s"] > 0.001:
            ok = False
            result.problems.append(f"export {label}: a frame is {stamps['max_error_s'] * 1000:.2f} ms off")
        audio = output.get("audio", {})
        if audio.get("source") and audio.get("tracks", {}).get("output") != audio.get("tracks", {}).get("source"):
            ok = False
            result.problems.append(f"export {label}: audio tracks {audio.get('tracks')}")
    result.checks[f"export {label}"] = ok
    if not report["ok"]:
        result.problems.append(f"export {label}: {report['problems'][:2]}")
