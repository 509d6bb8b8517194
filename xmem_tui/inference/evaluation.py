"""Run an engine over a sequence with ground truth on every frame, and score it as DAVIS does.

A DAVIS-layout folder holds ``JPEGImages/00000.jpg ...`` and ``Annotations/00000.png ...``; the masks may
be DAVIS-2016 greyscale (0 / 255, one object) or palette PNGs (0 = background, k = object k). The engine
gets the first frame's mask, as in the semi-supervised benchmark, and sees the frames at the processing
resolution the application would use; its masks are scaled back to the frames' size for scoring. The
review ranking the application shows is computed from the same run, so one run tells both how good the
masks are and whether ``xmem-tui review`` points at the frames that went wrong.

Used by ``bench/davis.py`` and by the CI test that keeps the weight-free engine above its floor.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from xmem_tui.inference.engine import Engine, index_from_probs, soft_from_probs
from xmem_tui.inference.metrics import SequenceScore, score_sequence
from xmem_tui.inference.quality import rank_frames
from xmem_tui.inference.quality_meter import QualityMeter
from xmem_tui.media.images import list_images, read_image_rgb
from xmem_tui.media.masks import read_index_mask
from xmem_tui.media.resize import mask_to_shape, processing_shape, to_processing


@dataclass(frozen=True)
class Sequence:
    """Frames (uint8 RGB) and ground-truth index masks (uint8; DAVIS-2016's 255 mapped to object 1)."""

    name: str
    frames: list[np.ndarray]
    truth: list[np.ndarray]

    @property
    def labels(self) -> list[int]:
        """Objects of the first mask (the ones the engine is asked to track)."""
        return [int(v) for v in np.unique(self.truth[0]) if v != 0]


def load_sequence(folder: Path, stop: int | None = None, step: int = 1) -> Sequence:
    """Read a DAVIS-layout folder; ``stop``/``step`` take a prefix or every ``step``-th frame (short CI cases)."""
    folder = Path(folder)
    images = list_images(folder / "JPEGImages")[:stop:step]
    truth = []
    for image in images:
        mask = read_index_mask(folder / "Annotations" / f"{image.stem}.png")
        truth.append((mask > 0).astype(np.uint8) if mask.max() == 255 else mask)
    return Sequence(folder.name, [read_image_rgb(p) for p in images], truth)


@dataclass(frozen=True)
class EngineRun:
    """What an engine made of a sequence.

    Attributes:
        masks: uint8 index masks at the frames' size, frame 0 being the given mask.
        score: J and F per frame (all but the first and the last), object by object averaged.
        review: the frames ``xmem-tui review`` lists first (best first), from this run's signals.
        wall_s: wall time of the engine's steps (frame 0 included).
        cpu_s: CPU time of the process (every thread) over the same steps.
        signals_s: wall time of measuring the quality signals (frame 0's colour models included).
    """

    masks: list[np.ndarray]
    score: SequenceScore
    review: list[int]
    wall_s: float
    cpu_s: float
    signals_s: float


def run_engine(engine: Engine, seq: Sequence, size: int, review_top: int = 5) -> EngineRun:
    """Propagate the first mask of ``seq`` through it with ``engine`` at processing size ``size``."""
    labels = seq.labels
    engine.reset(labels)
    shape = seq.frames[0].shape[:2]
    first = mask_to_shape(seq.truth[0], processing_shape(*shape, size))
    masks: list[np.ndarray] = []
    signals = []
    meter = QualityMeter(labels)
    wall = cpu = measuring = 0.0
    last = len(seq.frames) - 1
    for i, frame in enumerate(seq.frames):
        small = to_processing(frame, size)
        t0, c0 = time.perf_counter(), time.process_time()
        probs = engine.step(small, first if i == 0 else None, end=i == last)
        wall += time.perf_counter() - t0
        cpu += time.process_time() - c0
        index = index_from_probs(probs, labels)
        t0 = time.perf_counter()
        if i:
            signals.append(meter.measure(i, small, index, soft_from_probs(probs)))
        else:
            meter.anchor(0, small, first)
        measuring += time.perf_counter() - t0
        masks.append(mask_to_shape(index, shape))
    score = score_labels(masks, seq.truth, labels)
    review = [f for f, _, _ in rank_frames(signals, top=review_top)]
    return EngineRun(masks, score, review, wall, cpu, measuring)


def score_labels(masks: list[np.ndarray], truth: list[np.ndarray], labels: list[int]) -> SequenceScore:
    """Per-frame J and F averaged over the objects (DAVIS-2016 has one, so this is its score exactly)."""
    per = [score_sequence([m == k for m in masks], [t == k for t in truth]) for k in labels]
    return SequenceScore(frames=per[0].frames, j=tuple(np.mean([p.j for p in per], axis=0).tolist()),
                         f=tuple(np.mean([p.f for p in per], axis=0).tolist()))


def copy_first_mask(seq: Sequence) -> SequenceScore:
    """The floor: the first mask copied to every frame."""
    return score_labels([seq.truth[0]] * len(seq.truth), seq.truth, seq.labels)
