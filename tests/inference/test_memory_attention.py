"""Memory attention: similarity formula, top-k softmax (incl. the official NaN failure), readout."""

from __future__ import annotations

import math

import torch

from xmem_tui.inference.attention import column_usage, dense_affinity, readout, similarity, topk_softmax


def _official_topk(sim: torch.Tensor, k: int) -> torch.Tensor:
    """The official formulation: exp of the top-k values without subtracting the maximum."""
    values, indices = torch.topk(sim, k=k, dim=1)
    x = values.exp()
    x = x / x.sum(1, keepdim=True)
    return torch.zeros_like(sim).scatter_(1, indices, x)


def test_similarity_is_negative_shrunk_weighted_distance() -> None:
    g = torch.Generator().manual_seed(0)
    mk, qk = torch.randn(50, 8, generator=g) * 3, torch.randn(20, 8, generator=g) * 3
    ms, qe = 1 + torch.rand(50, generator=g), torch.rand(20, 8, generator=g)
    ours = similarity(mk, ms, qk, qe).double()
    d = (qe.double()[:, None, :] * (mk.double()[None] - qk.double()[:, None]) ** 2).sum(-1)
    expected = -ms.double()[None] * d / math.sqrt(8)
    assert torch.allclose(ours, expected, atol=1e-3, rtol=1e-5)


def test_topk_softmax_matches_official_where_finite() -> None:
    g = torch.Generator().manual_seed(1)
    sim = -20 * torch.rand(30, 200, generator=g)
    w, idx = topk_softmax(sim, 30)
    ours = dense_affinity(w, idx, 200)
    assert torch.allclose(ours, _official_topk(sim, 30), atol=1e-6)
    assert int((ours > 0).sum(1).max()) == 30


def test_topk_softmax_is_finite_where_official_gives_nan() -> None:
    g = torch.Generator().manual_seed(2)
    sim = -500 - 50 * torch.rand(10, 100, generator=g)  # every exp underflows to 0 in float32
    assert torch.isnan(_official_topk(sim, 30)).any(dim=1).all()
    w, _ = topk_softmax(sim, 30)
    assert torch.isfinite(w).all()
    top = torch.topk(sim.double(), 30, dim=1).values
    assert torch.allclose(w.double(), torch.softmax(top, dim=1), atol=1e-6)


def test_topk_softmax_with_fewer_elements_than_k() -> None:
    w, _ = topk_softmax(torch.zeros(3, 5), 30)
    assert w.shape == (3, 5) and torch.allclose(w, torch.full((3, 5), 0.2))


def test_sparse_and_dense_readout_agree_with_dense_product() -> None:
    g = torch.Generator().manual_seed(3)
    sim = -10 * torch.rand(40, 70, generator=g)
    values = torch.randn(70, 16, generator=g)
    w, idx = topk_softmax(sim, 30)
    expected = dense_affinity(w, idx, 70) @ values
    parts = [values[:25], values[25:]]
    for sparse in (True, False):
        assert torch.allclose(readout(w, idx, parts, sparse=sparse), expected, atol=1e-5)


def test_column_usage_sums_weights_per_element() -> None:
    w, idx = topk_softmax(-torch.rand(6, 9), 4)
    assert torch.allclose(column_usage(w, idx, 9), dense_affinity(w, idx, 9).sum(0))
