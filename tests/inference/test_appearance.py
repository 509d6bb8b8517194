"""Colour agreement with the annotated frame: what it measures, and that it puts drifted masks first in review."""

from __future__ import annotations

import numpy as np
import pytest

from xmem_tui.inference.appearance import ColourAgreement
from xmem_tui.inference.quality import rank_frames
from xmem_tui.inference.quality_meter import QualityMeter

H, W = 120, 200
BOX = (40, 80, 40, 90)  # y0, y1, x0, x1 of the object in every frame


def scene(seed: int = 0) -> np.ndarray:
    """A textured orange object on textured green-blue ground (colours overlap nowhere)."""
    rng = np.random.default_rng(seed)
    image = np.stack([rng.integers(0, 60, (H, W)), rng.integers(90, 200, (H, W)), rng.integers(60, 160, (H, W))],
                     axis=-1).astype(np.uint8)
    y0, y1, x0, x1 = BOX
    n = (y1 - y0, x1 - x0)
    image[y0:y1, x0:x1] = np.stack([rng.integers(180, 256, n), rng.integers(60, 140, n), rng.integers(0, 50, n)],
                                   axis=-1)
    return image


def mask_at(dx: int = 0, label: int = 1) -> np.ndarray:
    """The object's box shifted ``dx`` pixels right: same area, less of it on the object."""
    y0, y1, x0, x1 = BOX
    out = np.zeros((H, W), dtype=np.uint8)
    out[y0:y1, x0 + dx:x1 + dx] = label
    return out


def test_agreement_falls_as_the_mask_slides_off_the_object() -> None:
    image = scene()
    colours = ColourAgreement(image, mask_at(), [1])
    assert colours.reference[1] > 0.9
    values = [colours.agreement(scene(seed), mask_at(dx))[1] for seed, dx in [(1, 0), (2, 10), (3, 25), (4, 50)]]
    assert values[0] == pytest.approx(colours.reference[1], abs=0.05)  # new frame, same object: as good
    assert values[0] > values[1] > values[2] > values[3]
    assert values[3] < 0.1  # entirely on the ground


def test_objects_without_a_model_or_a_mask_are_not_measured() -> None:
    image = scene()
    tiny = np.zeros((H, W), dtype=np.uint8)
    tiny[0, 0] = 2  # one pixel: no colour model
    annotated = np.maximum(mask_at(), tiny)
    colours = ColourAgreement(image, annotated, [1, 2, 3])
    assert set(colours.reference) == {1}
    assert colours.agreement(image, np.zeros((H, W), np.uint8)) == {}  # object 1 absent


def test_a_mask_sliding_onto_the_background_is_ranked_first_with_its_reason() -> None:
    """Two frames with the same jumps (the mask moved 20 px from the annotated frame's, same area): on
    frame 1 the object moved with it, on frame 2 the object stayed and the mask slid onto the ground.
    Jump signals cannot tell them apart; the colours can."""
    meter = QualityMeter([1])
    meter.anchor(0, scene(0), mask_at())
    moved = np.roll(scene(1), 20, axis=1)  # the object (and the ground) moved 20 px right
    good = meter.measure(1, moved, mask_at(20), None)
    meter.follow(0, mask_at())
    slid = meter.measure(2, scene(2), mask_at(20), None)
    assert good.objects[1].iou_prev == slid.objects[1].iou_prev and good.anchor == slid.anchor == 0
    ranked = rank_frames([good, slid])
    assert ranked[0][0] == 2
    assert any(r.startswith("object 1 mask ") and r.endswith("% less like frame 0's colours") for r in ranked[0][2])
    assert not any("colours" in r for r in next(r for f, _, r in ranked if f == 1))


def test_a_slow_drift_without_jumps_ranks_the_farthest_frame_first() -> None:
    """The mask creeps 3 px a frame off a still object: no frame-to-frame jump is large, so without the
    colour term nothing would be listed; with it the frames come out worst (farthest) first."""
    meter = QualityMeter([1])
    meter.anchor(0, scene(0), mask_at())
    signals = [meter.measure(i, scene(i), mask_at(3 * i), None) for i in range(1, 13)]
    ranked = [f for f, _, _ in rank_frames(signals)]
    assert ranked[:3] == [12, 11, 10]
