"""Cutie's pre-flight memory estimate: bounded in the run length, and its element counts match real runs."""

from __future__ import annotations

import pytest
import torch

from xmem_tui.inference import CutieCore
from xmem_tui.inference.cutie.estimate import CUTIE_PARAMS, cutie_memory_parts, estimate_cutie_memory, memory_elements
from xmem_tui.inference.cutie_engine import DEFAULT_CONFIG
from xmem_tui.inference.estimate import MemoryEstimate
from xmem_tui.model import Cutie, CutieConfig

TINY = CutieConfig(pixel_encoder_depth=18, pixel_dim=32, key_dim=16, value_dim=24, sensory_dim=8, embed_dim=32,
                   num_queries=4, num_blocks=1, ff_dim=64, up_dims=(32, 16, 8))
SMALL = {**DEFAULT_CONFIG, "mem_every": 2,
         "long_term": {"count_usage": True, "max_mem_frames": 4, "min_mem_frames": 2, "num_prototypes": 5,
                       "max_num_tokens": 30, "buffer_tokens": 6}}


def test_released_network_size_matches_the_schema() -> None:
    assert sum(v.numel() for v in Cutie().state_dict().values()) == CUTIE_PARAMS


def test_memory_is_bounded_in_the_run_length_and_grows_with_size_and_objects() -> None:
    parts = {f: cutie_memory_parts((480, 854), 2, DEFAULT_CONFIG, frames=f) for f in (10, 1000, 4000, None)}
    totals = {f: sum(p.values()) for f, p in parts.items()}
    assert totals[10] < totals[1000] <= totals[4000] == totals[None]
    assert parts[None]["long-term memory"] == 10000 * (4 * 65 + 8 + 4 * 256 * 2)
    one = sum(cutie_memory_parts((480, 854), 1, DEFAULT_CONFIG).values())
    assert one < totals[None] < sum(cutie_memory_parts((720, 1280), 2, DEFAULT_CONFIG).values())
    fp16 = cutie_memory_parts((480, 854), 2, DEFAULT_CONFIG, amp=True)
    assert fp16["activations"] * 2 == parts[None]["activations"]
    kept = cutie_memory_parts((480, 854), 2, DEFAULT_CONFIG, permanent_frames=10)
    assert kept["annotated frames"] == 11 * parts[None]["annotated frames"]


def test_estimate_reports_whether_it_fits() -> None:
    est = estimate_cutie_memory((480, 854), 1, DEFAULT_CONFIG, device="cpu", free=1 << 40)
    assert isinstance(est, MemoryEstimate) and est.fits and "working memory" in est.describe()
    assert estimate_cutie_memory((480, 854), 1, DEFAULT_CONFIG, free=1 << 20).fits is False
    half = estimate_cutie_memory((480, 854), 1, DEFAULT_CONFIG, amp=True, free=1 << 40)  # CPU: no fp16
    assert half.parts == est.parts


@pytest.mark.parametrize("use_long_term", [True, False])
def test_element_counts_bound_a_real_run(use_long_term: bool) -> None:
    torch.manual_seed(0)
    config = {**SMALL, "use_long_term": use_long_term}
    core = CutieCore(Cutie(TINY).eval(), config)
    gen = torch.Generator().manual_seed(0)
    mask = torch.zeros(40, 56, dtype=torch.int64)
    mask[5:30, 5:40] = 1
    hw, peak_work, peak_long = 12, 0, 0
    for t in range(41):
        core.step(torch.rand(3, 40, 56, generator=gen), mask if t == 0 else None)
        peak_work = max(peak_work, core.memory.work_tokens - core.memory.perm_tokens)
        peak_long = max(peak_long, core.memory.long_tokens)
        if t == 8:
            long_after_9 = core.memory.long_tokens
    working, long, permanent = memory_elements(hw, config, 41, 0)
    assert permanent == core.memory.perm_tokens == hw
    # working memory peaks inside a write, one frame above what a step leaves behind
    assert peak_work <= working <= peak_work + hw
    if use_long_term:
        assert peak_long <= long == 30  # 21 memory frames: pruned at the cap
        assert memory_elements(hw, config, 9, 0)[1] == long_after_9 == 5  # one consolidation so far
    else:
        assert long == peak_long == 0
