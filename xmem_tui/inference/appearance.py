"""How well the colours of an annotated frame still explain each object's mask: a propagation's error level.

A mask that slides onto the background, spills over a look-alike region or loses parts of its object
rarely shows a jump between two frames; the error grows slowly and then stays. What does show is that
the colours under and around the mask stop matching the object the user annotated. From the annotated
frame (image and index mask) a colour model gives every colour a probability of being the object rather
than anything else; on a later frame that probability map, restricted to a margin around the object's
mask (``REACH``), is a second opinion of where the object is. The soft IoU of the mask with it is the
*agreement*: about the same as on the annotated frame itself while the mask is right, lower as the mask
covers background or misses the object. ``bench/davis.py`` measures how well it ranks the worst frames.

One colour quantisation cuts an object's colours at arbitrary bin edges, which makes the per-frame value
noisy; the probability is averaged over four colour spaces (RGB, YCrCb, Lab, HSV), whose bins cut
differently. Everything runs on a copy of the frame with ``SIDE`` pixels on its shorter side: about 2 ms
per frame and object, whatever the processing size.
"""

from __future__ import annotations

import cv2
import numpy as np

from xmem_tui.inference.flow_ops import colour_codes

#: Shorter side of the image the agreement is measured on.
SIDE = 120
#: Histogram bins per colour channel.
BINS = 16
#: How far outside the mask the colour model may find the object (fraction of the shorter side).
REACH = 0.1
#: The colour spaces whose probabilities are averaged (None: RGB as given).
_SPACES = (None, cv2.COLOR_RGB2YCrCb, cv2.COLOR_RGB2LAB, cv2.COLOR_RGB2HSV_FULL)
#: Smallest object (pixels at ``SIDE``) whose colours make a model; smaller ones are not measured.
_MIN_PIXELS = 16


class ColourAgreement:
    """Colour models of the objects of one annotated frame, and the agreement of later masks with them.

    Args:
        image: uint8 RGB (H, W, 3) of the annotated frame.
        index: uint8 (H, W) index mask of that frame.
        labels: the objects to model (an object absent from ``index`` gets no model).
    """

    def __init__(self, image: np.ndarray, index: np.ndarray, labels: list[int]) -> None:
        codes, small = _prepare(image, index)
        self._posteriors: dict[int, list[np.ndarray]] = {}
        for k in labels:
            inside = small == k
            if np.count_nonzero(inside) >= _MIN_PIXELS and not inside.all():
                self._posteriors[k] = [_posterior(c[inside], c[~inside]) for c in codes]
        #: Agreement of the annotated frame's own mask with its model: what "right" looks like.
        self.reference: dict[int, float] = self._measure(codes, small)

    def _measure(self, codes: list[np.ndarray], small: np.ndarray) -> dict[int, float]:
        out: dict[int, float] = {}
        reach = max(1, round(REACH * min(small.shape)))
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1))
        for k, posteriors in self._posteriors.items():
            mask = small == k
            if not mask.any():
                continue
            near = cv2.dilate(mask.view(np.uint8), kernel) > 0
            prob = np.zeros(mask.shape, dtype=np.float32)
            for post, c in zip(posteriors, codes, strict=True):
                prob[near] += post[c[near]]
            prob /= len(codes)
            union = np.maximum(prob, mask).sum()
            out[k] = float(np.minimum(prob, mask).sum() / union)
        return out

    def agreement(self, image: np.ndarray, index: np.ndarray) -> dict[int, float]:
        """Per object with a model and a non-empty mask: soft IoU of its mask with where its colours are."""
        return self._measure(*_prepare(image, index))


def _prepare(image: np.ndarray, index: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Image and mask at ``SIDE`` (never enlarged): the image as colour codes in each space, the mask as labels."""
    h, w = index.shape
    scale = min(1.0, SIDE / min(h, w))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    small = cv2.resize(index, size, interpolation=cv2.INTER_NEAREST)
    codes = [colour_codes(image if space is None else cv2.cvtColor(image, space), BINS) for space in _SPACES]
    return codes, small


def _posterior(inside: np.ndarray, outside: np.ndarray) -> np.ndarray:
    """P(object | colour) per colour code with equal priors (an unseen colour is 0.5: no evidence)."""
    fg = np.bincount(inside, minlength=BINS ** 3) / max(inside.size, 1)
    bg = np.bincount(outside, minlength=BINS ** 3) / max(outside.size, 1)
    return ((fg + 1e-6) / (fg + bg + 2e-6)).astype(np.float32)
