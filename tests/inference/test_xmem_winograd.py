"""Winograd F(2x2, 3x3) convolution: equal to the direct convolution, safe fallbacks, weight changes."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from xmem_tui.inference.winograd import WinogradConv2d, accelerate, transform_weight, winograd_conv3x3


@pytest.mark.parametrize("size", [(10, 14), (7, 11), (1, 1)])
def test_matches_direct_convolution(size: tuple[int, int]) -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 24, *size, generator=g)
    w, b = torch.randn(8, 24, 3, 3, generator=g), torch.randn(8, generator=g)
    ref = F.conv2d(x, w, b, padding=1)
    for layout in (torch.contiguous_format, torch.channels_last):
        out = winograd_conv3x3(x.contiguous(memory_format=layout), transform_weight(w), b)
        assert out.shape == ref.shape
        assert torch.allclose(out, ref, atol=1e-4, rtol=1e-5)


def test_accelerate_keeps_parameters_and_falls_back() -> None:
    net = nn.Sequential(nn.Conv2d(512, 512, 3, padding=1), nn.Conv2d(512, 256, 3, padding=1),
                        nn.Conv2d(512, 512, 1))
    before = {k: v.clone() for k, v in net.state_dict().items()}
    assert accelerate(net) == 1
    assert isinstance(net[0], WinogradConv2d) and type(net[1]) is nn.Conv2d
    assert net.state_dict().keys() == before.keys()
    x = torch.randn(1, 512, 6, 8)
    with torch.inference_mode():
        ref = F.conv2d(x, before["0.weight"], before["0.bias"], padding=1)
        assert torch.allclose(net[0](x), ref, atol=1e-4)
    grad_x = torch.randn(1, 512, 5, 7, requires_grad=True)  # autograd -> direct path
    assert torch.equal(net[0](grad_x), F.conv2d(grad_x, net[0].weight, net[0].bias, padding=1))


def test_filter_cache_follows_weight_updates() -> None:
    conv = nn.Conv2d(512, 512, 3, padding=1)
    accelerate(conv)
    x = torch.randn(1, 512, 4, 4)
    with torch.inference_mode():
        first = conv(x)
    with torch.no_grad():
        conv.weight.mul_(2)
    with torch.inference_mode():
        second = conv(x)
    assert torch.allclose(second - conv.bias[:, None, None], 2 * (first - conv.bias[:, None, None]), atol=1e-3)


def test_works_with_parameters_created_under_inference_mode() -> None:
    with torch.inference_mode():
        conv = nn.Conv2d(512, 512, 3, padding=1)
        accelerate(conv)
        x = torch.randn(1, 512, 4, 6)
        assert torch.allclose(conv(x), F.conv2d(x, conv.weight, conv.bias, padding=1), atol=1e-4)
