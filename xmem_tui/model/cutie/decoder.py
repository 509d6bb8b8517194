"""Cutie's mask decoder: object readout (1/16) upsampled with image skips to 1/4-resolution logits.

The decoder also updates the sensory memory from its three scales and the logits (the GRU-style update
XMem's decoder uses for its hidden state, :class:`~xmem_tui.model.modules.HiddenUpdater`).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from xmem_tui.model.cutie.blocks import MaskUpsampleBlock
from xmem_tui.model.modules import HiddenUpdater


class SkipProjections(nn.Module):
    """1x1 projections of the stride-8 and stride-4 image features to the decoder widths."""

    def __init__(self, in_dims: tuple[int, int], out_dims: tuple[int, int]) -> None:
        super().__init__()
        self.transforms = nn.ModuleList(nn.Conv2d(i, o, 1) for i, o in zip(in_dims, out_dims, strict=True))

    def forward(self, f8: Tensor, f4: Tensor) -> tuple[Tensor, Tensor]:
        return self.transforms[0](f8), self.transforms[1](f4)


class MaskDecoder(nn.Module):
    """(f8, f4 image features, object readout (N, C, h, w), sensory) -> (new sensory, logits (N, 4h, 4w))."""

    def __init__(self, ms_dims: tuple[int, int, int], up_dims: tuple[int, int, int], sensory_dim: int) -> None:
        super().__init__()
        self.sensory_update = HiddenUpdater((up_dims[0], up_dims[1], up_dims[2] + 1), sensory_dim, sensory_dim)
        self.decoder_feat_proc = SkipProjections((ms_dims[1], ms_dims[2]), (up_dims[0], up_dims[1]))
        self.up_16_8 = MaskUpsampleBlock(up_dims[0], up_dims[1])
        self.up_8_4 = MaskUpsampleBlock(up_dims[1], up_dims[2])
        self.pred = nn.Conv2d(up_dims[2], 1, 3, padding=1)

    def forward(self, f8: Tensor, f4: Tensor, readout: Tensor, sensory: Tensor,
                update_sensory: bool) -> tuple[Tensor | None, Tensor]:
        """Returns (new sensory (N, S, h, w) float32 or None, float32 logits (N, 4h, 4w))."""
        s8, s4 = self.decoder_feat_proc(f8, f4)
        p8 = self.up_16_8(readout, s8)
        p4 = self.up_8_4(p8, s4)
        with torch.autocast(p4.device.type, enabled=False):
            logits = self.pred(torch.relu(p4.float()))
            new_sensory = None
            if update_sensory:
                new_sensory = self.sensory_update((readout.float(), p8.float(), torch.cat([p4.float(), logits], 1)),
                                                  sensory.float())
        return new_sensory, logits[:, 0]
