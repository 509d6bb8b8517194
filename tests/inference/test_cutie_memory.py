"""Cutie's pixel memory: buckets, permanent frames, consolidation, pruning, FIFO and usage counting."""

from __future__ import annotations

import pytest
import torch

from xmem_tui.inference.attention import similarity_official_order
from xmem_tui.inference.cutie.memory import PixelMemory

HW, CK, CV, Q = 4, 4, 3, 2


def _config(use_long_term: bool = True, **long_term: int) -> dict:
    lt = {"count_usage": True, "max_mem_frames": 4, "min_mem_frames": 2, "num_prototypes": 3, "max_num_tokens": 12,
          "buffer_tokens": 3, **long_term}
    return {"top_k": 3, "mem_every": 1, "stagger_updates": 1, "use_long_term": use_long_term, "max_mem_frames": 3,
            "long_term": lt}


def _frame(gen: torch.Generator, k: int) -> tuple[torch.Tensor, ...]:
    key = torch.randn(HW, CK, generator=gen) * 3
    shrinkage = 1 + torch.rand(HW, generator=gen)
    selection = torch.rand(HW, CK, generator=gen)
    values = torch.randn(HW, k, CV, generator=gen)
    summaries = torch.rand(k, Q, 5, generator=gen)
    return key, shrinkage, selection, values, summaries


def _query(gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.randn(HW, CK, generator=gen) * 3, torch.rand(HW, CK, generator=gen)


def test_objects_memorised_later_get_their_own_bucket_and_first_frame_is_permanent() -> None:
    gen = torch.Generator().manual_seed(0)
    memory = PixelMemory.from_config(_config())
    first = _frame(gen, 1)
    memory.add(*first, objects=[1])
    second = _frame(gen, 2)
    memory.add(*second, objects=[1, 2])
    b0, b1 = memory.buckets
    assert (b0.objects, b1.objects) == ([1], [2])
    assert (b0.perm.size, b0.work.size, b1.perm.size, b1.work.size) == (HW, HW, HW, 0)
    assert torch.equal(b0.perm.key, first[0]) and torch.equal(b1.perm.key, second[0])
    assert torch.equal(b1.perm.values[0], second[3][:, 1])  # object 2 never pairs with frame 1
    assert memory.work_tokens == 3 * HW and memory.perm_tokens == 2 * HW
    assert torch.allclose(memory.summaries[1], first[4][0] + second[4][0])
    assert torch.equal(memory.summaries[2], second[4][1])
    readout = memory.read(b0, *_query(gen))
    assert readout.shape == (HW, CV)


def test_reads_count_usage_of_working_and_long_term_memory_only() -> None:
    gen = torch.Generator().manual_seed(1)
    memory = PixelMemory.from_config(_config(max_mem_frames=3, min_mem_frames=2))
    for _ in range(3):  # permanent + two working frames -> consolidation of the older one
        memory.add(*_frame(gen, 1), objects=[1])
    bucket = memory.buckets[0]
    assert (bucket.perm.size, bucket.work.size, bucket.long.size) == (HW, HW, 3)
    before_work, before_long = bucket.work.life_count.clone(), bucket.long.life_count.clone()
    memory.read(bucket, *_query(gen))
    assert torch.allclose(bucket.work.life_count, before_work + 1)
    assert torch.allclose(bucket.long.life_count, before_long + 1)
    # every query spreads weight 1 over its top-k; what the permanent frame got is not counted
    assert bucket.work.use_count.sum() + bucket.long.use_count.sum() <= HW + 1e-5
    assert bucket.perm.use_count is None


def test_consolidation_turns_the_most_used_candidates_into_prototypes() -> None:
    gen = torch.Generator().manual_seed(2)
    memory = PixelMemory.from_config(_config(max_mem_frames=4, min_mem_frames=2, num_prototypes=3))
    frames = [_frame(gen, 2) for _ in range(4)]
    for f in frames[:3]:
        memory.add(*f, objects=[1, 2])
    bucket = memory.buckets[0]
    usage = torch.tensor([0.5, 3.0, 0.1, 2.0, 9.0, 0.0, 1.0, 0.2])  # two working frames, 8 candidates
    bucket.work.use_count = usage.clone()
    bucket.work.life_count = torch.ones(8)
    memory.add(*frames[3], objects=[1, 2])  # third working frame: consolidate all but the newest
    assert (bucket.perm.size, bucket.work.size, bucket.long.size) == (HW, HW, 3)
    cand_key = torch.cat([frames[1][0], frames[2][0]])
    picked = torch.tensor([4, 1, 3])  # most used first, among the 8 candidates (the newest frame stays)
    assert torch.equal(bucket.long.key, cand_key[picked])
    cand_s, cand_e = torch.cat([frames[1][1], frames[2][1]]), torch.cat([frames[1][2], frames[2][2]])
    affinity = torch.softmax(similarity_official_order(cand_key, cand_s, cand_key[picked], cand_e[picked]), dim=1)
    cand_v = torch.cat([frames[1][3], frames[2][3]]).flatten(1)
    assert torch.allclose(bucket.long.values[0], affinity @ cand_v, atol=1e-6)
    assert torch.allclose(bucket.long.shrinkage, affinity @ cand_s, atol=1e-6)
    assert torch.equal(bucket.work.key, frames[3][0]) and torch.equal(bucket.perm.key, frames[0][0])


def test_long_term_memory_is_pruned_to_its_most_used_elements_in_usage_order() -> None:
    gen = torch.Generator().manual_seed(3)
    memory = PixelMemory.from_config(_config(max_mem_frames=3, min_mem_frames=2, num_prototypes=3,
                                             max_num_tokens=9, buffer_tokens=2))
    for _ in range(3):  # two consolidations: 6 long-term elements, the threshold 9 - 3
        memory.add(*_frame(gen, 1), objects=[1])
    memory.add(*_frame(gen, 1), objects=[1])
    long = memory.buckets[0].long
    assert long.size == 6
    keys = long.key.clone()
    long.use_count = torch.tensor([1.0, 5.0, 0.0, 4.0, 2.0, 3.0])
    long.life_count = torch.ones(6)
    memory.add(*_frame(gen, 1), objects=[1])  # prune to 9 - 3 - 2 = 4, then add 3 prototypes
    assert long.size == 7
    assert torch.equal(long.key[:4], keys[[1, 3, 5, 4]])


def test_permanent_frames_survive_a_long_run_and_memory_stays_bounded() -> None:
    gen = torch.Generator().manual_seed(4)
    memory = PixelMemory.from_config(_config())
    first = _frame(gen, 1)
    memory.add(*first, objects=[1])
    kept = _frame(gen, 1)
    for t in range(60):
        memory.add(*(kept if t == 20 else _frame(gen, 1)), objects=[1], permanent=t == 20)
        memory.read(memory.buckets[0], *_query(gen))
        bucket = memory.buckets[0]
        assert bucket.work.size < 3 * HW and bucket.long.size <= 12
    assert bucket.perm.size == 2 * HW
    assert torch.equal(bucket.perm.key, torch.cat([first[0], kept[0]]))


def test_without_long_term_memory_working_memory_is_a_fifo() -> None:
    gen = torch.Generator().manual_seed(5)
    memory = PixelMemory.from_config(_config(use_long_term=False))
    frames = [_frame(gen, 1) for _ in range(6)]
    for f in frames:
        memory.add(*f, objects=[1])
    bucket = memory.buckets[0]
    assert bucket.work.size == 2 * HW and bucket.long.size == 0  # max_mem_frames 3 - 1
    assert torch.equal(bucket.work.key, torch.cat([frames[4][0], frames[5][0]]))
    assert bucket.work.use_count is None  # usage is only counted for long-term memory


def test_frames_must_keep_their_size() -> None:
    gen = torch.Generator().manual_seed(6)
    memory = PixelMemory.from_config(_config())
    memory.add(*_frame(gen, 1), objects=[1])
    key, shrinkage, selection, values, summaries = _frame(gen, 1)
    with pytest.raises(ValueError, match="keep their size"):
        memory.add(key[:2], shrinkage[:2], selection[:2], values[:2], summaries, objects=[1])
