"""The weight-free propagation engine: layered optical flow with occlusion reasoning and GrabCut snapping.

Used when ``models/XMem.pth`` is absent, so the whole application works without any checkpoint. Warping a
mask along dense optical flow alone drifts quickly: flow is smooth across object edges (masks bloat), it
locks onto the wrong period of repetitive textures, and it cannot say what appears from behind an
occluder. So each frame is labelled by competition between motion hypotheses:

1. Candidates: dense DIS flow (OpenCV, medium preset) from the current frame back to the previous one,
   with a forward-backward consistency check; per label an affine motion fitted (RANSAC) to the reliable
   flow inside it; per object a translation found by masked template matching (robust to texture aliasing).
2. Each label's cost at each pixel is the colour difference of the best candidate that maps the pixel
   onto that label in the previous frame. A label's own motion landing on another label means the pixel
   was hidden (disocclusion): it costs according to per-label colour models learnt on the user's
   annotated frames (anchors), so objects come back from behind others.
3. Costs are aggregated over a window (a cheap smoothness prior), the cheapest label wins, and GrabCut
   re-fits each object's edge in a thin band to the current frame's colours.

A user mask given to :meth:`FlowEngine.step` replaces the state and retrains the colour models (anchor).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np

from xmem_tui.inference.engine import MemoryStats
from xmem_tui.inference.flow_ops import (
    Candidate,
    ColourModel,
    affine_candidate,
    backward_flow,
    grabcut_band,
    label_costs,
    make_dis,
    search_candidate,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FlowConfig:
    """Tuning of the flow engine (defaults measured with ``bench/interaction.py``). Sizes are fractions of
    the frame's shorter side, so behaviour does not depend on the processing resolution.

    Attributes:
        search: radius of the per-object translation search.
        aggregate: side of the window over which label costs are averaged.
        band: half-width of the GrabCut edge band (0 disables GrabCut).
        dense_bonus: cost advantage of the dense flow on ties (grey levels).
        occluded_min: cost of a disoccluded pixel whose colour surely belongs to the label.
        occluded_max: cost of a disoccluded pixel whose colour is as likely the label's as not.
        max_cost: costs are clipped here before aggregation so one bad pixel does not dominate a window.
    """

    search: float = 0.1
    aggregate: float = 0.02
    band: float = 0.017
    dense_bonus: float = 2.0
    occluded_min: float = 20.0
    occluded_max: float = 60.0
    max_cost: float = 200.0


class FlowEngine:
    """Optical-flow propagation implementing :class:`xmem_tui.inference.engine.Engine`."""

    name = "weight-free (optical flow)"
    weight_free = True

    def __init__(self, config: FlowConfig | None = None) -> None:
        self.config = config or FlowConfig()
        self._dis = make_dis()
        self.reset([])

    def reset(self, labels: list[int]) -> None:
        """Forget every frame and anchor; track ``labels`` (1..K, increasing)."""
        self.labels = list(labels)
        self._prev: np.ndarray | None = None  # previous RGB frame
        self._state: np.ndarray | None = None  # uint8 (H, W) channel map (0 = background, c = labels[c-1])
        self._colour = ColourModel(len(self.labels) + 1)
        self._anchors = 0
        self._unreliable = 0.0
        self._rng = np.random.default_rng(0)

    def memory_stats(self) -> MemoryStats:
        """Anchor frames memorised (working); extra: fraction of flow-unreliable pixels in the last frame."""
        return MemoryStats(working=self._anchors, long_term=0, extra={"unreliable": round(self._unreliable, 4)})

    def step(self, frame: np.ndarray, mask: np.ndarray | None = None, *, end: bool = False) -> np.ndarray:
        """Segment ``frame`` (uint8 RGB (H, W, 3)); ``mask`` (uint8 index (H, W)) is a user anchor.

        Returns:
            float32 (K+1, H, W) probabilities, channel 0 = background, summing to 1.
        """
        if mask is not None:
            state = self._anchor(frame, mask)
        elif self._state is None or self._prev is None:
            raise ValueError("the flow engine needs a mask on the first frame it sees")
        elif self._state.shape != frame.shape[:2]:
            raise ValueError(f"frame size {frame.shape[:2]} differs from the previous frame's {self._state.shape}")
        else:
            state = self._propagate(frame)
        if not end:
            self._prev, self._state = frame, state
        return self._probabilities(state)

    def _anchor(self, frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
        channel = np.zeros(256, dtype=np.uint8)  # label value -> channel; unknown labels are background
        for c, label in enumerate(self.labels, start=1):
            channel[label] = c
        state = channel[mask]
        self._colour.update(frame, state.astype(np.int64), rate=0.5)
        self._anchors += 1
        return state

    def _probabilities(self, state: np.ndarray) -> np.ndarray:
        """Soft one-hot of the label map: edges blurred by about a pixel, argmax unchanged in the interior."""
        n = len(self.labels) + 1
        one_hot = (state[None] == np.arange(n, dtype=np.uint8)[:, None, None]).astype(np.float32)
        soft = np.stack([cv2.GaussianBlur(p, (0, 0), 0.7) for p in one_hot])
        probs = 0.5 * one_hot + 0.5 * soft
        return probs / probs.sum(axis=0, keepdims=True)

    def _propagate(self, frame: np.ndarray) -> np.ndarray:
        cfg = self.config
        assert self._prev is not None and self._state is not None
        prev, labels = self._prev, self._state
        n = len(self.labels) + 1
        short = min(frame.shape[:2])
        prev_gray = cv2.cvtColor(prev, cv2.COLOR_RGB2GRAY)
        gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        flow = backward_flow(self._dis, prev_gray, gray)
        self._unreliable = float(1 - flow.reliable.mean())
        candidates = [Candidate(flow.map_x, flow.map_y, owner=-1, bonus=cfg.dense_bonus)]
        for k in range(n):
            cand = affine_candidate(flow, labels, k, self._rng)
            if cand is not None:
                candidates.append(cand)
        blur0 = cv2.GaussianBlur(prev_gray.astype(np.float32), (0, 0), 1.0)
        blur1 = cv2.GaussianBlur(gray.astype(np.float32), (0, 0), 1.0)
        radius = max(2, round(cfg.search * short))
        for k in range(1, n):
            cand = search_candidate(blur0, blur1, labels, k, radius)
            if cand is not None:
                candidates.append(cand)
        posterior = self._colour.posterior(frame)
        occluded = cfg.occluded_min + (cfg.occluded_max - cfg.occluded_min) * 2 * (1 - posterior)
        costs = np.minimum(label_costs(prev, frame, labels, candidates, n, occluded), cfg.max_cost)
        window = 2 * max(1, round(cfg.aggregate * short / 2)) + 1
        costs = np.stack([cv2.boxFilter(c, -1, (window, window)) for c in costs])
        state = cv2.medianBlur(np.argmin(costs, axis=0).astype(np.uint8), 5)
        return self._snap(frame, state) if cfg.band > 0 else state

    def _snap(self, frame: np.ndarray, state: np.ndarray) -> np.ndarray:
        """GrabCut each object in a thin band around its edge; other objects are off limits."""
        band = max(2, round(self.config.band * min(frame.shape[:2])))
        out = state.copy()
        for c in range(1, len(self.labels) + 1):
            mine = state == c
            region = grabcut_band(frame, mine.astype(np.float32), band, forbidden=~mine & (state != 0))
            if region is not None:
                out[mine & ~region] = 0
                out[region & (out == 0)] = c
        return out
