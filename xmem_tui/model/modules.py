"""XMem building blocks: encoders, key projection, feature fusion, GRU hidden updates and the decoder.

Shapes: image features of one frame are (1, C, H, W); per-object tensors are (N, C, H, W) with one batch row
per object (the official code's (B, N, C, H, W) with B = 1, flattened). Image features are broadcast to
every object where the paper concatenates them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from xmem_tui.model.resnet import BasicBlock, Bottleneck, make_resnet18_trunk, make_stage, make_stem


def _conv3(in_ch: int, out_ch: int) -> nn.Conv2d:
    return nn.Conv2d(in_ch, out_ch, 3, padding=1)


class GroupResBlock(nn.Module):
    """Pre-activation residual block; a conv shortcut (sees the raw input) when widths differ.

    The shortcut is 3x3 in XMem and 1x1 in Cutie (``shortcut_kernel``).
    """

    def __init__(self, in_ch: int, out_ch: int, shortcut_kernel: int = 3) -> None:
        super().__init__()
        # Registered before conv1 so the state-dict order matches the official checkpoint.
        self.downsample = (nn.Conv2d(in_ch, out_ch, shortcut_kernel, padding=shortcut_kernel // 2)
                           if in_ch != out_ch else None)
        self.conv1 = _conv3(in_ch, out_ch)
        self.conv2 = _conv3(out_ch, out_ch)

    def forward(self, g: Tensor) -> Tensor:
        out = self.conv2(F.relu(self.conv1(F.relu(g))))
        return out + (g if self.downsample is None else self.downsample(g))


class ChannelGate(nn.Module):
    """CBAM channel attention: one MLP shared by the average- and max-pooled descriptors."""

    def __init__(self, ch: int, reduction: int = 16) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Flatten(), nn.Linear(ch, ch // reduction), nn.ReLU(),
                                 nn.Linear(ch // reduction, ch))

    def forward(self, x: Tensor) -> Tensor:
        att = self.mlp(x.mean(dim=(2, 3))) + self.mlp(x.amax(dim=(2, 3)))
        return x * torch.sigmoid(att)[:, :, None, None]


class _SpatialConv(nn.Module):
    """Holder so the 7x7 conv is named ``spatial.conv`` as in the checkpoint."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 1, 7, padding=3)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(x)


class SpatialGate(nn.Module):
    """CBAM spatial attention over [channel max, channel mean] (max first)."""

    def __init__(self) -> None:
        super().__init__()
        self.spatial = _SpatialConv()

    def forward(self, x: Tensor) -> Tensor:
        pooled = torch.cat([x.amax(dim=1, keepdim=True), x.mean(dim=1, keepdim=True)], 1)
        return x * torch.sigmoid(self.spatial(pooled))


class CBAM(nn.Module):
    """Convolutional block attention: channel gate, then spatial gate."""

    def __init__(self, ch: int) -> None:
        super().__init__()
        self.ChannelGate = ChannelGate(ch)  # checkpoint key name
        self.SpatialGate = SpatialGate()  # checkpoint key name

    def forward(self, x: Tensor) -> Tensor:
        return self.SpatialGate(self.ChannelGate(x))


class FeatureFusionBlock(nn.Module):
    """Fuses frame features with per-object features: [x, g] -> ResBlock -> +CBAM -> ResBlock."""

    def __init__(self, x_ch: int, g_ch: int, mid_ch: int, out_ch: int) -> None:
        super().__init__()
        self.block1 = GroupResBlock(x_ch + g_ch, mid_ch)
        self.attention = CBAM(mid_ch)
        self.block2 = GroupResBlock(mid_ch, out_ch)

    def forward(self, x: Tensor, g: Tensor) -> Tensor:
        g = torch.cat([x.expand(g.shape[0], -1, -1, -1), g], 1)
        g = self.block1(g)
        return self.block2(g + self.attention(g))


def gru_update(values: Tensor, h: Tensor) -> Tensor:
    """XMem's GRU variant on precomputed gate pre-activations (order: forget, update, candidate).

    new_h = forget * h * (1 - update) + update * tanh(candidate), which is not the textbook GRU.
    """
    d = h.shape[1]
    forget = torch.sigmoid(values[:, :d])
    update = torch.sigmoid(values[:, d:2 * d])
    candidate = torch.tanh(values[:, 2 * d:])
    return forget * h * (1 - update) + update * candidate


class HiddenReinforcer(nn.Module):
    """Value-encoder-side ("deep") hidden update from the new memory value."""

    def __init__(self, g_ch: int, hidden_dim: int) -> None:
        super().__init__()
        self.transform = _conv3(g_ch + hidden_dim, hidden_dim * 3)

    def forward(self, g: Tensor, h: Tensor) -> Tensor:
        return gru_update(self.transform(torch.cat([g, h], 1)), h)


class HiddenUpdater(nn.Module):
    """Decoder-side hidden update from the three decoder scales (1/16, 1/8, 1/4 + logits)."""

    def __init__(self, g_dims: tuple[int, int, int], mid_ch: int, hidden_dim: int) -> None:
        super().__init__()
        self.g16_conv = nn.Conv2d(g_dims[0], mid_ch, 1)
        self.g8_conv = nn.Conv2d(g_dims[1], mid_ch, 1)
        self.g4_conv = nn.Conv2d(g_dims[2], mid_ch, 1)
        self.transform = _conv3(mid_ch + hidden_dim, hidden_dim * 3)

    def forward(self, gs: tuple[Tensor, Tensor, Tensor], h: Tensor) -> Tensor:
        g16, g8, g4 = gs
        g = (self.g16_conv(g16)
             + self.g8_conv(F.interpolate(g8, scale_factor=0.5, mode="area"))
             + self.g4_conv(F.interpolate(g4, scale_factor=0.25, mode="area")))
        return gru_update(self.transform(torch.cat([g, h], 1)), h)


class KeyProjection(nn.Module):
    """Key (CK ch), shrinkage (d^2 + 1, 1 ch) and selection (sigmoid, CK ch) from the 1/16 features.

    Cutie first projects the features to ``mid_ch`` channels with a 1x1 ``pix_feat_proj``; XMem does not.
    """

    def __init__(self, in_ch: int, key_dim: int, mid_ch: int | None = None) -> None:
        super().__init__()
        self.pix_feat_proj = None if mid_ch is None else nn.Conv2d(in_ch, mid_ch, 1)
        width = in_ch if mid_ch is None else mid_ch
        self.key_proj = _conv3(width, key_dim)
        self.d_proj = _conv3(width, 1)
        self.e_proj = _conv3(width, key_dim)

    def forward(self, x: Tensor, need_s: bool, need_e: bool) -> tuple[Tensor, Tensor | None, Tensor | None]:
        if self.pix_feat_proj is not None:
            x = self.pix_feat_proj(x)
        shrinkage = self.d_proj(x) ** 2 + 1 if need_s else None
        selection = torch.sigmoid(self.e_proj(x)) if need_e else None
        return self.key_proj(x), shrinkage, selection


#: ResNet depth -> (block, blocks per stage) of the three stages a key/pixel encoder keeps
TRUNKS: dict[int, tuple[type[BasicBlock | Bottleneck], tuple[int, int, int]]] = {
    50: (Bottleneck, (3, 4, 6)),
    18: (BasicBlock, (2, 2, 2)),
}


class KeyEncoder(nn.Module):
    """ResNet-50 (or ResNet-18, Cutie-small's pixel encoder) to layer3; returns (f16, f8, f4).

    Widths are :attr:`ms_dims`: (1024, 512, 256) for ResNet-50, (256, 128, 64) for ResNet-18.
    """

    def __init__(self, depth: int = 50) -> None:
        super().__init__()
        block, counts = TRUNKS[depth]
        e = block.expansion
        self.ms_dims = (256 * e, 128 * e, 64 * e)
        self.conv1, self.bn1, self.relu, self.maxpool = make_stem(3)
        self.res2 = make_stage(block, 64, 64, counts[0], 1)
        self.layer2 = make_stage(block, 64 * e, 128, counts[1], 2)
        self.layer3 = make_stage(block, 128 * e, 256, counts[2], 2)

    def forward(self, image: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        x = self.maxpool(self.relu(self.bn1(self.conv1(image))))
        f4 = self.res2(x)
        f8 = self.layer2(f4)
        return self.layer3(f8), f8, f4


class ValueEncoder(nn.Module):
    """ResNet-18 to layer3 over [image, object prob, other objects' prob], fused with the key's f16."""

    def __init__(self, value_dim: int, hidden_dim: int, in_ch: int = 5) -> None:
        super().__init__()
        self.conv1, self.bn1, self.relu, self.maxpool, self.layer1, self.layer2, self.layer3 = (
            make_resnet18_trunk(in_ch))
        self.fuser = FeatureFusionBlock(1024, 256, value_dim, value_dim)
        self.hidden_reinforce = HiddenReinforcer(value_dim, hidden_dim) if hidden_dim > 0 else None

    def forward(self, image: Tensor, f16: Tensor, masks: Tensor, others: Tensor, hidden: Tensor | None,
                deep_update: bool) -> tuple[Tensor, Tensor | None]:
        """image (1,3,H,W), f16 (1,1024,h,w), masks/others (N,H,W), hidden (N,CH,h,w) -> value, hidden."""
        n = masks.shape[0]
        x = torch.cat([image.expand(n, -1, -1, -1), masks[:, None], others[:, None]], 1)
        x = self.relu(self.maxpool(self.bn1(self.conv1(x))))
        x = self.layer3(self.layer2(self.layer1(x)))
        value = self.fuser(f16, x)
        if deep_update and self.hidden_reinforce is not None and hidden is not None:
            hidden = self.hidden_reinforce(value, hidden)
        return value, hidden


class UpsampleBlock(nn.Module):
    """x2 bilinear upsampling of the object features plus a 3x3 skip from the encoder, then a ResBlock."""

    def __init__(self, skip_ch: int, up_ch: int, out_ch: int) -> None:
        super().__init__()
        self.skip_conv = _conv3(skip_ch, up_ch)
        self.out_conv = GroupResBlock(up_ch, out_ch)

    def forward(self, skip: Tensor, g: Tensor) -> Tensor:
        g = F.interpolate(g, scale_factor=2, mode="bilinear", align_corners=False)
        return self.out_conv(self.skip_conv(skip) + g)


class Decoder(nn.Module):
    """Multi-scale decoder producing per-object 1/4-resolution logits and (optionally) a new hidden."""

    def __init__(self, value_dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.fuser = FeatureFusionBlock(1024, value_dim + hidden_dim, 512, 512)
        self.hidden_update = HiddenUpdater((512, 256, 256 + 1), 256, hidden_dim) if hidden_dim > 0 else None
        self.up_16_8 = UpsampleBlock(512, 512, 256)
        self.up_8_4 = UpsampleBlock(256, 256, 256)
        self.pred = _conv3(256, 1)

    def forward(self, feats: tuple[Tensor, Tensor, Tensor], readout: Tensor, hidden: Tensor | None,
                h_out: bool) -> tuple[Tensor | None, Tensor]:
        """Returns (new hidden (N,CH,h,w) or None, logits (N,1,H,W) at full padded resolution)."""
        f16, f8, f4 = feats
        g = readout if self.hidden_update is None else torch.cat([readout, hidden], 1)
        g16 = self.fuser(f16, g)
        g8 = self.up_16_8(f8, g16)
        g4 = self.up_8_4(f4, g8)
        logits = self.pred(F.relu(g4))
        new_hidden = None
        if h_out and self.hidden_update is not None:
            new_hidden = self.hidden_update((g16, g8, torch.cat([g4, logits], 1)), hidden)
        logits = F.interpolate(logits, scale_factor=4, mode="bilinear", align_corners=False)
        return new_hidden, logits
