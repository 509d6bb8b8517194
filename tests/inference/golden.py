"""Acceptance of a golden replay (reference READMEs, "Tolerances"): the worst frame's three numbers."""

from __future__ import annotations

import numpy as np

MAX_ABS, MEAN_ABS, ARGMAX = 2e-3, 2e-5, 1e-3


def new_worst() -> dict[str, float]:
    return {"max": 0.0, "mean": 0.0, "argmax": 0.0}


def update_worst(worst: dict[str, float], out: np.ndarray, ref: np.ndarray, ref_argmax: np.ndarray) -> None:
    """Fold one frame's (K+1, H, W) probabilities into the worst max / mean abs error and argmax mismatch."""
    assert out.shape == ref.shape and out.dtype == np.float32
    diff = np.abs(out - ref)
    worst["max"] = max(worst["max"], float(diff.max()))
    worst["mean"] = max(worst["mean"], float(diff.mean()))
    worst["argmax"] = max(worst["argmax"], float((out.argmax(0) != ref_argmax).mean()))


def accepted(worst: dict[str, float]) -> bool:
    return worst["max"] <= MAX_ABS and worst["mean"] <= MEAN_ABS and worst["argmax"] <= ARGMAX
