"""Cutie's object summarizer: a memory frame's mask values pooled into ``num_summaries`` vectors per object.

Each summary is a weighted sum of projected value features; the weights are a sigmoid of predicted logits
times the object's mask (first half of the summaries) or its complement (second half). The summed weights
(the area) are kept as an extra channel, so summaries of several frames add up and are normalised only
when read (:class:`~xmem_tui.model.cutie.transformer.ObjectTransformer`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from xmem_tui.model.cutie.positional import PositionalEncoding


def _mlp(dim: int, out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(dim, dim), nn.ReLU(inplace=True), nn.Linear(dim, out))


class ObjectSummarizer(nn.Module):
    """(masks (N, H, W), values (N, CV, h, w)) -> summaries (N, Q, C + 1), float32."""

    def __init__(self, value_dim: int, dim: int, num_summaries: int, pe_scale: float,
                 pe_temperature: float) -> None:
        super().__init__()
        self.num_summaries = num_summaries
        self.pos_enc = PositionalEncoding(dim, pe_scale, pe_temperature)
        self.input_proj = nn.Linear(value_dim, dim)
        self.feature_pred = _mlp(dim, dim)
        self.weights_pred = _mlp(dim, num_summaries)

    def forward(self, masks: Tensor, value: Tensor) -> Tensor:
        """masks: float (N, H, W) in [0, 1] at the padded input size; value: (N, CV, h, w) mask values."""
        h, w = value.shape[-2:]
        masks = F.interpolate(masks[None], size=(h, w), mode="area")[0][..., None]  # (N, h, w, 1)
        half = self.num_summaries // 2
        selector = torch.cat([masks.expand(-1, -1, -1, half), (1 - masks).expand(-1, -1, -1, half)], -1)
        x = self.input_proj(value.permute(0, 2, 3, 1)) + self.pos_enc(h, w)
        with torch.autocast(x.device.type, enabled=False):
            x = x.float()
            weights = torch.sigmoid(self.weights_pred(x)) * selector  # (N, h, w, Q)
            sums = torch.einsum("nhwq,nhwc->nqc", weights, self.feature_pred(x))
            area = weights.flatten(1, 2).sum(1)[..., None]
        return torch.cat([sums, area], -1)
