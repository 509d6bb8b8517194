"""Cutie's convolutional building blocks: channel-attention residual blocks and pixel/object fusion.

Per-object tensors are (N, C, h, w), one batch row per object; frame features are (1, C, h, w) and are
broadcast to every object (the official code's (B, N, C, h, w) with B = 1, flattened).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from xmem_tui.model.modules import GroupResBlock


def eca_kernel_size(channels: int) -> int:
    """Kernel of the efficient-channel-attention 1-D convolution: odd, growing with log2(channels)."""
    t = int((abs(math.log2(channels)) + 1) // 2)
    return t if t % 2 else t + 1


class ChannelAttentionResBlock(nn.Module):
    """Pre-activation residual block whose residual branch is re-weighted per channel (ECA).

    The channel weights are a sigmoid of a 1-D convolution across the spatially averaged channels; the
    shortcut is the identity, or a 1x1 convolution when the widths differ.
    """

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1)
        k = eca_kernel_size(out_ch)
        self.conv = nn.Conv1d(1, 1, k, padding=(k - 1) // 2, bias=False)
        self.downsample = None if in_ch == out_ch else nn.Conv2d(in_ch, out_ch, 1)

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv2(F.relu(self.conv1(F.relu(x))))
        weights = torch.sigmoid(self.conv(out.mean(dim=(2, 3))[:, None, :]))[:, 0, :, None, None]
        return out * weights + (x if self.downsample is None else self.downsample(x))


class AddDistributor(nn.Module):
    """Adds projected frame features to projected per-object features: x_transform(x) + g_transform(g)."""

    def __init__(self, x_ch: int, g_ch: int, out_ch: int) -> None:
        super().__init__()
        self.x_transform = nn.Conv2d(x_ch, out_ch, 1)
        self.g_transform = nn.Conv2d(g_ch, out_ch, 1)

    def forward(self, x: Tensor, g: Tensor) -> Tensor:
        return self.x_transform(x) + self.g_transform(g)


class FusionBlock(nn.Module):
    """Fuses the frame's pixel features into every object's features, then two channel-attention blocks."""

    def __init__(self, x_ch: int, g_ch: int, out_ch: int) -> None:
        super().__init__()
        self.distributor = AddDistributor(x_ch, g_ch, out_ch)
        self.block1 = ChannelAttentionResBlock(out_ch, out_ch)
        self.block2 = ChannelAttentionResBlock(out_ch, out_ch)

    def forward(self, x: Tensor, g: Tensor) -> Tensor:
        """x (1, Cx, h, w), g (N, Cg, h, w) -> (N, out_ch, h, w)."""
        return self.block2(self.block1(self.distributor(x, g)))


class MaskUpsampleBlock(nn.Module):
    """x2 bilinear upsampling of the object features plus the (already projected) skip, then a ResBlock."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.out_conv = GroupResBlock(in_ch, out_ch, shortcut_kernel=1)

    def forward(self, g: Tensor, skip: Tensor) -> Tensor:
        g = F.interpolate(g, scale_factor=2, mode="bilinear", align_corners=False)
        return self.out_conv(g + skip)
