"""ResNet trunks (torchvision layout) truncated at stride 16, built without any pretrained download.

XMem's key encoder is a ResNet-50 up to ``layer3`` whose stride-4 stage is called ``res2`` in the official
checkpoint; the value encoder is a ResNet-18 up to ``layer3`` with a 5-channel stem. The blocks keep the
torchvision parameter names (``conv1``/``bn1``/..., ``downsample.0``/``downsample.1``) so the released
``XMem.pth`` loads strictly. Strides sit on the 3x3 convolution of a bottleneck (ResNet v1.5), as in the
official trunk.
"""

from __future__ import annotations

from torch import Tensor, nn


def _downsample(in_ch: int, out_ch: int, stride: int) -> nn.Sequential | None:
    """1x1 projection shortcut, only when the block changes width or resolution."""
    if stride == 1 and in_ch == out_ch:
        return None
    return nn.Sequential(nn.Conv2d(in_ch, out_ch, 1, stride=stride, bias=False), nn.BatchNorm2d(out_ch))


class BasicBlock(nn.Module):
    """ResNet-18/34 block: two 3x3 convolutions with an identity or projection shortcut."""

    expansion = 1

    def __init__(self, in_ch: int, width: int, stride: int = 1) -> None:
        super().__init__()
        out_ch = width * self.expansion
        self.conv1 = nn.Conv2d(in_ch, width, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.downsample = _downsample(in_ch, out_ch, stride)

    def forward(self, x: Tensor) -> Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += shortcut
        return self.relu(out)


class Bottleneck(nn.Module):
    """ResNet-50 block: 1x1 reduce, 3x3 (carries the stride), 1x1 expand by 4."""

    expansion = 4

    def __init__(self, in_ch: int, width: int, stride: int = 1) -> None:
        super().__init__()
        out_ch = width * self.expansion
        self.conv1 = nn.Conv2d(in_ch, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out_ch, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_ch)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _downsample(in_ch, out_ch, stride)

    def forward(self, x: Tensor) -> Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        out += shortcut
        return self.relu(out)


def make_stage(block: type[BasicBlock | Bottleneck], in_ch: int, width: int, blocks: int,
               stride: int) -> nn.Sequential:
    """One ResNet stage; only its first block changes resolution/width."""
    layers = [block(in_ch, width, stride)]
    out_ch = width * block.expansion
    layers += [block(out_ch, width) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


def make_stem(in_ch: int) -> tuple[nn.Conv2d, nn.BatchNorm2d, nn.ReLU, nn.MaxPool2d]:
    """7x7/2 convolution, BN, ReLU and 3x3/2 max pool: the input reaches stride 4."""
    return (
        nn.Conv2d(in_ch, 64, 7, stride=2, padding=3, bias=False),
        nn.BatchNorm2d(64),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(3, stride=2, padding=1),
    )


def make_resnet18_trunk(in_ch: int) -> tuple[nn.Module, ...]:
    """Stem and the three stages of a ResNet-18 to stride 16 (64/128/256 ch), in state-dict order:
    conv1, bn1, relu, maxpool, layer1, layer2, layer3 (XMem's value encoder, Cutie's mask encoder)."""
    return (*make_stem(in_ch), make_stage(BasicBlock, 64, 64, 2, 1), make_stage(BasicBlock, 64, 128, 2, 2),
            make_stage(BasicBlock, 128, 256, 2, 2))
