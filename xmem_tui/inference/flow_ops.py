"""Image operations behind the weight-free flow engine: flow, motion candidates, colour models, GrabCut.

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


def colour_codes(image: np.ndarray, bins: int) -> np.ndarray:
    """int32 (H, W) histogram bin of each pixel of a 3-channel uint8 image, ``bins`` levels per channel."""
    q = image.astype(np.int32) * bins // 256
    return (q[..., 0] * bins + q[..., 1]) * bins + q[..., 2]


class ColourModel:
    """Smoothed colour histograms of each label (background + objects) learnt from trusted frames.

    Gives P(label | colour) for pixels that optical flow cannot explain (disocclusions, fast motion).
    A running average keeps it following lighting changes without forgetting the annotated anchors.
    """

    def __init__(self, num_labels: int, bins: int = 16) -> None:
        self.bins = bins
        self.hist = np.zeros((num_labels, bins ** 3), dtype=np.float64)
        self.trained = False

    def update(self, image: np.ndarray, labels: np.ndarray, weight: np.ndarray | None = None,
               rate: float = 1.0) -> None:
        """Blend in the histograms of ``labels`` (int (H, W), -1 = ignore) with ``rate`` (1 = replace)."""
        codes = colour_codes(image, self.bins).ravel()
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
        codes = colour_codes(image, self.bins)
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


@dataclass
class Candidate:
    """One way the current frame could have come from the previous one.

    Attributes:
        map_x: float32 (H, W) source column in the previous frame of each current pixel.
        map_y: float32 (H, W) source row.
        owner: the label (channel) whose motion this is, or -1 for the dense flow that moves every label.
        bonus: cost subtracted where this candidate is used (the dense flow is preferred on ties).
    """

    map_x: np.ndarray
    map_y: np.ndarray
    owner: int = -1
    bonus: float = 0.0


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    return np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))


def affine_candidate(flow: FlowField, labels: np.ndarray, label: int, rng: np.random.Generator,
                     max_points: int = 3000) -> Candidate | None:
    """The affine motion that best explains the reliable flow inside ``label``'s region (RANSAC).

    Pixels near the region's edge are left out: that is where dense flow bleeds across motion boundaries,
    and where a single parametric motion per label is most useful.
    """
    h, w = labels.shape
    region = cv2.erode((labels == label).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    sy = np.clip(np.rint(flow.map_y).astype(np.int32), 0, h - 1)
    sx = np.clip(np.rint(flow.map_x).astype(np.int32), 0, w - 1)
    ys, xs = np.nonzero(region[sy, sx] & flow.reliable)
    if len(xs) < 10:
        return None
    pick = rng.choice(len(xs), min(max_points, len(xs)), replace=False)
    ys, xs = ys[pick], xs[pick]
    src = np.stack([xs, ys], axis=1).astype(np.float32)
    dst = np.stack([flow.map_x[ys, xs], flow.map_y[ys, xs]], axis=1)
    a, _ = cv2.estimateAffine2D(src, dst, ransacReprojThreshold=1.0)
    if a is None:
        return None
    xx, yy = _grid(h, w)
    return Candidate((a[0, 0] * xx + a[0, 1] * yy + a[0, 2]).astype(np.float32),
                     (a[1, 0] * xx + a[1, 1] * yy + a[1, 2]).astype(np.float32), owner=label)


def search_candidate(prev_gray: np.ndarray, gray: np.ndarray, labels: np.ndarray, label: int,
                     radius: int) -> Candidate | None:
    """Translation of ``label`` found by masked template matching within ``radius`` pixels.

    Optical flow locks onto the wrong period of fine repetitive textures (stripes, checks, fabric) when an
    object moves more than half a period per frame; matching the whole object, silhouette and shading
    included, does not.
    """
    ys, xs = np.nonzero(labels == label)
    if len(xs) < 20:
        return None
    h, w = labels.shape
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    template = prev_gray[y0:y1, x0:x1]
    weight = (labels[y0:y1, x0:x1] == label).astype(np.float32)
    sy0, sy1 = max(0, y0 - radius), min(h, y1 + radius)
    sx0, sx1 = max(0, x0 - radius), min(w, x1 + radius)
    area = gray[sy0:sy1, sx0:sx1]
    if area.shape[0] < template.shape[0] or area.shape[1] < template.shape[1]:
        return None
    score = cv2.matchTemplate(area, template, cv2.TM_SQDIFF, mask=weight)
    _, _, best, _ = cv2.minMaxLoc(score)
    dx, dy = sx0 + best[0] - x0, sy0 + best[1] - y0
    xx, yy = _grid(h, w)
    return Candidate(xx - np.float32(dx), yy - np.float32(dy), owner=label)


def label_costs(prev_rgb: np.ndarray, rgb: np.ndarray, prev_labels: np.ndarray, candidates: list[Candidate],
                num_labels: int, occluded_cost: np.ndarray, window: int = 5) -> np.ndarray:
    """Per label and pixel, how badly the best candidate motion of that label explains the current frame.

    Any candidate explains pixel x for label k when it maps x onto a pixel of label k in the previous frame;
    its cost is the local colour difference (after removing the global brightness change). A label's own
    motion that lands on another label means x was hidden in the previous frame (disocclusion); it costs
    ``occluded_cost[k]`` (from the colour models) instead, so an object coming out from behind another is
    recovered instead of being swallowed by the occluder.

    Returns:
        float32 (num_labels, H, W) costs.
    """
    prev = prev_rgb.astype(np.float32)
    cur = rgb.astype(np.float32)
    prev *= 128.0 / max(float(prev.mean()), 1.0)
    cur *= 128.0 / max(float(cur.mean()), 1.0)
    best = np.full((num_labels, *prev_labels.shape), np.inf, dtype=np.float32)
    for cand in candidates:
        src = cv2.remap(prev, cand.map_x, cand.map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        err = cv2.boxFilter(np.abs(src - cur).sum(axis=-1), -1, (window, window)) - cand.bonus
        src_labels = cv2.remap(prev_labels, cand.map_x, cand.map_y, cv2.INTER_NEAREST,
                               borderMode=cv2.BORDER_REPLICATE)
        for k in range(num_labels):
            cost = np.where(src_labels == k, err, occluded_cost[k] if cand.owner == k else np.inf)
            np.minimum(best[k], cost, out=best[k])
    return best


def near_regions(labels: np.ndarray, n: int, radius: int) -> np.ndarray:
    """bool (n-1, H, W): per object channel 1..n-1, the pixels within ``radius`` of its region."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return np.stack([cv2.dilate((labels == k).astype(np.uint8), kernel).astype(bool) for k in range(1, n)])


def connected_to(state: np.ndarray, warped: np.ndarray, n: int) -> np.ndarray:
    """Drop each object's pieces that do not touch where its previous region moved to (they are colour
    look-alikes elsewhere in the frame, not the object); they become what the flow says is there."""
    out = state.copy()
    for k in range(1, n):
        mine = (state == k).astype(np.uint8)
        count, parts = cv2.connectedComponents(mine)
        if count <= 2:
            continue
        keep = np.zeros(count, dtype=bool)
        keep[np.unique(parts[(warped == k) & (mine > 0)])] = True
        keep[0] = True
        drop = ~keep[parts]
        out[drop] = np.where(warped[drop] == k, 0, warped[drop])
    return out
