"""The attention layers of Cutie's object transformer (pre-norm, positional embeddings on q and k).

Queries are (B, L, C) and memories (B, S, C), batch first; B is the number of objects. Positional
embeddings are added to the queries and keys, never to the values. The attention layers normalise their
input and add the attention output to the *normalised* input (the official layout); the FFN adds to the
raw input.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn


class CrossAttention(nn.Module):
    """x attends to mem: x' = n(x) + MHA(q = n(x) + x_pe, k = mem + mem_pe, v = mem), n = LayerNorm or id."""

    def __init__(self, dim: int, heads: int, norm: bool = True) -> None:
        super().__init__()
        self.cross_attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm = nn.LayerNorm(dim) if norm else None

    def forward(self, x: Tensor, mem: Tensor, x_pe: Tensor, mem_pe: Tensor,
                attn_mask: Tensor | None = None) -> Tensor:
        """``attn_mask`` (B * heads, L, S) bool, True = blocked."""
        if self.norm is not None:
            x = self.norm(x)
        out = self.cross_attn(x + x_pe, mem + mem_pe, mem, attn_mask=attn_mask, need_weights=False)[0]
        return x + out


class SelfAttention(nn.Module):
    """x' = n(x) + MHA(q = k = n(x) + pe, v = n(x))."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: Tensor, pe: Tensor) -> Tensor:
        x = self.norm(x)
        with_pe = x + pe
        return x + self.self_attn(with_pe, with_pe, x, need_weights=False)[0]


class FFN(nn.Module):
    """x' = x + W2 relu(W1 LayerNorm(x))."""

    def __init__(self, dim: int, ff_dim: int) -> None:
        super().__init__()
        self.linear1 = nn.Linear(dim, ff_dim)
        self.linear2 = nn.Linear(ff_dim, dim)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.linear2(F.relu(self.linear1(self.norm(x))))
