"""Weight-free interactive segmenters built on OpenCV GrabCut, used when f-BRS / S2M checkpoints are absent.

GrabCut (Rother et al. 2004) fits colour mixtures to seeds and cuts along colour edges, which is what
clicks and scribbles provide: a positive click seeds the object with a disc, a negative click seeds the
background, scribbles seed each object against the others. Both segmenters limit GrabCut to a region near
the seeds (and the previous mask), so a colour that also appears far away is not swallowed, and return
probabilities with slightly soft edges like the networks they stand in for.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import cv2
import numpy as np

from xmem_tui.interaction.base import NO_SCRIBBLE

NAME = "GrabCut (weight-free)"
_MAX_PIXELS = 90_000  # GrabCut runs on at most this many pixels (the region is shrunk, then upsampled)


def _run_grabcut(image: np.ndarray, seeds: np.ndarray, iterations: int) -> np.ndarray:
    """GrabCut on the bounding box of the uncertain/foreground seeds; returns bool (H, W) foreground."""
    h, w = seeds.shape
    active = (seeds == cv2.GC_FGD) | (seeds == cv2.GC_PR_FGD) | (seeds == cv2.GC_PR_BGD)
    out = np.zeros((h, w), dtype=bool)
    if not ((seeds == cv2.GC_FGD) | (seeds == cv2.GC_PR_FGD)).any():
        return out
    ys, xs = np.nonzero(active)
    y0, y1 = max(0, ys.min() - 8), min(h, ys.max() + 9)
    x0, x1 = max(0, xs.min() - 8), min(w, xs.max() + 9)
    gc = np.ascontiguousarray(seeds[y0:y1, x0:x1])
    roi_h, roi_w = gc.shape
    scale = min(1.0, (_MAX_PIXELS / (roi_h * roi_w)) ** 0.5)  # GrabCut is O(pixels): cap the work
    rgb = np.ascontiguousarray(image[y0:y1, x0:x1])
    if scale < 1.0:
        size = (max(1, round(roi_w * scale)), max(1, round(roi_h * scale)))
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        gc = cv2.resize(gc, size, interpolation=cv2.INTER_NEAREST)
    if ((gc == cv2.GC_BGD) | (gc == cv2.GC_PR_BGD)).any():
        bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
        bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
        with contextlib.suppress(cv2.error):  # degenerate seeds (too few distinct colours): keep the seeds
            cv2.grabCut(bgr, gc, None, bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK)
    fg = ((gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD)).astype(np.uint8)
    if scale < 1.0:
        fg = cv2.resize(fg, (roi_w, roi_h), interpolation=cv2.INTER_NEAREST)
    out[y0:y1, x0:x1] = fg.astype(bool)
    sure = seeds == cv2.GC_FGD
    out[sure] = True
    out[seeds == cv2.GC_BGD] = False
    return out


def _soften(region: np.ndarray, sigma: float) -> np.ndarray:
    """float32 probabilities from a bool region with edges blurred over about ``sigma`` pixels."""
    prob = region.astype(np.float32)
    if sigma > 0:
        prob = cv2.GaussianBlur(prob, (0, 0), sigma)
    return prob


def _keep_connected(region: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """Only the connected components of ``region`` that touch ``anchors`` (seeds the user placed)."""
    count, comp = cv2.connectedComponents(region.astype(np.uint8), connectivity=8)
    if count <= 1:
        return region
    keep = np.unique(comp[anchors & region])
    keep = keep[keep > 0]
    return np.isin(comp, keep)


def _touched(region: np.ndarray, marks: np.ndarray) -> np.ndarray:
    """The connected components of ``region`` that contain at least one ``marks`` pixel."""
    if not (region & marks).any():
        return np.zeros_like(region)
    return _keep_connected(region, marks)


@dataclass
class _Click:
    x: int
    y: int
    positive: bool


class GrabCutClickSegmenter:
    """:class:`~xmem_tui.interaction.base.ClickSegmenter` with GrabCut instead of f-BRS.

    Args:
        disc: seed disc radius as a fraction of the image's shorter side.
        reach: how far from the positive clicks the object may extend at first, as a fraction of the shorter
            side; once a mask exists, the search region grows around the mask instead.
        iterations: GrabCut iterations per click.
    """

    name = NAME
    weight_free = True

    def __init__(self, disc: float = 0.015, reach: float = 0.3, iterations: int = 4) -> None:
        self.disc, self.reach, self.iterations = disc, reach, iterations
        self._image: np.ndarray | None = None
        self._clicks: list[_Click] = []
        self._prob: np.ndarray | None = None

    def set_image(self, image: np.ndarray) -> None:
        """Start a session on ``image`` (uint8 RGB (H, W, 3))."""
        self._image = np.ascontiguousarray(image)
        self.reset()

    def reset(self) -> None:
        """Forget all clicks (keeps the image)."""
        self._clicks = []
        self._prob = None

    def add_click(self, x: int, y: int, positive: bool) -> np.ndarray:
        """Add a click at column ``x``, row ``y``; return float32 (H, W) object probabilities."""
        if self._image is None:
            raise RuntimeError("set_image must be called before add_click")
        h, w = self._image.shape[:2]
        self._clicks.append(_Click(int(np.clip(x, 0, w - 1)), int(np.clip(y, 0, h - 1)), positive))
        self._prob = self._segment()
        return self._prob

    def _segment(self) -> np.ndarray:
        assert self._image is not None
        h, w = self._image.shape[:2]
        short = min(h, w)
        positives = [c for c in self._clicks if c.positive]
        if not positives:
            return np.zeros((h, w), dtype=np.float32)
        disc = max(2, round(self.disc * short))
        reach = max(8, round(self.reach * short))
        region = np.zeros((h, w), dtype=np.uint8)
        for c in positives:
            cv2.circle(region, (c.x, c.y), reach, 1, -1)
        seeds = np.where(region > 0, cv2.GC_PR_BGD, cv2.GC_BGD).astype(np.uint8)
        if self._prob is not None:
            seeds[(self._prob > 0.5) & (region > 0)] = cv2.GC_PR_FGD
        fg_seed = np.zeros((h, w), dtype=np.uint8)
        for c in positives:
            cv2.circle(seeds, (c.x, c.y), max(2 * disc, reach // 2), cv2.GC_PR_FGD, -1)
        for c in self._clicks:  # later clicks win where discs overlap
            cv2.circle(seeds, (c.x, c.y), disc, cv2.GC_FGD if c.positive else cv2.GC_BGD, -1)
            if c.positive:
                cv2.circle(fg_seed, (c.x, c.y), disc, 1, -1)
        fg = _run_grabcut(self._image, seeds, self.iterations)
        fg = _keep_connected(fg, fg_seed.astype(bool))
        return _soften(fg, sigma=max(0.5, short / 480))


class GrabCutScribbleSegmenter:
    """:class:`~xmem_tui.interaction.base.ScribbleSegmenter` with GrabCut instead of S2M.

    Each object is re-cut on its own: its scribbles are certain foreground, background scribbles and other
    objects' scribbles certain background, its previous mask probable foreground and a band around mask and
    scribbles probable background. Objects no scribble touches keep their previous mask.

    Args:
        band: how far beyond its previous mask and scribbles an object may grow, as a fraction of the
            shorter side.
        iterations: GrabCut iterations per object.
    """

    name = NAME
    weight_free = True

    def __init__(self, band: float = 0.25, iterations: int = 4) -> None:
        self.band, self.iterations = band, iterations

    def interact(self, image: np.ndarray, prev_mask: np.ndarray, scribbles: np.ndarray,
                 num_objects: int) -> np.ndarray:
        """Return float32 (K, H, W) probabilities of each object after the scribbles (see the protocol)."""
        h, w = prev_mask.shape
        short = min(h, w)
        band = max(3, round(self.band * short))
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band + 1, 2 * band + 1))
        sigma = max(0.5, short / 480)
        scribbled = scribbles != NO_SCRIBBLE
        out = np.zeros((num_objects, h, w), dtype=np.float32)
        for k in range(1, num_objects + 1):
            own = scribbles == k
            against = scribbled & ~own
            prev = prev_mask == k
            if not own.any() and not (against & prev).any():
                out[k - 1] = prev.astype(np.float32)  # untouched by this interaction
                continue
            trusted = prev & ~_touched(prev, against)  # a part scribbled "not this object" is only a guess
            near = cv2.dilate((prev | own).astype(np.uint8), kernel) > 0
            seeds = np.where(near, cv2.GC_PR_BGD, cv2.GC_BGD).astype(np.uint8)
            seeds[trusted] = cv2.GC_PR_FGD
            seeds[against] = cv2.GC_BGD
            seeds[own] = cv2.GC_FGD
            fg = _run_grabcut(image, seeds, self.iterations)
            fg = _keep_connected(fg, own | (trusted & fg))
            prob = _soften(fg, sigma)
            prob[own] = 1.0
            prob[against] = 0.0
            out[k - 1] = prob
        return out
