"""Memory attention: XMem's anisotropic L2 similarity, top-k softmax and the (sparse) value readout.

Layouts (one frame, batch 1): memory keys (N, CK) and selection (N, CK) one row per element, shrinkage (N,),
query keys/selection (HW, CK); similarities are (HW, N) so that top-k runs along contiguous rows. Memory
values are (N, O*CV): one row per element, the objects of a group side by side, so a readout for all
objects of a group is one matrix product.
"""

from __future__ import annotations

import math
import warnings

import torch
from torch import Tensor


def similarity(mem_key: Tensor, mem_shrinkage: Tensor | None, query_key: Tensor,
               query_selection: Tensor | None) -> Tensor:
    """S[j, i] = s_i * (-sum_c e_jc k_ic^2 + 2 sum_c k_ic q_jc e_jc - sum_c e_jc q_jc^2) / sqrt(CK).

    The expanded form (rather than -s * sum e (k - q)^2) matches the official rounding behaviour and
    lets both memory terms share one matrix product.

    Args:
        mem_key: (N, CK) float32. mem_shrinkage: (N,) >= 1 or None (treated as 1).
        query_key: (HW, CK). query_selection: (HW, CK) in (0, 1) or None (treated as 1).

    Returns:
        (HW, N) float32 similarities (<= 0 up to rounding).
    """
    ck = mem_key.shape[1]
    e = torch.ones_like(query_key) if query_selection is None else query_selection
    query = torch.cat([e, query_key * e], 1)  # (HW, 2CK)
    mem = torch.cat([mem_key.square().neg(), mem_key * 2], 1)  # (N, 2CK)
    sim = query @ mem.T
    sim -= (e * query_key.square()).sum(1, keepdim=True)
    if mem_shrinkage is not None:
        sim *= mem_shrinkage[None, :]
    sim /= math.sqrt(ck)
    return sim


def similarity_official_order(mem_key: Tensor, mem_shrinkage: Tensor, query_key: Tensor,
                               query_selection: Tensor) -> Tensor:
    """:func:`similarity` computed in the official operation order: two products over the CK channels,
    then (-a^2 + 2ab) - b^2, times the shrinkage, over sqrt(CK).

    Cutie uses it: its keys are large (|k| up to ~18 with the reference weights), so the cancellation in
    -a^2 + 2ab - b^2 leaves rounding errors of ~1e-4 whose pattern decides near-ties of the top-k
    selection; repeating the official rounding keeps its golden cases at 1e-7 instead of 1e-5 mean error.
    It costs a second (N, HW) product pass, which XMem's one-product form avoids.

    Args/returns as :func:`similarity` (shrinkage and selection required); the result is the transpose of
    an (N, HW) tensor.
    """
    ck = mem_key.shape[1]
    sim = mem_key @ (query_key * query_selection).T
    sim *= 2
    sim -= mem_key.square() @ query_selection.T
    sim -= (query_selection * query_key.square()).sum(1)[None, :]
    sim *= mem_shrinkage[:, None]
    sim /= math.sqrt(ck)
    return sim.T


def topk_softmax(sim: Tensor, top_k: int) -> tuple[Tensor, Tensor]:
    """Softmax over the ``top_k`` largest similarities of each query row; the rest get weight 0.

    The official code exponentiates without subtracting the maximum (0/0 = NaN when every kept similarity
    is below about -103). Subtracting the row maximum gives the same weights whenever the official ones are
    finite, and correct ones where it would produce NaN.

    Returns:
        (weights (HW, k) float32 summing to 1 per row, indices (HW, k) int64 into the N columns), k =
        min(top_k, N).
    """
    values, indices = torch.topk(sim, k=min(top_k, sim.shape[1]), dim=1)
    return torch.softmax(values, dim=1), indices


def column_usage(weights: Tensor, indices: Tensor, n: int) -> Tensor:
    """Per memory element, the summed attention weight over all queries: (n,) float32."""
    usage = torch.zeros(n, dtype=weights.dtype, device=weights.device)
    return usage.index_add_(0, indices.flatten(), weights.flatten())


def dense_affinity(weights: Tensor, indices: Tensor, n: int) -> Tensor:
    """The (HW, n) affinity matrix with the top-k weights scattered in and zeros elsewhere."""
    return torch.zeros(weights.shape[0], n, dtype=weights.dtype, device=weights.device).scatter_add_(
        1, indices, weights)  # add: clamped duplicates carry weight 0


def readout(weights: Tensor, indices: Tensor, parts: list[Tensor], sparse: bool = True) -> Tensor:
    """Weighted sum of memory value rows; ``parts`` are consecutive row blocks of one (N, D) value matrix.

    The values live in several blocks (long-term, then working memory) so they are never concatenated.
    With ``sparse`` (CPU) only the k non-zero weights per query are multiplied (CSR x dense), which is
    N/k times less work than the official dense product; otherwise the dense affinity is built (GPUs
    prefer that).

    Returns:
        (HW, D) float32.
    """
    hw = weights.shape[0]
    out: Tensor | None = None
    if sparse:
        order = indices.argsort(dim=1)
        indices = indices.gather(1, order)
        weights = weights.gather(1, order)
    offset = 0
    for part in parts:
        n = part.shape[0]
        if n == 0:
            continue
        inside = (indices >= offset) & (indices < offset + n)
        if sparse:
            counts = inside.sum(1)
            crow = torch.zeros(hw + 1, dtype=torch.int64, device=weights.device)
            torch.cumsum(counts, 0, out=crow[1:])
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
                aff = torch.sparse_csr_tensor(crow, indices[inside] - offset, weights[inside], (hw, n),
                                              check_invariants=False)
            contrib = aff @ part
        else:
            local = (indices - offset).clamp(0, n - 1)
            contrib = dense_affinity(torch.where(inside, weights, 0.0), local, n) @ part
        out = contrib if out is None else out + contrib
        offset += n
    if out is None:
        raise ValueError("readout from an empty memory")
    return out
