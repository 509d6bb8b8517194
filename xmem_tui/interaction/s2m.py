"""Scribble-to-mask interaction with the S2M network, reproducing XMem's demo.

Each object is refined on its own (batch 1, like the official controller): the network sees the normalised
image, the object's current mask, its positive scribbles (pixels scribbled with its label) and its negative
scribbles (background scribbles *and* other objects' scribbles). The GUI then combines the per-object
probabilities with a "hard" soft-aggregation (logits x 1000) and takes the argmax as the new index mask.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from xmem_tui.interaction.base import NO_SCRIBBLE
from xmem_tui.model.s2m import S2M

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: Factor applied to the aggregated logits by the GUI after an S2M interaction.
HARD_AGGREGATION_FACTOR = 1000.0


def normalize_image(image: np.ndarray, device: torch.device | str = "cpu") -> Tensor:
    """uint8 RGB (H, W, 3) -> float32 (3, H, W): /255 then ImageNet mean/std, as the demo's ``image_to_torch``."""
    x = torch.from_numpy(np.ascontiguousarray(image)).to(device).permute(2, 0, 1).float() / 255
    mean = torch.tensor(IMAGENET_MEAN, dtype=torch.float32, device=x.device).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=torch.float32, device=x.device).view(3, 1, 1)
    return (x - mean) / std


def pad_to_multiple(x: Tensor, multiple: int = 16) -> tuple[Tensor, tuple[int, int, int, int]]:
    """Zero-pad the last two dims up to a multiple, the smaller half first; returns (padded, (l, r, t, b))."""
    h, w = x.shape[-2:]
    dh, dw = -h % multiple, -w % multiple
    pads = (dw // 2, dw - dw // 2, dh // 2, dh - dh // 2)
    return F.pad(x, pads), pads


def unpad(x: Tensor, pads: tuple[int, int, int, int]) -> Tensor:
    """Crop what :func:`pad_to_multiple` added."""
    left, right, top, bottom = pads
    h, w = x.shape[-2:]
    return x[..., top:h - bottom, left:w - right]


def aggregate_hard(probs: Tensor, factor: float = HARD_AGGREGATION_FACTOR) -> Tensor:
    """The GUI's aggregation of S2M output: (K, H, W) object probs -> (K+1, H, W) with background first.

    Background = prod(1 - p); clamp to [1e-7, 1 - 1e-7]; logits multiplied by ``factor`` before the softmax,
    which makes the result nearly one-hot (the argmax is the GUI's new index mask).
    """
    with_bg = torch.cat([torch.prod(1 - probs, dim=0, keepdim=True), probs], dim=0).clamp(1e-7, 1 - 1e-7)
    logits = torch.log(with_bg / (1 - with_bg))
    return torch.softmax(logits * factor, dim=0)


class S2MController:
    """Runs S2M once per object and returns the per-object probabilities."""

    def __init__(self, net: S2M, num_objects: int, ignore_class: int = NO_SCRIBBLE) -> None:
        self.net = net
        self.num_objects = num_objects
        self.ignore_class = ignore_class

    @property
    def device(self) -> torch.device:
        return next(self.net.parameters()).device

    @torch.no_grad()
    def interact(self, image: Tensor, prev_mask: np.ndarray | Tensor, scribble_map: np.ndarray | Tensor) -> Tensor:
        """Refine every object from scribbles.

        Args:
            image: normalised float32 (3, H, W) or (1, 3, H, W) (see :func:`normalize_image`).
            prev_mask: (H, W) index mask the frame has now.
            scribble_map: (H, W): ``ignore_class`` = no scribble, 0 = background, k = object k.

        Returns:
            float32 (K, H, W) probabilities, on the network's device.
        """
        device = self.device
        image = image.to(device).reshape(1, 3, *image.shape[-2:])
        prev = torch.as_tensor(np.asarray(prev_mask)).to(device)
        scribbles = torch.as_tensor(np.asarray(scribble_map)).to(device)
        scribbled = scribbles != self.ignore_class
        out = torch.zeros((self.num_objects, *image.shape[-2:]), dtype=torch.float32, device=device)
        for k in range(1, self.num_objects + 1):
            positive = scribbles == k
            negative = scribbled & ~positive
            maps = torch.stack([prev == k, positive, negative]).float().unsqueeze(0)
            padded, pads = pad_to_multiple(torch.cat([image, maps], dim=1))
            out[k - 1] = unpad(torch.sigmoid(self.net(padded)), pads)[0, 0]
        return out


class S2MScribbleSegmenter:
    """:class:`~xmem_tui.interaction.base.ScribbleSegmenter` backed by S2M weights."""

    name = "S2M"
    weight_free = False

    def __init__(self, net: S2M) -> None:
        self.net = net

    def interact(self, image: np.ndarray, prev_mask: np.ndarray, scribbles: np.ndarray,
                 num_objects: int) -> np.ndarray:
        """float32 (K, H, W) probabilities of each object after the scribbles (see the protocol)."""
        controller = S2MController(self.net, num_objects, NO_SCRIBBLE)
        probs = controller.interact(normalize_image(image, controller.device), prev_mask, scribbles)
        return probs.cpu().numpy()
