"""Cutie's mask encoder: memory values, a deep sensory update, from the image and each object's mask.

A ResNet-18 trunk (to stride 16) reads [image, object probability, other objects' probability] per
object; its features are fused with the frame's projected pixel features into the mask value. The new
value also refreshes the sensory memory (XMem's "deep update", :class:`~xmem_tui.model.modules.HiddenReinforcer`).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from xmem_tui.model.cutie.blocks import FusionBlock
from xmem_tui.model.modules import HiddenReinforcer
from xmem_tui.model.resnet import make_resnet18_trunk


class MaskEncoder(nn.Module):
    """(normalised image, pixel features, sensory, masks, others) -> (mask values, new sensory)."""

    def __init__(self, pixel_dim: int, value_dim: int, sensory_dim: int, in_ch: int = 5) -> None:
        super().__init__()
        self.conv1, self.bn1, self.relu, self.maxpool, self.layer1, self.layer2, self.layer3 = (
            make_resnet18_trunk(in_ch))
        self.fuser = FusionBlock(pixel_dim, 256, value_dim)
        self.sensory_update = HiddenReinforcer(value_dim, sensory_dim)

    def forward(self, image: Tensor, pix_feat: Tensor, sensory: Tensor, masks: Tensor, others: Tensor,
                deep_update: bool) -> tuple[Tensor, Tensor]:
        """image (1, 3, H, W) normalised, pix_feat (1, C, h, w), sensory (N, S, h, w), masks/others (N, H, W).

        Returns:
            (values (N, CV, h, w), sensory (N, S, h, w): updated when ``deep_update``, else the input).
        """
        n = masks.shape[0]
        x = torch.cat([image.expand(n, -1, -1, -1), masks[:, None].to(image.dtype),
                       others[:, None].to(image.dtype)], 1)
        x = self.relu(self.maxpool(self.bn1(self.conv1(x))))
        value = self.fuser(pix_feat, self.layer3(self.layer2(self.layer1(x))))
        if deep_update:
            with torch.autocast(value.device.type, enabled=False):
                sensory = self.sensory_update(value.float(), sensory.float())
        return value, sensory
