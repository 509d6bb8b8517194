"""Sine/cosine 2-D positional encoding of stride-16 positions, with frequencies from the checkpoint.

Positions are normalised to [0, scale] along each axis (first to last row/column); the first half of the
channels encodes x, the second half y, each as interleaved (sin, cos) pairs. The frequencies are a
persistent buffer of the official modules (``inv_freq``), so they are loaded from the weights rather than
recomputed: with the released checkpoint they are 1 / temperature^(2i/d), with other weights whatever
those hold.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class PositionalEncoding(nn.Module):
    """(h, w) -> (h, w, 4 * len(inv_freq)) encoding; ``dim`` channels for the default frequencies."""

    def __init__(self, dim: int, scale: float, temperature: float) -> None:
        super().__init__()
        half = -(-dim // 4) * 2
        self.register_buffer("inv_freq", 1.0 / (temperature ** (torch.arange(0, half, 2).float() / half)))
        self.scale = scale
        self.eps = 1e-6

    def _axis(self, n: int) -> Tensor:
        pos = torch.arange(n, device=self.inv_freq.device, dtype=self.inv_freq.dtype)
        pos = pos / (pos[-1] + self.eps) * self.scale
        angles = torch.outer(pos, self.inv_freq)
        return torch.stack([angles.sin(), angles.cos()], -1).flatten(-2)

    def forward(self, h: int, w: int) -> Tensor:
        """float32 (h, w, C) with C = 4 * len(inv_freq): x encoding first, then y."""
        emb_x = self._axis(w)[None].expand(h, -1, -1)
        emb_y = self._axis(h)[:, None].expand(-1, w, -1)
        return torch.cat([emb_x, emb_y], -1)
