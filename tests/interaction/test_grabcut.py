"""GrabCut click and scribble fallbacks on a synthetic frame (known truth) and on real judo frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from xmem_tui.interaction.base import NO_SCRIBBLE, ClickSegmenter, ScribbleSegmenter
from xmem_tui.interaction.grabcut import GrabCutClickSegmenter, GrabCutScribbleSegmenter
from xmem_tui.media.synthetic import SceneSpec, render_scene


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def _centre(region: np.ndarray) -> tuple[int, int]:
    from scipy import ndimage

    dist = ndimage.distance_transform_edt(region)
    y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return int(x), int(y)


@pytest.fixture(scope="module")
def scene() -> tuple[np.ndarray, np.ndarray]:
    frames, masks = render_scene(SceneSpec(height=160, width=280, n_frames=1, n_objects=2, seed=3))
    return frames[0], masks[0]


def test_protocols() -> None:
    assert isinstance(GrabCutClickSegmenter(), ClickSegmenter)
    assert isinstance(GrabCutScribbleSegmenter(), ScribbleSegmenter)
    assert GrabCutClickSegmenter.weight_free and GrabCutScribbleSegmenter.weight_free


def test_one_click_finds_the_object(scene) -> None:
    frame, mask = scene
    seg = GrabCutClickSegmenter()
    seg.set_image(frame)
    gt = mask == 1
    prob = seg.add_click(*_centre(gt), positive=True)
    assert prob.dtype == np.float32 and prob.shape == gt.shape
    assert prob.min() >= 0 and prob.max() <= 1
    assert _iou(prob > 0.5, gt) > 0.8


def test_negative_click_removes_a_region(scene) -> None:
    frame, mask = scene
    seg = GrabCutClickSegmenter()
    seg.set_image(frame)
    both = (mask == 1) | (mask == 2)
    seg.add_click(*_centre(mask == 1), positive=True)
    seg.add_click(*_centre(mask == 2), positive=True)
    prob = seg.add_click(*_centre(mask == 2), positive=False)
    x, y = _centre(mask == 2)
    assert prob[y, x] < 0.5
    assert _iou(prob > 0.5, mask == 1) > 0.7
    seg.reset()
    assert _iou(seg.add_click(*_centre(both & (mask == 2)), positive=True) > 0.5, mask == 2) > 0.7


def test_scribbles_fix_a_bad_mask(scene) -> None:
    frame, mask = scene
    prev = np.zeros_like(mask)
    prev[mask == 2] = 1  # object 1 wrongly labelled where object 2 is; object 1's real area empty
    scribbles = np.full(mask.shape, NO_SCRIBBLE, np.uint8)
    x1, y1 = _centre(mask == 1)
    x2, y2 = _centre(mask == 2)
    scribbles[y1 - 2:y1 + 3, x1 - 10:x1 + 11] = 1
    scribbles[y2 - 2:y2 + 3, x2 - 10:x2 + 11] = 0
    probs = GrabCutScribbleSegmenter().interact(frame, prev, scribbles, 2)
    assert probs.shape == (2, *mask.shape) and probs.dtype == np.float32
    assert _iou(probs[0] > 0.5, mask == 1) > 0.7
    assert _iou(probs[0] > 0.5, mask == 2) < 0.1


def _next_click(pred: np.ndarray, gt: np.ndarray) -> tuple[int, int, bool]:
    """Where a careful user clicks next: the centre of the largest error (positive if it is a miss)."""
    misses, extra = gt & ~pred, pred & ~gt
    positive = bool(misses.sum() >= extra.sum())
    x, y = _centre(np.pad(misses if positive else extra, 1)[1:-1, 1:-1])
    return x, y, positive


def test_three_clicks_on_real_judo_frame(shared_dir: Path) -> None:
    judo = shared_dir / "media" / "judo"
    frame = np.array(Image.open(judo / "JPEGImages" / "00000.jpg").convert("RGB"))
    gt = np.array(Image.open(judo / "Annotations" / "00000.png")) == 1
    seg = GrabCutClickSegmenter()
    seg.set_image(frame)
    pred = np.zeros_like(gt)
    for _ in range(3):
        pred = seg.add_click(*_next_click(pred, gt)) > 0.5
    assert _iou(pred, gt) > 0.75
