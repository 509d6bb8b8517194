"""Per-frame quality signals recorded during propagation, and the ranking of frames worth a look.

A 2,000-frame propagation cannot be reviewed frame by frame. The places where tracking goes wrong leave
traces a machine can see cheaply: an object's area or position jumps, its mask stops overlapping the
previous frame's, the soft mask becomes undecided (probabilities near 0.5), or an object disappears.
:func:`frame_signals` measures these per propagated frame; :class:`QualityLog` appends them to the
workspace's ``quality.jsonl`` (one JSON object per line, so a reader in another process only ever has
to skip a torn last line); :func:`rank_frames` turns them into a short list with reasons, which
``xmem-tui review`` prints and the dashboard shows.

Jumps only mark where tracking *starts* to go wrong; a mask that drifted stays wrong over long, calm
stretches. The propagation therefore also records how well the colours of the nearest annotated frame
still explain each mask (:mod:`xmem_tui.inference.appearance`, measured by
:class:`xmem_tui.inference.quality_meter.QualityMeter`): the level of error, not just its onset, which is
what puts the worst frames of a drifting run first.

Nothing here imports torch: the dashboard reads the same file.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from xmem_tui.fsutil import atomic_write_text

log = logging.getLogger(__name__)

#: Below this fraction of the frame an object counts as absent (a few stray pixels are noise, not an object).
MIN_AREA = 1e-4
#: Soft-mask values (uint8, p * 255) above this (p > 0.1) are where an object's uncertainty is measured.
_SUPPORT = 25
#: Ambiguity 1 - |2p - 1| of every uint8 probability: 0 when decided, 1 at p = 0.5.
_AMBIGUITY = 1.0 - np.abs(2.0 * np.arange(256) / 255.0 - 1.0)
#: A loss of colour agreement (relative to the annotated frame's) this large scores 1 ("clearly suspicious").
_COLOUR_UNIT = 0.05
#: Smaller losses are within what lighting and pose change on a right mask: not scored.
_COLOUR_MIN_DROP = 0.05
#: Compact the log when it holds this many more lines than distinct frames.
_COMPACT_SLACK = 2000


@dataclass(frozen=True)
class ObjectSignal:
    """Signals of one object in one frame.

    Attributes:
        area: fraction of the frame the object covers (0..1).
        area_change: relative change of area from the previous frame ((a - a_prev) / a_prev); None if the
            object was absent before.
        centroid_shift: centroid displacement from the previous frame as a fraction of the frame diagonal.
        iou_prev: IoU of the object's mask with the previous frame's mask of the same object.
        uncertainty: mean ambiguity (1 - |2p - 1|) of the soft mask over the pixels where p > 0.1.
        colour: agreement of the mask with the colours of the object in the annotated frame ``anchor``
            (:class:`~xmem_tui.inference.appearance.ColourAgreement`, 0..1); None when not measured.
        colour_ref: the same agreement on the annotated frame itself, with its own mask (what a right
            mask scores; an agreement below it is the sign of error).
    """

    area: float
    area_change: float | None
    centroid_shift: float | None
    iou_prev: float | None
    uncertainty: float | None
    colour: float | None = None
    colour_ref: float | None = None


@dataclass(frozen=True)
class FrameSignals:
    """Quality signals of one propagated frame, relative to the frame before it in propagation order and
    (``anchor``, when colours were measured) to the annotated frame the run started from or last passed.

    Files written before ``anchor`` and the colour fields existed load with them None.
    """

    frame: int
    prev: int | None
    run: str | None
    objects: dict[int, ObjectSignal]
    vanished: tuple[int, ...]
    appeared: tuple[int, ...]
    anchor: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"frame": self.frame, "prev": self.prev, "run": self.run, "vanished": list(self.vanished),
                "appeared": list(self.appeared), "anchor": self.anchor,
                "objects": {str(k): vars(v) for k, v in sorted(self.objects.items())}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FrameSignals:
        return cls(frame=int(data["frame"]), prev=data.get("prev"), run=data.get("run"),
                   objects={int(k): ObjectSignal(**v) for k, v in data.get("objects", {}).items()},
                   vanished=tuple(data.get("vanished", ())), appeared=tuple(data.get("appeared", ())),
                   anchor=data.get("anchor"))


def frame_signals(frame: int, index: np.ndarray, soft: np.ndarray | None, labels: Iterable[int],
                  prev_index: np.ndarray | None, prev: int | None = None, run: str | None = None,
                  colour: Mapping[int, tuple[float, float]] | None = None, anchor: int | None = None,
                  ) -> FrameSignals:
    """Measure one frame.

    Args:
        frame: index of the frame measured.
        index: uint8 (H, W) index mask of the frame.
        soft: uint8 (K, H, W) soft mask (channel k-1 = object k), or None.
        labels: the object labels tracked (1..K).
        prev_index: index mask of the previous frame in propagation order (None for the first).
        prev: index of that previous frame.
        run: propagation run id, kept so a reader can tell runs apart.
        colour: per object, (agreement, reference agreement) with the colours of annotated frame ``anchor``
            (see :class:`~xmem_tui.inference.quality_meter.QualityMeter`); objects left out are not measured.
        anchor: that annotated frame.
    """
    colour = colour or {}
    h, w = index.shape
    n = float(h * w)
    diagonal = float(np.hypot(h, w))
    objects: dict[int, ObjectSignal] = {}
    vanished: list[int] = []
    appeared: list[int] = []
    for k in labels:
        cur = index == k
        area = np.count_nonzero(cur) / n
        uncertainty = None
        if soft is not None and 0 < k <= soft.shape[0]:
            counts = np.bincount(soft[k - 1].ravel(), minlength=256)[_SUPPORT + 1:]
            if counts.any():
                uncertainty = float(counts @ _AMBIGUITY[_SUPPORT + 1:] / counts.sum())
        change = shift = iou = None
        if prev_index is not None:
            old = prev_index == k
            old_area = np.count_nonzero(old) / n
            if old_area >= MIN_AREA and area < MIN_AREA:
                vanished.append(k)
            elif old_area < MIN_AREA and area >= MIN_AREA:
                appeared.append(k)
            if old_area >= MIN_AREA:
                change = (area - old_area) / old_area
                union = np.count_nonzero(cur | old)
                iou = np.count_nonzero(cur & old) / union
                if area >= MIN_AREA:
                    shift = float(np.hypot(*(_centroid(cur) - _centroid(old)))) / diagonal
        agree, ref = colour.get(k, (None, None))
        objects[int(k)] = ObjectSignal(area=area, area_change=change, centroid_shift=shift, iou_prev=iou,
                                       uncertainty=uncertainty, colour=agree, colour_ref=ref)
    return FrameSignals(frame=frame, prev=prev, run=run, objects=objects, vanished=tuple(vanished),
                        appeared=tuple(appeared), anchor=anchor if colour else None)


def _centroid(mask: np.ndarray) -> np.ndarray:
    """(y, x) centroid from the row and column projections (much cheaper than np.nonzero on big masks)."""
    area = np.count_nonzero(mask)
    rows, cols = mask.sum(axis=1), mask.sum(axis=0)
    return np.array([rows @ np.arange(rows.size), cols @ np.arange(cols.size)], dtype=np.float64) / area


class QualityLog:
    """Appends :class:`FrameSignals` to a JSON-lines file; the last line for a frame wins when read."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def append(self, signals: FrameSignals) -> None:
        """Append one line; a single write() on an O_APPEND file, so concurrent readers see whole lines."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = (json.dumps(signals.to_dict(), sort_keys=True) + "\n").encode("utf-8")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)

    def compact(self) -> None:
        """Rewrite the file with one line per frame when old runs have piled up (called before a run)."""
        lines = _read_lines(self.path)
        latest = _latest(lines)
        if len(lines) - len(latest) > _COMPACT_SLACK:
            text = "".join(json.dumps(s.to_dict(), sort_keys=True) + "\n" for _, s in sorted(latest.items()))
            atomic_write_text(self.path, text)

    def forget(self, frames: Iterable[int]) -> None:
        """Drop signals of frames the user has since annotated (their masks are no longer propagated)."""
        drop = set(frames)
        latest = load_signals(self.path)
        if drop & set(latest):
            keep = [s for f, s in sorted(latest.items()) if f not in drop]
            atomic_write_text(self.path, "".join(json.dumps(s.to_dict(), sort_keys=True) + "\n" for s in keep))


def _read_lines(path: Path) -> list[FrameSignals]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    out = []
    for line in text.splitlines():
        try:
            out.append(FrameSignals.from_dict(json.loads(line)))
        except (ValueError, KeyError, TypeError, AttributeError):
            continue  # a torn last line while the writer appends, or a hand-edited file
    return out


def _latest(lines: list[FrameSignals]) -> dict[int, FrameSignals]:
    return {s.frame: s for s in lines}


def load_signals(path: Path) -> dict[int, FrameSignals]:
    """The latest signals of every frame recorded in ``path`` (empty if there is no file)."""
    return _latest(_read_lines(path))


def score_frame(signals: FrameSignals) -> tuple[float, list[str]]:
    """How much a frame deserves a look (0 = nothing odd), with the reasons in words.

    Each jump term is scaled so that about 1.0 means "clearly suspicious" and capped at 2, so one runaway
    measure cannot drown the others: an object vanishing scores 3 (tracking loss is the costliest error
    to miss), IoU with the previous frame below 0.8 scores (1 - IoU) * 2, an area change beyond 20%
    scores |change|, a centroid jump beyond 2% of the diagonal scores shift / 5%, and undecided soft
    masks (mean ambiguity beyond 0.25) score ambiguity * 2. The colour term measures how wrong a mask is
    rather than where it changed: agreement with the annotated frame's colours more than 5% below the
    annotated frame's own scores drop / 5% (on DAVIS a 5% drop goes with about 0.05-0.1 less IoU); it is
    not capped (it cannot pass 20) because it is what orders the long stretches where nothing jumps.
    The frame's score is the sum over objects.
    """
    score = 0.0
    reasons: list[str] = []
    for k in signals.vanished:
        score += 3.0
        reasons.append(f"object {k} vanished")
    for k, s in sorted(signals.objects.items()):
        if s.iou_prev is not None and s.area >= MIN_AREA and s.iou_prev < 0.8:
            score += (1.0 - s.iou_prev) * 2.0
            reasons.append(f"object {k} IoU {s.iou_prev:.2f} with frame {signals.prev}")
        if s.area_change is not None and s.area >= MIN_AREA and abs(s.area_change) > 0.2:
            score += min(abs(s.area_change), 2.0)
            reasons.append(f"object {k} area {s.area_change:+.0%}")
        if s.centroid_shift is not None and s.centroid_shift > 0.02:
            score += min(s.centroid_shift / 0.05, 2.0)
            reasons.append(f"object {k} moved {s.centroid_shift:.0%} of the diagonal")
        if s.uncertainty is not None and s.uncertainty > 0.25:
            score += s.uncertainty * 2.0
            reasons.append(f"object {k} uncertain ({s.uncertainty:.2f})")
        drop = _colour_drop(s)
        if drop is not None and drop > _COLOUR_MIN_DROP:
            score += drop / _COLOUR_UNIT
            where = f"frame {signals.anchor}'s" if signals.anchor is not None else "the annotated frame's"
            reasons.append(f"object {k} mask {drop:.0%} less like {where} colours")
    return score, reasons


def _colour_drop(s: ObjectSignal) -> float | None:
    """Relative loss of colour agreement against the annotated frame (0 = as good, 1 = none left)."""
    if s.colour is None or not s.colour_ref or s.area < MIN_AREA:
        return None
    return max(0.0, 1.0 - s.colour / s.colour_ref)


def rank_frames(signals: dict[int, FrameSignals] | Iterable[FrameSignals], top: int | None = None,
                exclude: Iterable[int] = ()) -> list[tuple[int, float, list[str]]]:
    """Frames most worth a look, best first: ``[(frame, score, reasons), ...]`` with score > 0.

    Args:
        signals: as returned by :func:`load_signals` (or any iterable of FrameSignals).
        top: keep only this many.
        exclude: frames to leave out (e.g. frames the user has annotated since).
    """
    items = signals.values() if isinstance(signals, dict) else signals
    skip = set(exclude)
    ranked = []
    for s in items:
        if s.frame in skip:
            continue
        score, reasons = score_frame(s)
        if score > 0:
            ranked.append((s.frame, round(score, 4), reasons))
    ranked.sort(key=lambda r: (-r[1], r[0]))
    return ranked[:top] if top is not None else ranked
