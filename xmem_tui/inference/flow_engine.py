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
   Colour evidence only counts near where the object's previous region moved to (``reach``).
3. Costs are aggregated over a window (a cheap smoothness prior), the cheapest label wins, and GrabCut
   re-fits each object's edge in a thin band to the current frame's colours (growing it only where the
   anchors' colours agree). Pieces of an object that do not touch its moved region are dropped.
4. Guards keep the engine from exploding when its evidence collapses: on a frame whose flow is mostly
   inconsistent (a cut, a flash) every mask keeps its shape, and an object that gains more than
   ``max_growth`` of its area in one frame is cut back to its moved region.

The engine works at ``work_size`` (320 px on the shorter side) whatever the frames' size, and scales its
masks back up (``bench/davis.py``: 0.66 J&F at 0.16 s of CPU per frame; 240 px gave 0.65 at 0.09 s).
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
    connected_to,
    grabcut_band,
    label_costs,
    make_dis,
    near_regions,
    search_candidate,
)
from xmem_tui.media.resize import mask_to_shape, to_processing

log = logging.getLogger(__name__)


#: Frames whose working size has a shorter side below this carry no usable motion (optical flow needs a
#: few of its 8-pixel patches per side): the engine keeps the previous masks on them.
MIN_SIDE = 16


@dataclass(frozen=True)
class FlowConfig:
    """Tuning of the flow engine, measured with ``bench/davis.py`` on real footage. Sizes are fractions of
    the working frame's shorter side, so behaviour does not depend on the resolution.

    Attributes:
        work_size: shorter side the engine works at (frames are shrunk to it, masks scaled back up).
        search: radius of the per-object translation search.
        reach: how far from where an object's previous region moved to a pixel may join it on colour
            evidence alone (disocclusion); beyond it only motion can add pixels to the object.
        aggregate: side of the window over which label costs are averaged.
        band: half-width of the GrabCut edge band (0 disables GrabCut).
        dense_bonus: cost advantage of the dense flow on ties (grey levels).
        occluded_min: cost of a disoccluded pixel whose colour surely belongs to the label.
        occluded_max: cost of a disoccluded pixel whose colour is as likely the label's as not.
        max_cost: costs are clipped here before aggregation so one bad pixel does not dominate a window.
        min_reliable: below this fraction of forward-backward consistent flow the frame's motion is not
            trusted at all and every mask keeps its previous shape.
        max_growth: an object may grow by this fraction of its previous area (or of its region moved by
            the flow, if larger) per frame; a bigger gain is colour spreading over look-alike background,
            so the object keeps its moved region instead.
    """

    work_size: int = 320
    search: float = 0.1
    reach: float = 0.08
    aggregate: float = 0.02
    band: float = 0.017
    dense_bonus: float = 2.0
    occluded_min: float = 20.0
    occluded_max: float = 60.0
    max_cost: float = 200.0
    min_reliable: float = 0.25
    max_growth: float = 0.25


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
        self._prev: np.ndarray | None = None  # previous RGB frame at working size
        self._state: np.ndarray | None = None  # uint8 channel map at working size (0 = background, c = labels[c-1])
        self._shape: tuple[int, int] | None = None  # size of the frames given
        self._colour = ColourModel(len(self.labels) + 1)
        self._anchors = 0
        self._unreliable = 0.0
        self._held = 0  # frames on which a guard kept an object's previous shape
        self._rng = np.random.default_rng(0)
        cv2.setRNGSeed(0)  # RANSAC and GrabCut draw from OpenCV's RNG: same run, same masks, whatever ran before

    def memory_stats(self) -> MemoryStats:
        """Anchor frames memorised (working); extra: fraction of flow-unreliable pixels in the last frame,
        and how many times a guard kept an object's previous shape this run."""
        return MemoryStats(working=self._anchors, long_term=0,
                           extra={"unreliable": round(self._unreliable, 4), "held": self._held})

    def step(self, frame: np.ndarray, mask: np.ndarray | None = None, *, end: bool = False) -> np.ndarray:
        """Segment ``frame`` (uint8 RGB (H, W, 3)); ``mask`` (uint8 index (H, W)) is a user anchor.

        Returns:
            float32 (K+1, H, W) probabilities, channel 0 = background, summing to 1.
        """
        shape = frame.shape[:2]
        small = self._working(frame)
        full = None
        if mask is not None:
            full = self._channels(mask)
            state = mask_to_shape(full, small.shape[:2])
            self._colour.update(small, state.astype(np.int64), rate=0.5)
            self._anchors += 1
            self._shape = shape
        elif self._state is None or self._prev is None:
            raise ValueError("the flow engine needs a mask on the first frame it sees")
        elif self._shape != shape:
            raise ValueError(f"frame size {shape} differs from the previous frame's {self._shape}")
        elif min(small.shape[:2]) < MIN_SIDE:
            state = self._state  # too small to measure motion in: keep the masks
        else:
            state = self._propagate(small)
        if not end:
            self._prev, self._state = small, state
        return self._probabilities(state if full is None else full, shape)

    def _working(self, frame: np.ndarray) -> np.ndarray:
        """``frame`` shrunk as the application shrinks frames, to ``work_size`` on its shorter side."""
        size = self.config.work_size
        return frame if size <= 0 else to_processing(frame, size)

    def _channels(self, mask: np.ndarray) -> np.ndarray:
        channel = np.zeros(256, dtype=np.uint8)  # label value -> channel; unknown labels are background
        for c, label in enumerate(self.labels, start=1):
            channel[label] = c
        return channel[mask]

    def _probabilities(self, state: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        """Soft one-hot of the label map at the frame's size: edges blurred by about a working pixel (so
        masks scaled up from the working size have smooth edges), argmax unchanged in the interior."""
        n = len(self.labels) + 1
        one_hot = (state[None] == np.arange(n, dtype=np.uint8)[:, None, None]).astype(np.float32)
        soft = np.stack([cv2.GaussianBlur(p, (0, 0), 0.7) for p in one_hot])
        probs = 0.5 * one_hot + 0.5 * soft
        if state.shape != shape:
            probs = np.stack([cv2.resize(p, shape[::-1], interpolation=cv2.INTER_LINEAR) for p in probs])
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
        if 1 - self._unreliable < cfg.min_reliable:  # a cut, a flash, heavy blur: no motion to follow
            self._held += 1
            return labels
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
        warped = cv2.remap(labels, flow.map_x, flow.map_y, cv2.INTER_NEAREST, borderMode=cv2.BORDER_REPLICATE)
        posterior = self._colour.posterior(frame)
        occluded = cfg.occluded_min + (cfg.occluded_max - cfg.occluded_min) * 2 * (1 - posterior)
        occluded[1:][~near_regions(warped, n, max(1, round(cfg.reach * short)))] = np.inf
        costs = np.minimum(label_costs(prev, frame, labels, candidates, n, occluded), cfg.max_cost)
        window = 2 * max(1, round(cfg.aggregate * short / 2)) + 1
        costs = np.stack([cv2.boxFilter(c, -1, (window, window)) for c in costs])
        state = cv2.medianBlur(np.argmin(costs, axis=0).astype(np.uint8), 5)
        if cfg.band > 0:
            state = self._snap(frame, state, posterior)
        state = connected_to(state, warped, n)
        return self._limit_growth(state, labels, warped, n)

    def _snap(self, frame: np.ndarray, state: np.ndarray, posterior: np.ndarray) -> np.ndarray:
        """GrabCut each object in a thin band around its edge; other objects are off limits. GrabCut may
        cut an object back anywhere in the band but extend it only where the anchors' colours say it is
        the object: its own colour models are fitted to the band it is given, so on look-alike background
        it would otherwise move the edge outwards a band's width every frame."""
        band = max(2, round(self.config.band * min(frame.shape[:2])))
        out = state.copy()
        for c in range(1, len(self.labels) + 1):
            mine = state == c
            region = grabcut_band(frame, mine.astype(np.float32), band, forbidden=~mine & (state != 0))
            if region is not None:
                out[mine & ~region] = 0
                out[region & (out == 0) & (posterior[c] > 0.5)] = c
        return out

    def _limit_growth(self, state: np.ndarray, prev: np.ndarray, warped: np.ndarray, n: int) -> np.ndarray:
        """An object that gained more than ``max_growth`` of its area in one frame is cut back to its
        previous region moved by the flow (what it gained outside goes to what the flow says is there)."""
        for k in range(1, n):
            mine, moved = state == k, warped == k
            allowed = max(np.count_nonzero(prev == k), np.count_nonzero(moved)) * (1 + self.config.max_growth)
            if np.count_nonzero(mine) > allowed + 4:
                self._held += 1
                state = np.where(mine & ~moved, warped, state)
        return state

