"""The Cutie network (Cheng, Oh, Price, Lee, Schwing, CVPR 2024) with the official parameter names.

The module is stateless; :mod:`xmem_tui.inference.cutie` owns memory, sensory memory and object
summaries and calls the stages in the official order: ``encode_image`` and ``transform_key`` for every
frame, ``pixel_fusion``, ``readout_query`` and ``segment`` to predict one, ``encode_mask`` to memorise one.
Images enter as RGB in [0, 1]; the network normalises them itself (ImageNet mean and std, non-persistent
buffers as in the official module). Dimensions are read from the checkpoint by :meth:`Cutie.from_checkpoint`,
so the ResNet-18 ``small`` variant loads too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from xmem_tui.errors import CheckpointError
from xmem_tui.model.checkpoint import StateSource, describe_source, load_state_dict, load_strict
from xmem_tui.model.cutie.blocks import FusionBlock
from xmem_tui.model.cutie.decoder import MaskDecoder
from xmem_tui.model.cutie.mask_encoder import MaskEncoder
from xmem_tui.model.cutie.summarizer import ObjectSummarizer
from xmem_tui.model.cutie.transformer import ObjectTransformer
from xmem_tui.model.modules import KeyEncoder, KeyProjection
from xmem_tui.model.network import aggregate

PIXEL_MEAN = (0.485, 0.456, 0.406)
PIXEL_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class CutieConfig:
    """Widths of Cutie (defaults: the released ``base`` model, cutie-base-mega.pth)."""

    pixel_encoder_depth: int = 50  # 18 for the small model
    pixel_dim: int = 256
    key_dim: int = 64
    value_dim: int = 256
    sensory_dim: int = 256
    embed_dim: int = 256
    num_queries: int = 16
    num_heads: int = 8
    num_blocks: int = 3
    ff_dim: int = 2048
    up_dims: tuple[int, int, int] = (256, 128, 128)
    #: positional encodings span [0, pe_scale] over the frame; the frequencies come from the checkpoint
    pe_scale: float = 32.0
    pe_temperature: float = 128.0


def other_objects(masks: Tensor) -> Tensor:
    """For each object, the clamped sum of all other objects' probabilities: (N, H, W) -> (N, H, W)."""
    return (masks.sum(0, keepdim=True) - masks).clamp(0, 1)


class PixelFuser(nn.Module):
    """Memory readout + compressed sensory memory and last mask, fused with the frame's pixel features."""

    def __init__(self, pixel_dim: int, value_dim: int, sensory_dim: int, embed_dim: int) -> None:
        super().__init__()
        self.fuser = FusionBlock(pixel_dim, value_dim, embed_dim)
        self.sensory_compress = nn.Conv2d(sensory_dim + 2, value_dim, 1)

    def forward(self, pix_feat: Tensor, readout: Tensor, sensory: Tensor, last_mask: Tensor,
                last_others: Tensor) -> Tensor:
        compressed = self.sensory_compress(torch.cat([sensory, last_mask[:, None], last_others[:, None]], 1))
        return self.fuser(pix_feat, readout + compressed)


class _LinearPredictor(nn.Module):
    """Holder of the training-only sensory auxiliary projection (key ``aux_computer.sensory_aux``).

    Inference never runs it; it exists so that the released checkpoint loads with strict keys.
    """

    def __init__(self, sensory_dim: int, embed_dim: int) -> None:
        super().__init__()
        self.projection = nn.Conv2d(sensory_dim, embed_dim + 1, 1)


class _AuxComputer(nn.Module):
    def __init__(self, sensory_dim: int, embed_dim: int) -> None:
        super().__init__()
        self.sensory_aux = _LinearPredictor(sensory_dim, embed_dim)


class Cutie(nn.Module):
    """Cutie with the official parameter names, so ``cutie-base-mega.pth`` loads strictly."""

    def __init__(self, config: CutieConfig | None = None) -> None:
        super().__init__()
        self.config = c = config or CutieConfig()
        self.register_buffer("pixel_mean", torch.tensor(PIXEL_MEAN)[:, None, None], persistent=False)
        self.register_buffer("pixel_std", torch.tensor(PIXEL_STD)[:, None, None], persistent=False)
        self.pixel_encoder = KeyEncoder(c.pixel_encoder_depth)
        ms_dims = self.pixel_encoder.ms_dims
        self.pix_feat_proj = nn.Conv2d(ms_dims[0], c.pixel_dim, 1)
        self.key_proj = KeyProjection(ms_dims[0], c.key_dim, mid_ch=c.pixel_dim)
        self.mask_encoder = MaskEncoder(c.pixel_dim, c.value_dim, c.sensory_dim)
        self.mask_decoder = MaskDecoder(ms_dims, c.up_dims, c.sensory_dim)
        self.pixel_fuser = PixelFuser(c.pixel_dim, c.value_dim, c.sensory_dim, c.embed_dim)
        self.object_transformer = ObjectTransformer(c.embed_dim, c.num_queries, c.num_heads, c.num_blocks,
                                                    c.ff_dim, c.pe_scale, c.pe_temperature)
        self.object_summarizer = ObjectSummarizer(c.value_dim, c.embed_dim, c.num_queries, c.pe_scale,
                                                  c.pe_temperature)
        self.aux_computer = _AuxComputer(c.sensory_dim, c.embed_dim)

    def normalise(self, image: Tensor) -> Tensor:
        """RGB in [0, 1] -> ImageNet-normalised, same shape."""
        return (image - self.pixel_mean.to(image.dtype)) / self.pixel_std.to(image.dtype)

    def encode_image(self, image: Tensor) -> tuple[tuple[Tensor, Tensor, Tensor], Tensor]:
        """Padded RGB (1, 3, H, W) in [0, 1] -> ((f16, f8, f4) multi-scale features, pixel features (1, C, h, w))."""
        ms = self.pixel_encoder(self.normalise(image))
        return ms, self.pix_feat_proj(ms[0])

    def transform_key(self, f16: Tensor, need_sk: bool = True, need_ek: bool = True
                      ) -> tuple[Tensor, Tensor | None, Tensor | None]:
        """f16 -> key (1, CK, h, w), shrinkage (1, 1, h, w) >= 1, selection (1, CK, h, w) in (0, 1)."""
        return self.key_proj(f16, need_sk, need_ek)

    def encode_mask(self, image: Tensor, pix_feat: Tensor, sensory: Tensor, masks: Tensor,
                    deep_update: bool = True) -> tuple[Tensor, Tensor, Tensor]:
        """Memorise a frame: image (1, 3, H, W) in [0, 1], masks (N, H, W) probabilities of all N objects.

        Returns:
            (mask values (N, CV, h, w), sensory (N, S, h, w), object summaries (N, Q, C + 1) float32).
        """
        value, sensory = self.mask_encoder(self.normalise(image), pix_feat, sensory, masks, other_objects(masks),
                                           deep_update)
        return value, sensory, self.object_summarizer(masks, value)

    def pixel_fusion(self, pix_feat: Tensor, readout: Tensor, sensory: Tensor, last_mask: Tensor) -> Tensor:
        """Memory readout (N, CV, h, w) of N objects read together, their sensory memory and last masks
        (N, H, W) at the padded input size -> fused pixel readout (N, C, h, w)."""
        small = F.interpolate(last_mask[None].float(), size=sensory.shape[-2:], mode="area")[0]
        return self.pixel_fuser(pix_feat, readout, sensory, small, other_objects(small))

    def readout_query(self, pixel: Tensor, summaries: Tensor, need_aux: bool = False) -> tuple[Tensor, list[Tensor]]:
        """Object transformer over N objects read together; see :class:`ObjectTransformer`."""
        return self.object_transformer(pixel, summaries, need_aux)

    def segment(self, ms: tuple[Tensor, Tensor, Tensor], readout: Tensor, sensory: Tensor,
                update_sensory: bool = True) -> tuple[Tensor | None, Tensor, Tensor]:
        """Decode all N objects: readout (N, C, h, w) -> (new sensory or None, logits, probabilities).

        Logits and probabilities are float32 (N + 1, H, W) at the padded input size, background first: the
        soft aggregation at 1/4 resolution, upsampled x4 (bilinear), then a softmax.
        """
        new_sensory, logits = self.mask_decoder(ms[1], ms[2], readout, sensory, update_sensory)
        logits = aggregate(torch.sigmoid(logits), dim=0)[0]
        logits = F.interpolate(logits[None], scale_factor=4, mode="bilinear", align_corners=False)[0]
        return new_sensory, logits, torch.softmax(logits, dim=0)

    @classmethod
    def from_checkpoint(cls, source: StateSource, map_location: str | torch.device = "cpu") -> Cutie:
        """Build a Cutie whose dimensions are read from the weights, then load them strictly.

        Args:
            source: path to ``cutie-base-mega.pth`` (opened with ``weights_only=True``; a ``module.``
                prefix is stripped) or a state dict.
            map_location: device for the loaded tensors (the module is created on CPU, then filled).

        Raises:
            CheckpointError: unreadable/unsafe file or weights of another model.
        """
        where = describe_source(source)
        state = load_state_dict(source, map_location)
        try:
            config = config_from_state(state)
        except KeyError as exc:
            raise CheckpointError(f"{where} is not a Cutie checkpoint (no {exc.args[0]}); "
                                  "select cutie-base-mega.pth or run `xmem-tui models download`") from exc
        net = cls(config)
        load_strict(net, state, where, "Cutie")
        return net.eval()


def config_from_state(state: dict[str, Tensor]) -> CutieConfig:
    """The widths a Cutie state dict implies (KeyError when a key every Cutie has is missing)."""
    up0 = state["mask_decoder.up_16_8.out_conv.conv1.weight"].shape
    up1 = state["mask_decoder.up_8_4.out_conv.conv1.weight"].shape
    blocks = {int(m.group(1)) for k in state if (m := re.match(r"object_transformer\.blocks\.(\d+)\.", k))}
    bottleneck = "pixel_encoder.res2.0.conv3.weight" in state
    query_init = state["object_transformer.query_init.weight"].shape
    return CutieConfig(
        pixel_encoder_depth=50 if bottleneck else 18,
        pixel_dim=state["pix_feat_proj.weight"].shape[0],
        key_dim=state["key_proj.key_proj.weight"].shape[0],
        value_dim=state["mask_encoder.fuser.block2.conv2.weight"].shape[0],
        sensory_dim=state["mask_encoder.sensory_update.transform.weight"].shape[0] // 3,
        embed_dim=query_init[1],
        num_queries=query_init[0],
        num_blocks=len(blocks),
        ff_dim=state["object_transformer.blocks.0.ffn.linear1.weight"].shape[0],
        up_dims=(up0[1], up0[0], up1[0]),
    )
