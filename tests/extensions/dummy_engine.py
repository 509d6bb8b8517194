"""A whole propagation engine in one file, registered through the public registry only (a test's extension).

It carries the last mask it was given forward unchanged. Registering :data:`SPEC` must be enough for it
to appear as ``--engine dummy``, as a valid ``processing.engine``, as the dashboard's engine label and in
a propagation job the worker runs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from xmem_tui.inference.engine import MemoryStats
from xmem_tui.inference.registry import EngineSpec

NAME = "dummy"
LABEL = "dummy (carries the last mask)"


class CarryEngine:
    """Returns the last given mask as one-hot probabilities for every frame."""

    name = LABEL
    weight_free = True

    def __init__(self) -> None:
        self.labels: list[int] = []
        self.mask: np.ndarray | None = None

    def reset(self, labels: list[int]) -> None:
        self.labels, self.mask = list(labels), None

    def step(self, frame: np.ndarray, mask: np.ndarray | None = None, *, end: bool = False) -> np.ndarray:
        if mask is not None:
            self.mask = mask.copy()
        assert self.mask is not None, "stepped before any mask"
        probs = np.stack([self.mask == 0, *(self.mask == label for label in self.labels)]).astype(np.float32)
        return probs

    def memory_stats(self) -> MemoryStats:
        return MemoryStats(working=int(self.mask is not None))


def build(settings: Any, device: Any) -> CarryEngine:
    return CarryEngine()


def estimate(settings: Any, shape: tuple[int, int], num_objects: int, *, half: bool,
             permanent_frames: int) -> dict[str, int]:
    return {"last mask": shape[0] * shape[1]}


SPEC = EngineSpec(name=NAME, label=LABEL, build=build, estimate=estimate, weight_free=True, accelerated=False,
                  auto=False, help="carries the last mask forward (test engine)")
