"""Image operations behind the weight-free flow engine: flow, warping, edge snapping, colour models, GrabCut.

Kept apart from :mod:`xmem_tui.inference.flow_engine` so each operation can be tested and tuned alone and the
engine reads as the algorithm it implements. Images are uint8 RGB (H, W, 3); probabilities float32.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class FlowField:
    """Backward flow of the current frame and which of its pixels it can be trusted for.

    Attributes:
        map_x: float32 (H, W): column in the previous frame that each current pixel came from.
        map_y: float32 (H, W): row in the previous frame.
        reliable: bool (H, W): forward-backward consistent (not occluded, not disoccluded).
    """

    map_x: np.ndarray
    map_y: np.ndarray
    reliable: np.ndarray


def make_dis() -> cv2.DISOpticalFlow:
    """DIS optical flow, medium preset: a good speed/quality balance on the CPU."""
    return cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)


def backward_flow(dis: cv2.DISOpticalFlow, prev_gray: np.ndarray, gray: np.ndarray,
                  alpha: float = 0.05, beta: float = 1.0) -> FlowField:
    """Where each pixel of ``gray`` was in ``prev_gray``, and whether that estimate is consistent.

    The consistency test (Sundaram et al. 2010) follows a pixel back with the backward flow and forward
    again with the forward flow; where the round trip misses by more than ``alpha`` times the motion plus
    ``beta`` pixels, the pixel is occluded or the flow is wrong there.
    """
    back = dis.calc(gray, prev_gray, None)
    fwd = dis.calc(prev_gray, gray, None)
    h, w = gray.shape
    xx, yy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    map_x, map_y = xx + back[..., 0], yy + back[..., 1]
    fwd_at = cv2.remap(fwd, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    err = np.sum((back + fwd_at) ** 2, axis=-1)
    bound = alpha * (np.sum(back ** 2, axis=-1) + np.sum(fwd_at ** 2, axis=-1)) + beta
    inside = (map_x >= 0) & (map_x <= w - 1) & (map_y >= 0) & (map_y <= h - 1)
    return FlowField(map_x, map_y, (err <= bound) & inside)


def warp(probs: np.ndarray, field: FlowField) -> np.ndarray:
    """Warp (C, H, W) float32 maps of the previous frame onto the current one (bilinear)."""
    return np.stack([cv2.remap(p, field.map_x, field.map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
                     for p in probs])


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """Edge-preserving smoothing of ``src`` (float32 (H, W)) along the edges of ``guide`` (He et al. 2010).

    Snaps a blurry warped mask to the object's actual edges in the current frame. ``guide`` is float32
    (H, W, 3) in [0, 1]; the colour version separates objects whose grey levels are alike.
    """
    size = (2 * radius + 1, 2 * radius + 1)

    def box(x: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(x, -1, size, borderType=cv2.BORDER_REFLECT)

    mean_i = box(guide)
    mean_p = box(src)
    cov_ip = box(guide * src[..., None]) - mean_i * mean_p[..., None]
    var = np.empty((*src.shape, 3, 3), dtype=np.float32)
    for a in range(3):
        for b in range(a, 3):
            v = box(guide[..., a] * guide[..., b]) - mean_i[..., a] * mean_i[..., b]
            var[..., a, b] = var[..., b, a] = v
    var += eps * np.eye(3, dtype=np.float32)
    coef = np.linalg.solve(var, cov_ip[..., None])[..., 0]
    offset = mean_p - np.sum(coef * mean_i, axis=-1)
    return np.sum(box(coef) * guide, axis=-1) + box(offset)


class ColourModel:
    """Smoothed colour histograms of each label (background + objects) learnt from trusted frames.

    Gives P(label | colour) for pixels that optical flow cannot explain (disocclusions, fast motion).
    A running average keeps it following lighting changes without forgetting the annotated anchors.
    """

    def __init__(self, num_labels: int, bins: int = 16) -> None:
        self.bins = bins
        self.hist = np.zeros((num_labels, bins ** 3), dtype=np.float64)
        self.trained = False

    def _codes(self, image: np.ndarray) -> np.ndarray:
        q = (image.astype(np.int32) * self.bins) // 256
        return (q[..., 0] * self.bins + q[..., 1]) * self.bins + q[..., 2]

    def update(self, image: np.ndarray, labels: np.ndarray, weight: np.ndarray | None = None,
               rate: float = 1.0) -> None:
        """Blend in the histograms of ``labels`` (int (H, W), -1 = ignore) with ``rate`` (1 = replace)."""
        codes = self._codes(image).ravel()
        lab = labels.ravel()
        w = np.ones_like(codes, dtype=np.float64) if weight is None else weight.ravel().astype(np.float64)
        for k in range(self.hist.shape[0]):
            sel = lab == k
            if not sel.any():
                continue
            h = np.bincount(codes[sel], weights=w[sel], minlength=self.bins ** 3)
            h = h / max(h.sum(), 1e-9)
            self.hist[k] = h if not self.trained else (1 - rate) * self.hist[k] + rate * h
        self.trained = True

    def posterior(self, image: np.ndarray) -> np.ndarray:
        """float32 (num_labels, H, W) P(label | colour) with equal priors and a little smoothing."""
        codes = self._codes(image)
        lik = self.hist[:, codes] + 1e-4
        return (lik / lik.sum(axis=0, keepdims=True)).astype(np.float32)


def grabcut_band(image: np.ndarray, prob: np.ndarray, band: int, iterations: int = 2,
                 forbidden: np.ndarray | None = None) -> np.ndarray | None:
    """Re-segment one object with GrabCut inside a band of ``band`` pixels around its current edge.

    Pixels deeper than ``band`` inside the mask are certain foreground, farther outside certain
    background, so GrabCut can only move the edge (it cannot drift to another region), but it moves it to
    where the colours say it is. Works on the object's bounding box only, for speed.

    Args:
        image: uint8 RGB (H, W, 3).
        prob: float32 (H, W) current probability of the object.
        band: half-width of the uncertain band in pixels.
        iterations: GrabCut iterations.
        forbidden: optional bool (H, W) of pixels known to belong to something else (certain background).

    Returns:
        bool (H, W) new object region, or None if the object is too small or GrabCut cannot run.
    """
    fg = prob > 0.5
    if fg.sum() < 16:
        return None
    h, w = fg.shape
    ys, xs = np.nonzero(fg)
    pad = 2 * band + 2
    y0, y1 = max(0, ys.min() - pad), min(h, ys.max() + pad + 1)
    x0, x1 = max(0, xs.min() - pad), min(w, xs.max() + pad + 1)
    fg_roi = fg[y0:y1, x0:x1].astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band + 1, 2 * band + 1))
    sure_fg = cv2.erode(fg_roi, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0).astype(bool)
    maybe = cv2.dilate(fg_roi, kernel).astype(bool)
    gc = np.full(fg_roi.shape, cv2.GC_BGD, dtype=np.uint8)
    gc[maybe] = cv2.GC_PR_BGD
    gc[fg_roi.astype(bool)] = cv2.GC_PR_FGD
    gc[sure_fg] = cv2.GC_FGD
    if forbidden is not None:
        gc[forbidden[y0:y1, x0:x1] & ~sure_fg] = cv2.GC_BGD
    if not ((gc == cv2.GC_BGD) | (gc == cv2.GC_PR_BGD)).any() or not (gc == cv2.GC_FGD).any():
        return None
    bgr = cv2.cvtColor(np.ascontiguousarray(image[y0:y1, x0:x1]), cv2.COLOR_RGB2BGR)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    try:
        cv2.grabCut(bgr, gc, None, bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK)
    except cv2.error:
        return None
    out = np.zeros((h, w), dtype=bool)
    out[y0:y1, x0:x1] = (gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD)
    return out
