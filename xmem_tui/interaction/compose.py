"""How one interaction changes a frame's masks (index mask + soft masks), as in the official XMem demo.

* A **click** session segments one object: its result *resets* that object (object k's old pixels are
  released, the new region prob > 0.5 becomes k, overwriting other objects there; elsewhere the other
  objects keep their pixels).
* A **scribble** refines every object at once from the previous mask: the segmenter returns K
  probabilities that are soft-aggregated (XMem's rule) into one partition of the frame.
* **Free-hand** brush/lasso (see :mod:`xmem_tui.interaction.freehand`) writes labels directly.

Invariants kept by every function here, because the propagation engines and the exporters rely on them:
one label per pixel (an index mask), soft masks uint8 (K, H, W) whose channels sum to at most 255 per pixel
(background = 255 - sum), and the soft masks agree with the index mask: at every pixel the labelled
channel (background for 0) is *strictly* the largest, so ``index_from_soft(soft) == index``. Pixels where
the soft values would disagree are made hard (255 for the label, 0 elsewhere).
"""

from __future__ import annotations

import numpy as np

from xmem_tui.inference.engine import soft_from_probs
from xmem_tui.workspace.store import hard_soft

_EPS = 1e-7


def aggregate(probs: np.ndarray) -> np.ndarray:
    """Turn K independent object probabilities into a (K+1) partition, channel 0 = background.

    XMem's soft aggregation: background = prod(1 - p_k), then a softmax over the logits of all channels,
    so overlapping confident objects compete instead of being summed.

    Args:
        probs: float (K, H, W) in [0, 1].

    Returns:
        float32 (K+1, H, W) summing to 1 per pixel.
    """
    p = np.clip(np.asarray(probs, dtype=np.float32), _EPS, 1 - _EPS)
    bg = np.prod(1 - p, axis=0, keepdims=True)
    full = np.clip(np.concatenate([bg, p], axis=0), _EPS, 1 - _EPS)
    logits = np.log(full / (1 - full))
    logits -= logits.max(axis=0, keepdims=True)
    e = np.exp(logits)
    return (e / e.sum(axis=0, keepdims=True)).astype(np.float32)


def index_from_soft(soft: np.ndarray) -> np.ndarray:
    """The index mask a soft stack encodes: argmax over (255 - sum, channel 1, ..., channel K)."""
    s = soft.astype(np.int32)
    bg = 255 - s.sum(axis=0, keepdims=True)
    return np.argmax(np.concatenate([bg, s], axis=0), axis=0).astype(np.uint8)


def normalise_soft(soft: np.ndarray | None, index: np.ndarray, num_objects: int) -> np.ndarray:
    """Make ``soft`` obey the module invariants with respect to ``index``.

    Channels are scaled down where they sum to more than 255, padded/cropped to ``num_objects``, and
    every pixel whose labelled channel is not strictly the largest becomes hard.

    Args:
        soft: uint8 (K', H, W) or None (hard masks are produced).
        index: uint8 (H, W) index mask with labels <= num_objects.
        num_objects: K, the number of channels returned.
    """
    if soft is None:
        return hard_soft(index, num_objects)
    s = np.zeros((num_objects, *index.shape), dtype=np.int32)
    n = min(num_objects, soft.shape[0])
    s[:n] = soft[:n]
    total = s.sum(axis=0)
    over = total > 255
    if over.any():
        s[:, over] = (s[:, over] * 255) // total[over]
    values = np.concatenate([255 - s.sum(axis=0, keepdims=True), s], axis=0)
    winner = np.take_along_axis(values, index[None].astype(np.int64), axis=0)[0]
    values_others = values.copy()
    np.put_along_axis(values_others, index[None].astype(np.int64), -1, axis=0)
    bad = winner <= values_others.max(axis=0)
    out = s.astype(np.uint8)
    if bad.any():
        hard = hard_soft(index, num_objects)
        out[:, bad] = hard[:, bad]
    return out


def apply_click(index: np.ndarray, soft: np.ndarray | None, prob: np.ndarray, label: int,
                num_objects: int, threshold: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Reset object ``label`` to the click result ``prob`` (float (H, W) in [0, 1]).

    Returns:
        (index, soft): new uint8 index mask and uint8 (K, H, W) soft masks, consistent.
    """
    if not 1 <= label <= num_objects:
        raise ValueError(f"object {label} is outside 1..{num_objects}")
    new_region = prob > threshold
    out = np.array(index, dtype=np.uint8, copy=True)
    out[out == label] = 0
    out[new_region] = label
    s = normalise_soft(soft, index, num_objects).astype(np.int32)
    s[label - 1] = np.rint(np.clip(prob, 0, 1) * 255).astype(np.int32)
    # Objects that lost pixels to the new region keep no probability there.
    others = np.ones(num_objects, dtype=bool)
    others[label - 1] = False
    s[others] = np.where(new_region[None], 0, s[others])
    return out, normalise_soft(np.clip(s, 0, 255).astype(np.uint8), out, num_objects)


def apply_scribble(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """New masks from a scribble segmenter's float (K, H, W) object probabilities (soft-aggregated)."""
    full = aggregate(probs)
    index = np.argmax(full, axis=0).astype(np.uint8)
    return index, normalise_soft(soft_from_probs(full), index, probs.shape[0])


def apply_paint(index: np.ndarray, soft: np.ndarray | None, region: np.ndarray, label: int,
                num_objects: int) -> tuple[np.ndarray, np.ndarray]:
    """Write ``label`` (0 = erase) over ``region`` (bool (H, W)); painted pixels become hard."""
    if not 0 <= label <= num_objects:
        raise ValueError(f"label {label} is outside 0..{num_objects}")
    out = np.array(index, dtype=np.uint8, copy=True)
    out[region] = label
    s = normalise_soft(soft, index, num_objects)
    s[:, region] = hard_soft(out, num_objects)[:, region]
    return out, normalise_soft(s, out, num_objects)
