"""The weight-free propagation engine: optical flow + consistency check + appearance re-anchoring.

Used when ``models/XMem.pth`` is absent, so the whole application works without any checkpoint. Per frame:

1. Dense DIS optical flow (OpenCV, medium preset) from the current frame back to the previous one, and a
   forward-backward consistency check that marks occluded or unreliable pixels.
2. The previous label map is warped along the flow. Where the flow is unreliable, the warped labels are
   mixed with per-label colour models learnt on the user's annotated frames (anchors), so disoccluded
   parts of an object come back instead of being lost to the background.
3. A colour guided filter snaps the warped edges to the edges of the current frame (warping blurs).
4. Every ``reanchor_every`` frames, or sooner when many pixels near object edges are unreliable, GrabCut
   re-segments each object in a band around its edge, which stops the slow drift of pure flow.

A user mask given to :meth:`FlowEngine.step` replaces the state and retrains the colour models (an anchor).
The state carried between frames is the hard label map (one-hot), so bilinear warping cannot blur it away
over long runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np

from xmem_tui.inference.engine import MemoryStats
from xmem_tui.inference.flow_ops import ColourModel, FlowField, backward_flow, grabcut_band, guided_filter, make_dis, warp

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FlowConfig:
    """Tuning of the flow engine (defaults measured with ``bench/interaction.py``).

    Attributes:
        colour_weight: weight of the colour posterior at flow-unreliable pixels (0 = ignore colour).
        guided_radius: guided-filter window radius in pixels, as a fraction of the shorter side.
        guided_eps: guided-filter regulariser (image in [0, 1]); smaller follows edges more closely.
        reanchor_every: GrabCut band refinement period in frames (0 = never on a schedule).
        unreliable_trigger: fraction of unreliable pixels in the edge band that forces a refinement.
        band: half-width of the GrabCut band, as a fraction of the shorter side.
        grabcut_weight: how much the GrabCut labels override the tracked probabilities.
        colour_rate: running-average rate of the colour models on confidently propagated frames.
    """

    colour_weight: float = 0.5
    guided_radius: float = 0.01
    guided_eps: float = 1e-3
    reanchor_every: int = 5
    unreliable_trigger: float = 0.25
    band: float = 0.02
    grabcut_weight: float = 0.7
    colour_rate: float = 0.0


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
        self._prev_gray: np.ndarray | None = None
        self._state: np.ndarray | None = None  # float32 (K+1, H, W) one-hot of the last label map
        self._colour = ColourModel(len(self.labels) + 1)
        self._anchors = 0
        self._since_refine = 0
        self._last_unreliable = 0.0

    def memory_stats(self) -> MemoryStats:
        """Anchors (user frames) memorised; extra: frames since the last GrabCut refinement."""
        return MemoryStats(working=self._anchors, long_term=0,
                           extra={"since_refine": float(self._since_refine),
                                  "unreliable": round(self._last_unreliable, 4)})

    def step(self, frame: np.ndarray, mask: np.ndarray | None = None, *, end: bool = False) -> np.ndarray:
        """Segment ``frame`` (uint8 RGB) given the previous frames; ``mask`` (uint8 index) is an anchor.

        Returns:
            float32 (K+1, H, W) probabilities, channel 0 = background, summing to 1.
        """
        gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        if mask is not None:
            probs = self._anchor(frame, mask)
        elif self._state is None:
            raise ValueError("the flow engine needs a mask on the first frame it sees")
        elif self._state.shape[1:] != gray.shape:
            raise ValueError(f"frame size {gray.shape} differs from the previous frame's {self._state.shape[1:]}")
        else:
            probs = self._propagate(frame, gray)
        self._prev_gray = gray
        if not end:
            self._state = self._one_hot(np.argmax(probs, axis=0))
        return probs

    def _one_hot(self, index: np.ndarray) -> np.ndarray:
        k = len(self.labels) + 1
        return (index[None] == np.arange(k)[:, None, None]).astype(np.float32)

    def _anchor(self, frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
        channel = np.zeros(256, dtype=np.int64)  # label value -> channel; unknown labels are background
        for c, label in enumerate(self.labels, start=1):
            channel[label] = c
        index = channel[mask]
        self._colour.update(frame, index, rate=0.5)
        self._anchors += 1
        self._since_refine = 0
        return self._one_hot(index)

    def _propagate(self, frame: np.ndarray, gray: np.ndarray) -> np.ndarray:
        cfg = self.config
        assert self._prev_gray is not None and self._state is not None
        field = backward_flow(self._dis, self._prev_gray, gray)
        probs = warp(self._state, field)
        unreliable = ~field.reliable
        if cfg.colour_weight > 0 and self._colour.trained and unreliable.any():
            posterior = self._colour.posterior(frame)
            probs[:, unreliable] = ((1 - cfg.colour_weight) * probs[:, unreliable]
                                    + cfg.colour_weight * posterior[:, unreliable])
        probs = self._snap(frame, probs)
        self._since_refine += 1
        edge_unreliable = self._edge_unreliable(probs, field)
        self._last_unreliable = edge_unreliable
        due = cfg.reanchor_every > 0 and self._since_refine >= cfg.reanchor_every
        if due or edge_unreliable > cfg.unreliable_trigger:
            probs = self._refine(frame, probs)
            self._since_refine = 0
        if cfg.colour_rate > 0:
            confident = probs.max(axis=0) > 0.9
            labels = np.where(confident & field.reliable, np.argmax(probs, axis=0), -1)
            self._colour.update(frame, labels, rate=cfg.colour_rate)
        return probs

    def _snap(self, frame: np.ndarray, probs: np.ndarray) -> np.ndarray:
        cfg = self.config
        radius = max(1, round(cfg.guided_radius * min(frame.shape[:2])))
        guide = frame.astype(np.float32) / 255.0
        snapped = np.stack([guided_filter(guide, p, radius, cfg.guided_eps) for p in probs])
        snapped = np.clip(snapped, 0.0, None)
        return snapped / np.maximum(snapped.sum(axis=0, keepdims=True), 1e-6)

    def _edge_unreliable(self, probs: np.ndarray, field: FlowField) -> float:
        """Fraction of unreliable flow in the band where labels change (where drift starts)."""
        index = np.argmax(probs, axis=0).astype(np.uint8)
        edges = cv2.morphologyEx(index, cv2.MORPH_GRADIENT, np.ones((5, 5), np.uint8)) > 0
        if not edges.any():
            return 0.0
        return float((~field.reliable[edges]).mean())

    def _refine(self, frame: np.ndarray, probs: np.ndarray) -> np.ndarray:
        """GrabCut each object in a band around its edge and pull the probabilities towards the result."""
        cfg = self.config
        band = max(2, round(cfg.band * min(frame.shape[:2])))
        index = np.argmax(probs, axis=0)
        refined = index.copy()
        regions: dict[int, np.ndarray] = {}
        for c in range(1, probs.shape[0]):
            others = (index != c) & (index != 0)
            region = grabcut_band(frame, probs[c], band, forbidden=others)
            if region is not None:
                regions[c] = region
        for c, region in regions.items():
            refined[(index == c) & ~region] = 0
        for c, region in regions.items():
            refined[region & (refined == 0)] = c
        hard = self._one_hot(refined)
        w = cfg.grabcut_weight
        return (1 - w) * probs + w * hard
