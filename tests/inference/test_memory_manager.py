"""Memory manager: consolidation sizes, and pruning where the official code crashes (README 6.6)."""

from __future__ import annotations

import torch

from xmem_tui.inference.manager import MemoryManager
from xmem_tui.inference.memory import KeyValueStore

HW, CK, CV = 4, 8, 6


def _config(**kw: int) -> dict:
    base = {"top_k": 30, "enable_long_term": True, "enable_long_term_count_usage": True,
            "max_mid_term_frames": 3, "min_mid_term_frames": 2, "num_prototypes": 2,
            "max_long_term_elements": 6}
    return {**base, **kw}


def _frame(g: torch.Generator, n_obj: int) -> tuple[torch.Tensor, ...]:
    return (torch.randn(HW, CK, generator=g), 1 + torch.rand(HW, generator=g),
            torch.rand(HW, CK, generator=g), torch.randn(HW, n_obj, CV, generator=g))


def test_pruning_with_nothing_to_remove_keeps_long_term_memory() -> None:
    """max_long 6, 2 prototypes: long-term reaches exactly 4 = 6 - 2; the official code raises IndexError."""
    g = torch.Generator().manual_seed(0)
    mm = MemoryManager(_config())
    checked = False
    for _ in range(12):
        key, s, e, v = _frame(g, 1)
        at_target = mm.long.size == 4 and mm.work.size + HW >= 3 * HW and not checked
        before = (mm.long.key.clone(), mm.long.values[0].clone()) if at_target else None
        mm.add(key, s, e, v, [0])
        if before is not None:
            assert mm.long.size == 6
            assert torch.equal(mm.long.key[:4], before[0])
            assert torch.equal(mm.long.values[0][:4], before[1])
            checked = True
        mm.match(torch.randn(HW, CK, generator=g), torch.rand(HW, CK, generator=g))
    assert checked
    assert mm.long.size == 6
    kinds = [e["event"] for e in mm.events]
    assert kinds.count("long_term_pruning") >= 1
    first_pruning = next(e for e in mm.events if e["event"] == "long_term_pruning")
    assert first_pruning["long_size_before"] == 6 and first_pruning["long_size_after"] <= 4


def test_pruning_keeps_usage_strictly_above_threshold() -> None:
    store = KeyValueStore(count_usage=True)
    store.add_prototypes(torch.arange(6.0)[:, None], torch.ones(6), [torch.arange(6.0)[:, None]])
    store.use_count = torch.tensor([5.0, 1.0, 3.0, 1.0, 9.0, 2.0])
    store.life_count = torch.ones(6)
    mm = MemoryManager(_config())
    mm.long = store
    mm._prune(4)  # remove 2: threshold = 2nd smallest = 1.0 -> both 1.0 go
    assert store.key[:, 0].tolist() == [0.0, 2.0, 4.0, 5.0]
    mm._prune(3)  # remove 1: threshold 2.0 -> only element 5 goes
    assert store.key[:, 0].tolist() == [0.0, 2.0, 4.0]


def test_pruning_with_two_groups_keeps_values_paired_with_their_keys() -> None:
    """The official code raises NotImplementedError; group values cover the last n_g keys."""
    store = KeyValueStore(count_usage=True)
    keys = torch.arange(8.0)[:, None]
    store.add_prototypes(keys, torch.ones(8), [keys.clone(), keys[5:].clone()])  # group 1: keys 5..7
    store.use_count = torch.tensor([4.0, 0.0, 6.0, 1.0, 7.0, 0.5, 8.0, 9.0])
    store.life_count = torch.ones(8)
    mm = MemoryManager(_config())
    mm.long = store
    mm._prune(5)  # remove 3 lowest: elements 1, 5, 3
    assert store.key[:, 0].tolist() == [0.0, 2.0, 4.0, 6.0, 7.0]
    assert store.values[0][:, 0].tolist() == [0.0, 2.0, 4.0, 6.0, 7.0]
    assert store.values[1][:, 0].tolist() == [6.0, 7.0]
    n = store.size
    for v in store.values:  # each group still pairs row r with the key at n - n_g + r
        assert torch.equal(v, store.key[n - v.shape[0]:])


def test_two_groups_run_through_pruning_without_error() -> None:
    g = torch.Generator().manual_seed(1)
    mm = MemoryManager(_config(max_long_term_elements=8, min_mid_term_frames=1))
    for t in range(30):
        key, s, e, v = _frame(g, 2)
        objects = [0] if t < 2 else [0, 1]
        mm.add(key, s, e, v[:, : len(objects)], objects)
        out = mm.match(torch.randn(HW, CK, generator=g), torch.rand(HW, CK, generator=g))
        assert out.shape == (HW, len(objects), CV) and torch.isfinite(out).all()
    assert mm.long.num_groups == 2
    assert any(e["event"] == "long_term_pruning" for e in mm.events)
    assert all(v.shape[0] <= mm.long.size for v in mm.long.values)


def test_readout_finite_when_memory_is_far_from_query() -> None:
    """All similarities near -1e4: the official exp(top-k) gives 0/0 = NaN; ours attends the nearest."""
    mm = MemoryManager(_config(enable_long_term=False))
    key = torch.full((HW, CK), 40.0)
    key[2] += 1.0  # element 2 is the farthest, element 0..1,3 equally near
    values = torch.arange(HW * CV, dtype=torch.float32).view(HW, 1, CV)
    mm.add(key, torch.ones(HW), None, values, [0])
    out = mm.match(torch.zeros(1, CK), torch.ones(1, CK))
    assert torch.isfinite(out).all()
    expected = values[[0, 1, 3], 0].mean(0)
    assert torch.allclose(out[0, 0], expected, atol=1e-4)
