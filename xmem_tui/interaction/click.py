"""Click-to-mask interaction with f-BRS (f-BRS-B), reproducing the predictor configured by XMem's demo.

Per click, the official pipeline is: zoom into the object (from the second click on), limit the longest side,
batch the image with its mirror, compute the features up to the f-BRS-B insertion point once, then let
L-BFGS tune a per-channel scale and bias of those features so that the clicked pixels get the right label,
warm-started from the previous click's optimum. The prediction returned is the best evaluation seen (not the
optimiser's last point); the two flip halves are averaged as logits, then the sigmoid, then everything is
mapped back to the image.

Two corner cases follow what the official code evidently means rather than what it does: when the previous
mask is empty the zoom is skipped for the prediction *and* its inverse (officially a zoom ROI left from an
earlier click could still be applied to the un-zoomed prediction), and the longest-side limit applies to
the current input only (officially a limit set on an earlier, un-zoomed click is re-applied to zoomed
predictions, resampling them twice). Neither happens in the golden session.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from scipy.optimize import fmin_l_bfgs_b
from torch import Tensor

from xmem_tui.inference.xmem_engine import image_to_tensor
from xmem_tui.interaction.dist_maps import Click, click_maps, click_squares, layout_points
from xmem_tui.model.fbrs import FBRSNet

logger = logging.getLogger(__name__)

Roi = tuple[int, int, int, int]  # rmin, rmax, cmin, cmax (inclusive)


@dataclass
class ClickStats:
    """What the optimiser did for the last click (for tests, logs and benchmarks)."""

    n_evals: int = 0
    f_values: list[float] = field(default_factory=list)
    x0: np.ndarray | None = None
    first_grad: np.ndarray | None = None
    roi: Roi | None = None


def resize(x: Tensor, size: tuple[int, int]) -> Tensor:
    """Bilinear resize with aligned corners, the f-BRS convention everywhere."""
    return F.interpolate(x, size=size, mode="bilinear", align_corners=True)


def object_roi(mask: np.ndarray, clicks: list[Click], expansion: float, min_size: int) -> Roi:
    """Bounding box of ``mask`` plus the positive clicks, grown ``expansion``x (>= ``min_size``), clamped."""
    mask = mask.copy()
    for click in clicks:
        if click.positive:
            mask[int(click.row), int(click.col)] = True
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    rmin, rmax, cmin, cmax = int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])
    rc, cc = 0.5 * (rmin + rmax), 0.5 * (cmin + cmax)
    h = max(expansion * (rmax - rmin + 1), min_size)
    w = max(expansion * (cmax - cmin + 1), min_size)
    # Python's round (half to even) like the official code.
    roi = (round(rc - 0.5 * h), round(rc + 0.5 * h), round(cc - 0.5 * w), round(cc + 0.5 * w))
    height, width = mask.shape
    return max(0, roi[0]), min(height - 1, roi[1]), max(0, roi[2]), min(width - 1, roi[3])


def _segment_iou(a: tuple[int, int], b: tuple[int, int]) -> float:
    inter = max(0, min(a[1], b[1]) - max(a[0], b[0]) + 1)
    return inter / max(1e-6, max(a[1], b[1]) - min(a[0], b[0]) + 1)


def roi_iou(a: Roi, b: Roi) -> float:
    """IoU of two inclusive boxes (the zoom keeps its ROI while the new one overlaps it by >= 0.5)."""
    return _segment_iou(a[:2], b[:2]) * _segment_iou(a[2:], b[2:])


def roi_holds_clicks(roi: Roi, clicks: list[Click]) -> bool:
    """Official test (upper bounds exclusive) of whether the positive clicks lie inside ``roi``."""
    return all(roi[0] <= c.row < roi[1] and roi[2] <= c.col < roi[3] for c in clicks if c.positive)


def crop_resize(image: Tensor, roi: Roi, target: int) -> Tensor:
    """Crop ``roi`` and resize it so its longer side is ``target``."""
    rmin, rmax, cmin, cmax = roi
    h, w = rmax - rmin + 1, cmax - cmin + 1
    scale = target / max(h, w)
    return resize(image[:, :, rmin:rmax + 1, cmin:cmax + 1], (round(h * scale), round(w * scale)))


def map_clicks(clicks: list[Click], roi: Roi, crop_shape: tuple[int, int]) -> list[Click]:
    """Image coordinates -> coordinates in the resized ROI crop (fractional, rounded later by the users)."""
    rmin, rmax, cmin, cmax = roi
    ch, cw = crop_shape
    return [Click(ch * (c.row - rmin) / (rmax - rmin + 1), cw * (c.col - cmin) / (cmax - cmin + 1), c.positive)
            for c in clicks]


class _Objective:
    """f-BRS-B objective for scipy: click-pixel loss over both flip halves + L2 on the scales and biases.

    Keeps the logits of the best evaluation, and returns a zero gradient (which stops L-BFGS) once every
    clicked pixel is on the right side of the threshold or the mask stopped changing (IoU with the previous
    evaluation's mask > 1 - ``min_iou_diff``).
    """

    def __init__(self, predict: Callable[[Tensor, Tensor], Tensor], pos: Tensor, neg: Tensor, thresh: float,
                 min_iou_diff: float, reg_weight: float = 1e-3, bias_reg_weight: float = 10.0) -> None:
        self.predict, self.pos, self.neg = predict, pos, neg
        self.thresh, self.min_iou_diff = thresh, min_iou_diff
        self.reg_weight, self.bias_reg_weight = reg_weight, bias_reg_weight
        self.best_logits: Tensor | None = None
        self.best_f = float("inf")
        self.last_mask: Tensor | None = None
        self.stats = ClickStats()

    def __call__(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        params = torch.from_numpy(x).float().to(self.pos.device).requires_grad_(True)
        with torch.enable_grad():
            scale, bias = params.chunk(2)
            reg = self.reg_weight * (torch.sum(scale ** 2) + self.bias_reg_weight * torch.sum(bias ** 2))
            logits = self.predict(1 + scale, bias)
            prob = torch.sigmoid(logits)
            pos_diff, neg_diff = (1 - prob) * self.pos, prob * self.neg
            loss = (torch.sum(pos_diff ** 2) / (torch.sum(self.pos) + 1e-5)
                    + torch.sum(neg_diff ** 2) / (torch.sum(self.neg) + 1e-5)) + reg
        f = float(loss.detach())
        self.stats.n_evals += 1
        self.stats.f_values.append(f)
        if self.best_logits is None or f < self.best_f:
            self.best_logits, self.best_f = logits.detach(), f
        grad = self._gradient(loss, params, prob.detach(), pos_diff.detach(), neg_diff.detach())
        if self.stats.first_grad is None:
            self.stats.first_grad = grad.astype(np.float32)
        return f, grad

    def _gradient(self, loss: Tensor, params: Tensor, prob: Tensor, pos_diff: Tensor, neg_diff: Tensor,
                  ) -> np.ndarray:
        zero = np.zeros(params.shape, dtype=np.float64)
        if pos_diff.abs().max() < 1 - self.thresh and neg_diff.abs().max() < self.thresh:
            return zero
        mask = prob > self.thresh
        if self.last_mask is not None and self.min_iou_diff > 0:
            dims = tuple(range(1, mask.dim()))
            union = (mask | self.last_mask).float().mean(dim=dims).cpu().numpy()
            inter = (mask & self.last_mask).float().mean(dim=dims).cpu().numpy()
            iou = inter[union > 0] / union[union > 0]
            if len(iou) > 0 and iou.mean() > 1 - self.min_iou_diff:
                return zero
        self.last_mask = mask
        loss.backward()
        assert params.grad is not None
        return params.grad.cpu().numpy().ravel().astype(np.float64)


class FBRSController:
    """Official f-BRS-B click session on one image; defaults are those of XMem's demo."""

    def __init__(self, net: FBRSNet, device: torch.device | str = "cpu", *, zoom_target: int = 480,
                 zoom_expansion: float = 1.4, zoom_min_crop: int = 200, zoom_skip_clicks: int = 1,
                 zoom_recompute_iou: float = 0.5, max_size: int = 800, net_clicks_limit: int = 8,
                 prob_thresh: float = 0.5, min_iou_diff: float = 1e-3, max_fun: int = 20) -> None:
        self.net = net.to(device).eval()
        self.device = torch.device(device)
        self.zoom_target, self.zoom_expansion, self.zoom_min_crop = zoom_target, zoom_expansion, zoom_min_crop
        self.zoom_skip_clicks, self.zoom_recompute_iou = zoom_skip_clicks, zoom_recompute_iou
        self.max_size, self.net_clicks_limit, self.prob_thresh = max_size, net_clicks_limit, prob_thresh
        self.min_iou_diff, self.max_fun = min_iou_diff, max_fun
        self.anchored = False
        self.image: Tensor | None = None
        self.reset()

    def reset(self) -> None:
        """Forget clicks, zoom and optimiser state (keeps the image)."""
        self.clicks: list[Click] = []
        self.probability: Tensor | None = None  # latest (H, W) probability map
        self.stats = ClickStats()
        self._roi: Roi | None = None
        self._roi_image: Tensor | None = None
        self._opt_data: np.ndarray | None = None
        self._features: Tensor | None = None

    def set_image(self, image: Tensor) -> None:
        """Start a session on a normalised float32 (3, H, W) or (1, 3, H, W) image."""
        self.image = image.to(self.device).reshape(1, 3, *image.shape[-2:])
        self.reset()
        self.anchored = True

    def unanchor(self) -> None:
        """Make the next :meth:`interact` start a new session (as the demo does on a frame change)."""
        self.anchored = False

    def interact(self, image: Tensor, x: int, y: int, is_positive: bool) -> Tensor:
        """Demo entry point: the first call after (un)anchoring sets the image; returns the (H, W) 0/1 mask."""
        if not self.anchored:
            self.set_image(image)
        return (self.add_click(x, y, is_positive) > self.prob_thresh).float()

    def add_click(self, x: float, y: float, positive: bool) -> Tensor:
        """Add a click at column ``x``, row ``y``; returns the new (H, W) probability map."""
        if self.image is None:
            raise RuntimeError("set_image() must be called before add_click()")
        height, width = self.image.shape[-2:]
        if not (0 <= x < width and 0 <= y < height):
            raise ValueError(f"click ({x}, {y}) is outside the {width}x{height} image")
        self.clicks.append(Click(float(y), float(x), bool(positive)))
        with torch.no_grad():
            self.probability = self._predict()
        return self.probability

    def _zoom(self) -> tuple[Tensor, list[Click], bool, Roi | None]:
        """Zoom-in transform: (image, clicks, image changed, ROI used) for the current clicks."""
        assert self.image is not None
        if len(self.clicks) <= self.zoom_skip_clicks or self.probability is None:
            return self.image, self.clicks, False, None
        mask = (self.probability > self.prob_thresh).cpu().numpy()
        if not mask.any():
            return self.image, self.clicks, False, None
        current = object_roi(mask, self.clicks, self.zoom_expansion, self.zoom_min_crop)
        changed = (self._roi is None or not roi_holds_clicks(self._roi, self.clicks)
                   or roi_iou(current, self._roi) < self.zoom_recompute_iou)
        if changed:
            self._roi = current
            self._roi_image = crop_resize(self.image, current, self.zoom_target)
        assert self._roi is not None and self._roi_image is not None
        return self._roi_image, map_clicks(self.clicks, self._roi, self._roi_image.shape[-2:]), changed, self._roi

    def _predict(self) -> Tensor:
        assert self.image is not None
        full_h, full_w = self.image.shape[-2:]
        image, clicks, changed, roi = self._zoom()
        limit_shape = None
        if max(image.shape[-2:]) > self.max_size:
            limit_shape = tuple(image.shape[-2:])
            whole = (0, limit_shape[0] - 1, 0, limit_shape[1] - 1)
            image = crop_resize(image, whole, self.max_size)
            clicks, changed = map_clicks(clicks, whole, image.shape[-2:]), True
        h, w = image.shape[-2:]
        click_lists = [clicks, [Click(c.row, w - c.col - 1, c.positive) for c in clicks]]
        if len(self.clicks) <= self.net_clicks_limit or changed or self._features is None:
            points = layout_points(click_lists, self.net_clicks_limit)
            maps = click_maps(points, h, w).to(self.device)
            self._features = self.net.features(torch.cat([image, image.flip(-1)]), maps)
        pos, neg = (m.to(self.device) for m in click_squares(click_lists, h, w))
        n = self.net.feature_channels
        if self._opt_data is None:
            self._opt_data = np.zeros(2 * n, dtype=np.float32)
        features = self._features

        def predict(scale: Tensor, bias: Tensor) -> Tensor:
            scaled = features * scale.view(1, n, 1, 1) + bias.view(1, n, 1, 1)
            return self.net.logits_from_features(scaled, (h, w))

        objective = _Objective(predict, pos, neg, self.prob_thresh, self.min_iou_diff)
        objective.stats.roi = roi
        if len(self.clicks) > 1:
            objective.stats.x0 = np.asarray(self._opt_data, dtype=np.float32).copy()
            result = fmin_l_bfgs_b(objective, x0=self._opt_data, m=20, factr=0, pgtol=1e-8, maxfun=self.max_fun,
                                   maxiter=2 * self.max_fun)
            self._opt_data = result[0]
        logits = objective.best_logits
        if logits is None:
            vector = torch.from_numpy(np.asarray(self._opt_data, dtype=np.float32)).to(self.device)
            logits = predict(1 + vector[:n], vector[n:])
        self.stats = objective.stats
        logger.debug("f-BRS click %d: %d evaluations, roi %s", len(self.clicks), self.stats.n_evals, roi)
        prob = torch.sigmoid(0.5 * (logits[:1] + logits[1:].flip(-1)))
        if limit_shape is not None:
            prob = resize(prob, limit_shape)
        if roi is not None:
            rmin, rmax, cmin, cmax = roi
            placed = torch.zeros((1, 1, full_h, full_w), dtype=prob.dtype, device=prob.device)
            placed[:, :, rmin:rmax + 1, cmin:cmax + 1] = resize(prob, (rmax - rmin + 1, cmax - cmin + 1))
            prob = placed
        return prob[0, 0]

    @property
    def opt_data(self) -> np.ndarray | None:
        """The current scale/bias vector (scales first), the warm start of the next click."""
        return self._opt_data


class FBRSClickSegmenter:
    """:class:`~xmem_tui.interaction.base.ClickSegmenter` backed by f-BRS weights."""

    name = "f-BRS"
    weight_free = False

    def __init__(self, net: FBRSNet, device: torch.device | str = "cpu") -> None:
        self.controller = FBRSController(net, device)

    def set_image(self, image: np.ndarray) -> None:
        self.controller.set_image(image_to_tensor(image, self.controller.device))

    def add_click(self, x: int, y: int, positive: bool) -> np.ndarray:
        return self.controller.add_click(x, y, positive).cpu().numpy().astype(np.float32)

    def reset(self) -> None:
        self.controller.reset()
