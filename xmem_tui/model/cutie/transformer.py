"""Cutie's object transformer: object queries read the pixel readout and write back to it.

Each object has ``num_queries`` queries initialised from its object summary. In every block the queries
cross-attend to the pixel features through a *masked* attention (the first half of the queries sees only
the pixels where the object currently wins, the second half only the others; the mask comes from an
auxiliary prediction of the previous block), attend to each other, go through an FFN, and then the pixels
cross-attend to the queries, followed by a convolutional pixel FFN.

Shapes: pixel features (N, C, h, w) and object summaries (N, Q, C + 1) for the N objects read together
(one memory bucket); the last summary channel is the accumulated area the sums are normalised by.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from xmem_tui.model.cutie.attention_layers import FFN, CrossAttention, SelfAttention
from xmem_tui.model.cutie.blocks import ChannelAttentionResBlock
from xmem_tui.model.cutie.positional import PositionalEncoding
from xmem_tui.model.network import aggregate


def _flat(pixel: Tensor) -> Tensor:
    """(N, C, h, w) -> (N, h*w, C)."""
    return pixel.flatten(2).transpose(1, 2).contiguous()


class PixelFFN(nn.Module):
    """A channel-attention residual block over the pixel tokens laid back out as an image."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.conv = ChannelAttentionResBlock(dim, dim)

    def forward(self, pixel_flat: Tensor, h: int, w: int) -> Tensor:
        """(N, h*w, C) -> (N, C, h, w)."""
        n, _, c = pixel_flat.shape
        return self.conv(pixel_flat.view(n, h, w, c).permute(0, 3, 1, 2).contiguous())


class ObjectTransformerBlock(nn.Module):
    """Masked query-from-pixel attention, query self-attention, FFN, pixel-from-query attention, pixel FFN."""

    def __init__(self, dim: int, heads: int, ff_dim: int) -> None:
        super().__init__()
        self.read_from_pixel = CrossAttention(dim, heads)
        self.self_attn = SelfAttention(dim, heads)
        self.ffn = FFN(dim, ff_dim)
        self.read_from_query = CrossAttention(dim, heads, norm=False)
        self.pixel_ffn = PixelFFN(dim)

    def forward(self, query: Tensor, pixel: Tensor, query_pe: Tensor, pixel_pe: Tensor,
                attn_mask: Tensor) -> tuple[Tensor, Tensor]:
        """query (N, Q, C), pixel (N, C, h, w), pixel_pe (N, h*w, C) -> (query, pixel)."""
        h, w = pixel.shape[-2:]
        pixel_flat = _flat(pixel)
        query = self.read_from_pixel(query, pixel_flat, query_pe, pixel_pe, attn_mask=attn_mask)
        query = self.ffn(self.self_attn(query, query_pe))
        pixel_flat = self.read_from_query(pixel_flat, query, pixel_pe, query_pe)
        return query, self.pixel_ffn(pixel_flat, h, w)


class ObjectTransformer(nn.Module):
    """Object queries and pixel features refined together over ``num_blocks`` blocks."""

    def __init__(self, dim: int, num_queries: int, heads: int, num_blocks: int, ff_dim: int,
                 pe_scale: float, pe_temperature: float) -> None:
        super().__init__()
        self.heads = heads
        self.num_queries = num_queries
        self.query_init = nn.Embedding(num_queries, dim)
        self.query_emb = nn.Embedding(num_queries, dim)
        self.summary_to_query_init = nn.Linear(dim, dim)
        self.summary_to_query_emb = nn.Linear(dim, dim)
        self.pixel_init_proj = nn.Conv2d(dim, dim, 1)
        self.pixel_emb_proj = nn.Conv2d(dim, dim, 1)
        self.spatial_pe = PositionalEncoding(dim, pe_scale, pe_temperature)
        self.blocks = nn.ModuleList(ObjectTransformerBlock(dim, heads, ff_dim) for _ in range(num_blocks))
        self.mask_pred = nn.ModuleList(nn.Sequential(nn.ReLU(), nn.Conv2d(dim, 1, 1))
                                       for _ in range(num_blocks + 1))

    def forward(self, pixel: Tensor, summaries: Tensor, need_aux: bool = False) -> tuple[Tensor, list[Tensor]]:
        """Refine the pixel readout of N objects read together.

        Args:
            pixel: (N, C, h, w) fused pixel readout.
            summaries: (N, Q, C + 1) accumulated object summaries (sums, then area).
            need_aux: also return the auxiliary logits after the last block (unused by inference).

        Returns:
            (pixel features (N, C, h, w), auxiliary logits [(N, h, w)] before each block (and after the
            last one with ``need_aux``)).
        """
        h, w = pixel.shape[-2:]
        summaries = summaries.float()  # sums and areas grow with every memory frame: beyond fp16's range
        values = summaries[..., :-1] / (summaries[..., -1:] + 1e-4)
        query = self.query_init.weight[None] + self.summary_to_query_init(values)
        query_pe = self.query_emb.weight[None] + self.summary_to_query_emb(values)
        pixel_pe = self.spatial_pe(h, w).flatten(0, 1)[None] + _flat(self.pixel_emb_proj(pixel))
        pixel = self.pixel_init_proj(pixel)
        aux = [self.mask_pred[0](pixel)[:, 0]]
        for i, block in enumerate(self.blocks):
            query, pixel = block(query, pixel, query_pe, pixel_pe, self._attention_mask(aux[-1]))
            if need_aux or i + 1 < len(self.blocks):
                aux.append(self.mask_pred[i + 1](pixel)[:, 0])
        return pixel, aux

    def _attention_mask(self, logits: Tensor) -> Tensor:
        """(N, h, w) auxiliary logits -> (N * heads, Q, h*w) bool, True = blocked.

        An object's pixels are those where its aggregated logit is the largest of all N objects and the
        background; queries of the first half may only look at them, the second half only at the rest.
        A query that would see nothing sees everything instead.
        """
        agg = aggregate(torch.sigmoid(logits.float()), dim=0)[0]  # (N + 1, h, w); fp16 cannot hold 1 - 1e-7
        foreground = (agg[1:] >= agg.max(dim=0, keepdim=True).values).flatten(1)  # (N, h*w)
        half = self.num_queries // 2
        n, hw = foreground.shape
        blocked = torch.cat([(~foreground)[:, None].expand(n, half, hw), foreground[:, None].expand(n, half, hw)], 1)
        blocked = blocked[:, None].expand(n, self.heads, self.num_queries, hw).reshape(n * self.heads, -1, hw)
        return blocked & ~blocked.all(-1, keepdim=True)
