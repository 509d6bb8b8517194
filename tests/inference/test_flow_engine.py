"""The weight-free flow engine: protocol, anchors, and tracking quality on synthetic and real frames."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from xmem_tui.inference.engine import Engine, index_from_probs
from xmem_tui.inference.evaluation import load_sequence
from xmem_tui.inference.flow_engine import FlowConfig, FlowEngine
from xmem_tui.media.synthetic import SceneSpec, render_scene


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = (a | b).sum()
    return 1.0 if union == 0 else float((a & b).sum() / union)


def _mean_iou(pred: np.ndarray, gt: np.ndarray, labels: list[int]) -> float:
    return float(np.mean([_iou(pred == k, gt == k) for k in labels if (gt == k).any()]))


def test_protocol_and_probabilities() -> None:
    engine = FlowEngine()
    assert isinstance(engine, Engine) and engine.weight_free
    engine.reset([1, 3])
    frame = np.random.default_rng(0).integers(0, 255, (40, 60, 3), dtype=np.uint8)
    mask = np.zeros((40, 60), np.uint8)
    mask[5:15, 5:15] = 1
    mask[20:30, 30:50] = 3
    probs = engine.step(frame, mask)
    assert probs.shape == (3, 40, 60) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=0), 1.0, atol=1e-5)
    np.testing.assert_array_equal(index_from_probs(probs, [1, 3]), mask)
    out = engine.step(frame)
    np.testing.assert_allclose(out.sum(axis=0), 1.0, atol=1e-5)
    assert engine.memory_stats().working == 1


def test_needs_a_first_mask() -> None:
    engine = FlowEngine()
    engine.reset([1])
    with pytest.raises(ValueError, match="mask on the first frame"):
        engine.step(np.zeros((20, 20, 3), np.uint8))


def test_user_mask_replaces_state_and_counts_as_anchor() -> None:
    frames, masks = render_scene(SceneSpec(height=64, width=96, n_frames=4, n_objects=1, seed=2))
    engine = FlowEngine()
    engine.reset([1])
    engine.step(frames[0], masks[0])
    engine.step(frames[1])
    probs = engine.step(frames[2], masks[2])
    np.testing.assert_array_equal(index_from_probs(probs, [1]), masks[2])
    assert engine.memory_stats().working == 2


@pytest.mark.parametrize("seed", [0, 1])
def test_tracks_synthetic_clip_far_better_than_copying(seed: int) -> None:
    frames, masks = render_scene(SceneSpec(height=120, width=212, n_frames=30, n_objects=2, seed=seed))
    labels = [1, 2]
    engine = FlowEngine()
    engine.reset(labels)
    flow, copy = [], []
    for i, frame in enumerate(frames):
        probs = engine.step(frame, masks[0] if i == 0 else None, end=i == len(frames) - 1)
        if i:
            flow.append(_mean_iou(index_from_probs(probs, labels), masks[i], labels))
            copy.append(_mean_iou(masks[0], masks[i], labels))
    assert np.mean(flow) > 0.9
    assert np.mean(flow) > np.mean(copy) + 0.5


def test_round_trip_on_real_judo_frames(shared_dir: Path) -> None:
    """Frames 0 -> 7 -> 0 of DAVIS judo; the only ground truth of object 1 is at frame 0."""
    judo = shared_dir / "media" / "judo"

    def load(i: int) -> np.ndarray:
        image = np.array(Image.open(judo / "JPEGImages" / f"{i:05d}.jpg").convert("RGB"))
        return cv2.resize(image, (427, 240), interpolation=cv2.INTER_AREA)

    gt = cv2.resize(np.array(Image.open(judo / "Annotations" / "00000.png")), (427, 240),
                    interpolation=cv2.INTER_NEAREST)
    engine = FlowEngine()
    engine.reset([1])
    order = [*range(8), *range(6, -1, -1)]
    moved = 0.0
    for n, i in enumerate(order):
        probs = engine.step(load(i), gt if n == 0 else None)
        if i == 7:
            moved = _iou(index_from_probs(probs, [1]) == 1, gt == 1)
    back = _iou(index_from_probs(probs, [1]) == 1, gt == 1)
    assert moved < 0.9  # the fighters really move: frame 0's mask is not frame 7's
    assert back > 0.8


@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (8, 8), (3, 200)])
def test_tiny_frames_keep_the_mask(shape: tuple[int, int]) -> None:
    """Too small for optical flow (it needs a few 8-pixel patches per side): the masks are carried over."""
    rng = np.random.default_rng(0)
    mask = np.zeros(shape, np.uint8)
    mask[: max(1, shape[0] // 2), : max(1, shape[1] // 2)] = 2
    engine = FlowEngine()
    engine.reset([2])
    engine.step(rng.integers(0, 256, (*shape, 3), dtype=np.uint8), mask)
    for _ in range(3):
        probs = engine.step(rng.integers(0, 256, (*shape, 3), dtype=np.uint8))
        assert probs.shape == (2, *shape)
        np.testing.assert_array_equal(index_from_probs(probs, [2]), mask)


def _areas_on_noise(config: FlowConfig | None) -> list[int]:
    """An object and a background of the same random colours, then frames of fresh noise: no motion
    explains anything and the colour models cannot tell object from background."""
    rng = np.random.default_rng(0)
    mask = np.zeros((120, 160), np.uint8)
    mask[40:80, 60:100] = 1
    engine = FlowEngine(config)
    engine.reset([1])
    engine.step(rng.integers(0, 256, (120, 160, 3), dtype=np.uint8), mask)
    return [int((index_from_probs(engine.step(rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)), [1]) == 1).sum())
            for _ in range(12)]


def test_collapsed_evidence_never_spreads_the_mask() -> None:
    areas = _areas_on_noise(None)
    assert max(areas) <= 1600 * (1 + FlowConfig().max_growth) * 1.05  # one frame's allowed growth at most...
    assert areas[-1] <= 1600  # ...and no spreading: it keeps its shape or shrinks
    unguarded = _areas_on_noise(FlowConfig(min_reliable=0.0, max_growth=math.inf))
    assert max(unguarded) > 3 * 1600  # the same engine without its guards spreads over the background


def test_scene_cut_keeps_the_previous_shape(shared_dir: Path) -> None:
    """A cut to another shot: the flow is inconsistent almost everywhere, so the mask is held as it was."""
    davis = shared_dir / "media" / "davis16"
    camel = load_sequence(davis / "camel", stop=2)
    cows = load_sequence(davis / "cows", stop=1)
    engine = FlowEngine()
    engine.reset([1])
    engine.step(camel.frames[0], camel.truth[0])
    before = index_from_probs(engine.step(camel.frames[1]), [1])
    after = index_from_probs(engine.step(cows.frames[0]), [1])
    assert engine.memory_stats().extra["held"] == 1
    np.testing.assert_array_equal(after, before)
