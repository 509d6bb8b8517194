"""Scribble-to-mask interaction with the S2M network, reproducing XMem's demo.

Each object is refined on its own (batch 1, like the official controller): the network sees the normalised
image, the object's current mask, its positive scribbles (pixels scribbled with its label) and its negative
scribbles (background scribbles *and* other objects' scribbles). The GUI then combines the per-object
probabilities with a "hard" soft-aggregation (logits x 1000) and takes the argmax as the new index mask.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from xmem_tui.inference.core import pad_to_multiple, unpad
from xmem_tui.inference.xmem_engine import image_to_tensor
from xmem_tui.interaction.base import NO_SCRIBBLE
from xmem_tui.model.network import aggregate
from xmem_tui.model.s2m import S2M

#: Factor applied to the aggregated logits by the GUI after an S2M interaction.
HARD_AGGREGATION_FACTOR = 1000.0


def aggregate_hard(probs: Tensor, factor: float = HARD_AGGREGATION_FACTOR) -> Tensor:
    """The GUI's aggregation of S2M output: (K, H, W) object probs -> (K+1, H, W) with background first.

    XMem's soft aggregation (background = prod(1 - p), clamp, logit) except that the logits are multiplied by
    ``factor`` before the softmax, which makes the result nearly one-hot; its argmax is the new index mask.
    """
    logits, _ = aggregate(probs, dim=0)
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
            image: normalised float32 (3, H, W) or (1, 3, H, W) (see ``image_to_tensor``).
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
        probs = controller.interact(image_to_tensor(image, controller.device), prev_mask, scribbles)
        return probs.cpu().numpy()
