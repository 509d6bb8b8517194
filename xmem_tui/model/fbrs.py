"""f-BRS click network: DeepLabV3+ on a dilated ResNet-v1s (deep stem) with click distance maps as input.

The module tree reproduces the key names of the f-BRS checkpoints used by XMem's demo (``rgb_conv.*``,
``feature_extractor.backbone/aspp/skip_project/head.*``, ``head.layers.*``). The forward pass is split in two
because f-BRS-B optimises a per-channel scale and bias of the features between :meth:`FBRSNet.features`
(backbone, ASPP, skip projection: computed once per click set) and :meth:`FBRSNet.logits_from_features`
(the two heads: re-run at every optimiser evaluation).

Backbone depth and ASPP width are read from the checkpoint like the official loader does, but unlike it the
loading is strict: any missing or surplus entry is reported by name (the official loader silently ignores
them), except the ``aspp_dropout`` entry some f-BRS files carry (dropout is inert at inference).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from xmem_tui.errors import CheckpointError
from xmem_tui.model.checkpoint import StateSource, load_state_dict, load_strict

#: ResNet-v1s layouts: (block kind, blocks per stage).
_DEPTHS = {34: ("basic", (3, 4, 6, 3)), 50: ("bottleneck", (3, 4, 6, 3)), 101: ("bottleneck", (3, 4, 23, 3))}
#: Upper bounds on the number of backbone entries (without num_batches_tracked) per depth, as officially.
_DEPTH_BOUNDS = ((34, 181), (50, 276), (101, 531))
#: Checkpoint entry that the official loader reads as the ASPP dropout rate; not a model parameter.
ASPP_DROPOUT_KEY = "aspp_dropout"
#: Checkpoint entry whose first dimension is the DeepLab width (``deeplab_ch``).
ASPP_PROJECT_KEY = "feature_extractor.aspp.project.0.weight"
SKIP_CHANNELS = 32


def _conv3x3(in_ch: int, out_ch: int, stride: int = 1, dilation: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=dilation, dilation=dilation, bias=False)


class _BasicV1b(nn.Module):
    """ResNet-34 v1b block; its second conv uses the stage's previous dilation (official quirk)."""

    expansion = 1

    def __init__(self, in_ch: int, width: int, stride: int, dilation: int, previous_dilation: int,
                 downsample: nn.Module | None) -> None:
        super().__init__()
        self.conv1 = _conv3x3(in_ch, width, stride, dilation)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = _conv3x3(width, width, 1, previous_dilation)
        self.bn2 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + shortcut)


class _BottleneckV1b(nn.Module):
    """ResNet-50/101 v1b block: stride and dilation on the 3x3 convolution."""

    expansion = 4

    def __init__(self, in_ch: int, width: int, stride: int, dilation: int, previous_dilation: int,
                 downsample: nn.Module | None) -> None:
        super().__init__()
        del previous_dilation  # only the basic block uses it
        self.conv1 = nn.Conv2d(in_ch, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = _conv3x3(width, width, stride, dilation)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, width * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(width * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.relu(self.bn3(self.conv3(out)) + shortcut)


class ResNetV1s(nn.Module):
    """Dilated ResNet trunk (output stride 8) returning the layer1 and layer4 features.

    ResNet-50/101 are "v1s": a deep stem of three 3x3 convs (64/2, 64, 128) in place of the 7x7; the official
    ResNet-34 keeps the plain 7x7 stem (v1b). layer3 is dilated by 2 and layer4 by 4, the first block of each
    dilated stage using half the stage's dilation.
    """

    def __init__(self, depth: int) -> None:
        super().__init__()
        kind, blocks = _DEPTHS[depth]
        block = _BasicV1b if kind == "basic" else _BottleneckV1b
        self._in_ch = 64 if depth == 34 else 128
        self.conv1: nn.Module
        if depth == 34:
            self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        else:
            self.conv1 = nn.Sequential(
                _conv3x3(3, 64, stride=2), nn.BatchNorm2d(64), nn.ReLU(inplace=True),
                _conv3x3(64, 64), nn.BatchNorm2d(64), nn.ReLU(inplace=True),
                _conv3x3(64, 128))
        self.bn1 = nn.BatchNorm2d(self._in_ch)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = self._stage(block, 64, blocks[0], stride=1, dilation=1)
        self.layer2 = self._stage(block, 128, blocks[1], stride=2, dilation=1)
        self.layer3 = self._stage(block, 256, blocks[2], stride=1, dilation=2)
        self.layer4 = self._stage(block, 512, blocks[3], stride=1, dilation=4)
        self.out_channels = (64 * block.expansion, 512 * block.expansion)

    def _stage(self, block: type[_BasicV1b | _BottleneckV1b], width: int, count: int, stride: int,
               dilation: int) -> nn.Sequential:
        out_ch = width * block.expansion
        downsample = None
        if stride != 1 or self._in_ch != out_ch:
            downsample = nn.Sequential(nn.Conv2d(self._in_ch, out_ch, 1, stride=stride, bias=False),
                                       nn.BatchNorm2d(out_ch))
        first_dilation = 1 if dilation in (1, 2) else dilation // 2
        layers = [block(self._in_ch, width, stride, first_dilation, dilation, downsample)]
        self._in_ch = out_ch
        layers += [block(out_ch, width, 1, dilation, dilation, None) for _ in range(count - 1)]
        return nn.Sequential(*layers)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        c1 = self.layer1(x)
        return c1, self.layer4(self.layer3(self.layer2(c1)))


class _SeparableConv(nn.Module):
    """Depthwise 3x3 and pointwise 1x1 (no biases), BN, ReLU; stored as ``body.0..3``."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(in_ch, in_ch, 3, padding=1, groups=in_ch, bias=False),
                                  nn.Conv2d(in_ch, out_ch, 1, bias=False), nn.BatchNorm2d(out_ch),
                                  nn.ReLU(inplace=True))

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x)


class _ASPPPooling(nn.Module):
    """Image-level ASPP branch, broadcast back with ``align_corners=True`` (f-BRS convention)."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.gap = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(in_ch, out_ch, 1, bias=False),
                                 nn.BatchNorm2d(out_ch), nn.ReLU(inplace=True))

    def forward(self, x: Tensor) -> Tensor:
        return F.interpolate(self.gap(x), size=x.shape[-2:], mode="bilinear", align_corners=True)


class _ASPP(nn.Module):
    """ASPP with rates 12/24/36 (output stride 8); the official attribute is spelt ``concurent``."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        def branch(kernel: int, rate: int) -> nn.Sequential:
            pad = 0 if kernel == 1 else rate
            return nn.Sequential(nn.Conv2d(in_ch, out_ch, kernel, padding=pad, dilation=rate, bias=False),
                                 nn.BatchNorm2d(out_ch), nn.ReLU(inplace=True))
        self.concurent = nn.ModuleList([branch(1, 1), branch(3, 12), branch(3, 24), branch(3, 36),
                                        _ASPPPooling(in_ch, out_ch)])
        # The official projection ends with a dropout (identity at inference, no parameters).
        self.project = nn.Sequential(nn.Conv2d(5 * out_ch, out_ch, 1, bias=False), nn.BatchNorm2d(out_ch),
                                     nn.ReLU(inplace=True))

    def forward(self, x: Tensor) -> Tensor:
        return self.project(torch.cat([b(x) for b in self.concurent], dim=1))


class _SkipProject(nn.Module):
    def __init__(self, in_ch: int) -> None:
        super().__init__()
        self.skip_project = nn.Sequential(nn.Conv2d(in_ch, SKIP_CHANNELS, 1, bias=False),
                                          nn.BatchNorm2d(SKIP_CHANNELS), nn.ReLU(inplace=True))

    def forward(self, x: Tensor) -> Tensor:
        return self.skip_project(x)


class _DeepLabHead(nn.Module):
    def __init__(self, in_ch: int, ch: int) -> None:
        super().__init__()
        self.block = nn.Sequential(_SeparableConv(in_ch, ch), _SeparableConv(ch, ch), nn.Conv2d(ch, ch, 1))

    def forward(self, x: Tensor) -> Tensor:
        return self.block(x)


class _FeatureExtractor(nn.Module):
    """Container giving the official ``feature_extractor.*`` names; the stages are called by FBRSNet."""

    def __init__(self, depth: int, ch: int) -> None:
        super().__init__()
        self.backbone = ResNetV1s(depth)
        low_ch, high_ch = self.backbone.out_channels
        self.head = _DeepLabHead(ch + SKIP_CHANNELS, ch)
        self.skip_project = _SkipProject(low_ch)
        self.aspp = _ASPP(high_ch, ch)


class _InstanceHead(nn.Module):
    def __init__(self, ch: int) -> None:
        super().__init__()
        mid = ch // 2
        self.layers = nn.Sequential(_SeparableConv(ch, mid), _SeparableConv(mid, mid), nn.Conv2d(mid, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)


class FBRSNet(nn.Module):
    """f-BRS DeepLab click model; input = normalised image (3) + click maps (2), output one logit map."""

    def __init__(self, depth: int = 50, deeplab_ch: int = 128) -> None:
        super().__init__()
        if depth not in _DEPTHS:
            raise ValueError(f"unsupported ResNet depth {depth}")
        self.depth = depth
        self.deeplab_ch = deeplab_ch
        self.rgb_conv = nn.Sequential(nn.Conv2d(5, 8, 1), nn.LeakyReLU(0.2), nn.BatchNorm2d(8), nn.Conv2d(8, 3, 1))
        self.feature_extractor = _FeatureExtractor(depth, deeplab_ch)
        self.head = _InstanceHead(deeplab_ch)

    @property
    def feature_channels(self) -> int:
        """Channels of :meth:`features` (the f-BRS-B insertion point): ASPP width + skip width."""
        return self.deeplab_ch + SKIP_CHANNELS

    def features(self, image: Tensor, click_maps: Tensor) -> Tensor:
        """ASPP output (upsampled, corners aligned, to 1/4 resolution) concatenated with the skip projection."""
        fe = self.feature_extractor
        c1, c4 = fe.backbone(self.rgb_conv(torch.cat([image, click_maps], dim=1)))
        skip = fe.skip_project(c1)
        aspp = F.interpolate(fe.aspp(c4), size=skip.shape[-2:], mode="bilinear", align_corners=True)
        return torch.cat([aspp, skip], dim=1)

    def logits_from_features(self, features: Tensor, size: tuple[int, int]) -> Tensor:
        """Both heads, then bilinear (corners aligned) upsampling of the logits to ``size``."""
        logits = self.head(self.feature_extractor.head(features))
        return F.interpolate(logits, size=size, mode="bilinear", align_corners=True)

    def forward(self, image: Tensor, click_maps: Tensor) -> Tensor:
        return self.logits_from_features(self.features(image, click_maps), tuple(image.shape[-2:]))

    @classmethod
    def from_checkpoint(cls, source: StateSource, map_location: str | torch.device = "cpu") -> FBRSNet:
        """Build the network that ``source`` describes (depth, ASPP width) and load it strictly.

        Raises:
            CheckpointError: unreadable/unsafe file, an HRNet or unknown backbone, or missing/surplus entries
                (named in the message).
        """
        where = "checkpoint dict" if isinstance(source, Mapping) else f"checkpoint {Path(source)}"
        state = load_state_dict(source, map_location)
        state.pop(ASPP_DROPOUT_KEY, None)
        if any("feature_extractor.stage2.0.branches" in key for key in state):
            raise CheckpointError(f"{where}: HRNet f-BRS checkpoints are not supported; "
                                  "use a DeepLab ResNet one (e.g. resnet50_dh128_lvis)")
        depth = _detect_depth(state, where)
        if ASPP_PROJECT_KEY not in state:
            raise CheckpointError(f"{where} is not an f-BRS DeepLab checkpoint (missing {ASPP_PROJECT_KEY}); "
                                  "select the right file or run `xmem-tui models download`")
        net = cls(depth=depth, deeplab_ch=int(state[ASPP_PROJECT_KEY].shape[0]))
        load_strict(net, state, where, "f-BRS")
        net.requires_grad_(False)
        return net.eval()


def _detect_depth(state: Mapping[str, Tensor], where: str) -> int:
    """Pick the ResNet depth from the number of backbone entries, with the official loader's bounds.

    The backbones have 180 (ResNet-34, plain stem), 275 (ResNet-50) and 530 (ResNet-101) such entries; the
    bounds leave one entry of slack, as the official loader does.
    """
    found = sum(1 for k in state if "feature_extractor.backbone" in k and "num_batches_tracked" not in k)
    for depth, bound in _DEPTH_BOUNDS:
        if found <= bound:
            return depth
    raise CheckpointError(f"{where}: {found} backbone entries match no ResNet-34/50/101 f-BRS model; "
                          "select the right file or run `xmem-tui models download`")

