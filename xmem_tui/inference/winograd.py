"""Winograd F(2x2, 3x3) convolution for XMem's wide 3x3 convolutions on CPU.

The decoder and value fuser spend most of their time in 3x3 convolutions with 512-1600 input channels at
1/16 and 1/8 resolution. Winograd's minimal filtering computes each 2x2 output tile from a 4x4 input tile
with 16 multiplications per channel pair instead of 36, turning the convolution into 16 batched matrix
products; the input/output transforms are additions only. In float32 the result differs from direct
convolution by a few 1e-6 relative, far inside the golden tolerance. :func:`accelerate` swaps the selected
``nn.Conv2d`` modules for :class:`WinogradConv2d`, which keeps the same parameters (and state-dict keys).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# G of F(2x2, 3x3): filter transform U = G w G^T
_G = torch.tensor([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])

#: narrower convolutions stay direct: measured on a 2-core AVX-512 CPU, Winograd only wins when both
#: widths are >= 512 (the transforms are memory-bound, the saving is in the matrix products)
MIN_CHANNELS = 512


def transform_weight(weight: Tensor) -> Tensor:
    """(Cout, Cin, 3, 3) -> (16, Cin, Cout) Winograd-domain filters."""
    g = _G.to(weight)
    u = g @ weight @ g.T  # (Cout, Cin, 4, 4)
    return u.permute(2, 3, 1, 0).reshape(16, weight.shape[1], weight.shape[0]).contiguous()


def _bt(d: list[Tensor]) -> list[Tensor]:
    """B^T applied along a 4-element axis given as four slices."""
    return [d[0] - d[2], d[1] + d[2], d[2] - d[1], d[1] - d[3]]


def winograd_conv3x3(x: Tensor, u: Tensor, bias: Tensor | None) -> Tensor:
    """3x3, stride 1, padding 1 convolution of x (N, C, H, W) with filters from :func:`transform_weight`.

    Odd sizes get one more zero row/column, whose outputs are cropped. Returns (N, Cout, H, W) in
    channels_last layout.
    """
    n, c, h, w = x.shape
    th, tw = (h + 1) // 2, (w + 1) // 2
    xp = F.pad(x.permute(0, 2, 3, 1), (0, 0, 1, 1 + w % 2, 1, 1 + h % 2))  # (N, 2th+2, 2tw+2, C)
    rows = _bt([xp[:, a:a + 2 * th:2] for a in range(4)])  # 4 x (N, th, W+2, C)
    v = torch.empty(4, 4, n, th, tw, c, dtype=x.dtype, device=x.device)
    for i, r in enumerate(rows):
        cols = [r[:, :, b:b + 2 * tw:2] for b in range(4)]
        torch.sub(cols[0], cols[2], out=v[i, 0])
        torch.add(cols[1], cols[2], out=v[i, 1])
        torch.sub(cols[2], cols[1], out=v[i, 2])
        torch.sub(cols[1], cols[3], out=v[i, 3])
    m = torch.bmm(v.view(16, n * th * tw, c), u).view(4, 4, n, th, tw, -1)
    # A^T = [[1, 1, 1, 0], [0, 1, -1, -1]] along both tile axes
    t = (m[0] + m[1] + m[2], m[1] - m[2] - m[3])
    out = torch.empty(n, th, 2, tw, 2, u.shape[2], dtype=x.dtype, device=x.device)
    for i, ti in enumerate(t):
        torch.add(ti[0] + ti[1], ti[2], out=out[:, :, i, :, 0])
        torch.sub(ti[1] - ti[2], ti[3], out=out[:, :, i, :, 1])
    out = out.view(n, 2 * th, 2 * tw, -1)[:, :h, :w]
    if bias is not None:
        out += bias
    return out.permute(0, 3, 1, 2)


class WinogradConv2d(nn.Conv2d):
    """A 3x3/1/1 ``nn.Conv2d`` that runs Winograd for CPU float32 inference.

    The transformed filters are cached and recomputed whenever the weight changes (its version counter
    moves, e.g. after ``load_state_dict``); any other case falls back to the direct convolution.
    """

    _cache: tuple[tuple[int, int], Tensor] | None = None

    def _filters(self) -> Tensor:
        weight = self.weight
        # inference tensors (created under inference_mode) have no version counter
        key = (-1 if weight.is_inference() else weight._version, weight.data_ptr())
        if self._cache is None or self._cache[0] != key:
            with torch.no_grad():
                self._cache = (key, transform_weight(self.weight.detach()))
        return self._cache[1]

    def forward(self, x: Tensor) -> Tensor:
        if x.device.type != "cpu" or x.dtype != torch.float32 or torch.is_grad_enabled():
            return super().forward(x)
        return winograd_conv3x3(x, self._filters(), self.bias)


def _eligible(m: nn.Module) -> bool:
    return (type(m) is nn.Conv2d and m.kernel_size == (3, 3) and m.stride == (1, 1) and m.padding == (1, 1)
            and m.dilation == (1, 1) and m.groups == 1 and min(m.in_channels, m.out_channels) >= MIN_CHANNELS)


def accelerate(module: nn.Module) -> int:
    """Turn every eligible 3x3 convolution of ``module`` into a :class:`WinogradConv2d` in place.

    Parameters are shared, not copied, so the state dict is unchanged. Returns how many were converted.
    """
    count = 0
    for m in module.modules():
        if _eligible(m):
            m.__class__ = WinogradConv2d
            count += 1
    return count
