"""S2M (scribble-to-mask): DeepLabV3+ on a ResNet-50 with 6 input channels, as released with XMem's demo.

The network sees, per object, the normalised image, the object's current mask and its positive/negative
scribbles (see :mod:`xmem_tui.interaction.s2m`) and returns one logit map. The module tree reproduces the
official ``s2m.pth`` key names (``backbone.*``, ``classifier.project/aspp/classifier.*``) so the released file
loads strictly. The trunk is torchvision's ResNet-50 built without weights; output stride 16 is obtained by
dilating ``layer4`` (torchvision keeps the first block of a dilated stage at the previous dilation, as the
official model does).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.models import resnet50

from xmem_tui.model.checkpoint import StateSource, load_state_dict, load_strict

#: DeepLabV3+ ASPP rates for output stride 16.
ASPP_RATES = (6, 12, 18)


def _conv_bn_relu(in_ch: int, out_ch: int, kernel: int, dilation: int = 1) -> list[nn.Module]:
    padding = 0 if kernel == 1 else dilation
    return [nn.Conv2d(in_ch, out_ch, kernel, padding=padding, dilation=dilation, bias=False),
            nn.BatchNorm2d(out_ch), nn.ReLU(inplace=True)]


class _ASPPPooling(nn.Sequential):
    """Image-level branch: global average, 1x1 conv, BN, ReLU, broadcast back (bilinear, corners not aligned)."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__(nn.AdaptiveAvgPool2d(1), *_conv_bn_relu(in_ch, out_ch, 1))

    def forward(self, x: Tensor) -> Tensor:
        size = x.shape[-2:]
        return F.interpolate(super().forward(x), size=size, mode="bilinear", align_corners=False)


class _ASPP(nn.Module):
    """Atrous spatial pyramid pooling: 1x1, three dilated 3x3 and an image-pooling branch, projected to 256."""

    def __init__(self, in_ch: int, rates: tuple[int, int, int], out_ch: int = 256) -> None:
        super().__init__()
        branches: list[nn.Module] = [nn.Sequential(*_conv_bn_relu(in_ch, out_ch, 1))]
        branches += [nn.Sequential(*_conv_bn_relu(in_ch, out_ch, 3, rate)) for rate in rates]
        branches.append(_ASPPPooling(in_ch, out_ch))
        self.convs = nn.ModuleList(branches)
        # Dropout is part of the official module (index 3) but is the identity at inference.
        self.project = nn.Sequential(*_conv_bn_relu(len(branches) * out_ch, out_ch, 1), nn.Dropout(0.1))

    def forward(self, x: Tensor) -> Tensor:
        return self.project(torch.cat([branch(x) for branch in self.convs], dim=1))


class _DeepLabHeadV3Plus(nn.Module):
    """ASPP on stride-16 features, fused with a 48-channel projection of the stride-4 features."""

    def __init__(self, high_ch: int = 2048, low_ch: int = 256, num_classes: int = 1) -> None:
        super().__init__()
        self.project = nn.Sequential(*_conv_bn_relu(low_ch, 48, 1))
        self.aspp = _ASPP(high_ch, ASPP_RATES)
        self.classifier = nn.Sequential(*_conv_bn_relu(48 + 256, 256, 3), nn.Conv2d(256, num_classes, 1))

    def forward(self, low_level: Tensor, high_level: Tensor) -> Tensor:
        low = self.project(low_level)
        high = F.interpolate(self.aspp(high_level), size=low.shape[-2:], mode="bilinear", align_corners=False)
        return self.classifier(torch.cat([low, high], dim=1))


def _trunk(in_channels: int) -> nn.Module:
    """torchvision ResNet-50 (no weights, nothing downloaded), ``in_channels`` stem, no avgpool/fc."""
    net = resnet50(weights=None, replace_stride_with_dilation=[False, False, True])
    net.conv1 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
    del net.avgpool
    del net.fc
    return net


class S2M(nn.Module):
    """DeepLabV3+ ResNet-50 (output stride 16) mapping a 6-channel input to one logit map at input size."""

    in_channels = 6

    def __init__(self) -> None:
        super().__init__()
        self.backbone = _trunk(self.in_channels)
        self.classifier = _DeepLabHeadV3Plus()

    def forward(self, x: Tensor) -> Tensor:
        """Logits (B, 1, H, W) for an input (B, 6, H, W); H and W should be multiples of 16 (the caller pads)."""
        b = self.backbone
        f = b.maxpool(b.relu(b.bn1(b.conv1(x))))
        low = b.layer1(f)
        high = b.layer4(b.layer3(b.layer2(low)))
        logits = self.classifier(low, high)
        return F.interpolate(logits, size=x.shape[-2:], mode="bilinear", align_corners=False)

    @classmethod
    def from_checkpoint(cls, source: StateSource, map_location: str | torch.device = "cpu") -> S2M:
        """Build the network from ``s2m.pth`` (or a state dict), strictly, in eval mode without gradients.

        Raises:
            CheckpointError: unreadable or unsafe file, or a key/shape mismatch (named in the message).
        """
        state = load_state_dict(source, map_location)
        net = cls()
        where = "checkpoint dict" if isinstance(source, Mapping) else f"checkpoint {Path(source)}"
        load_strict(net, state, where, "S2M")
        net.requires_grad_(False)
        return net.eval()
