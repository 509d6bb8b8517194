"""Permanent memory for user-annotated frames (an extension; the official core is the default).

Long runs with tiny memory settings force many consolidations and prunings; a permanent frame must come
out untouched, never have been a consolidation candidate, and still be read.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from xmem_tui.inference import InferenceCore
from xmem_tui.inference.attention import dense_affinity, similarity, topk_softmax
from xmem_tui.inference.manager import MemoryManager
from xmem_tui.inference.xmem_engine import XMemEngine, image_to_tensor
from xmem_tui.model import XMem, XMemConfig

TINY = {"top_k": 30, "mem_every": 1, "deep_update_every": -1, "enable_long_term": True,
        "enable_long_term_count_usage": True, "max_mid_term_frames": 3, "min_mid_term_frames": 1,
        "num_prototypes": 3, "max_long_term_elements": 12}
H, W = 36, 50  # padded to 48x64 -> 3x4 = 12 memory elements per frame
HW = 12
KEYFRAME = 17  # a user frame in the middle of the run


@pytest.fixture(scope="module")
def net() -> XMem:
    torch.manual_seed(0)
    return XMem(XMemConfig(16, 32, 8)).eval()


def _video(n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (H, W, 3), dtype=np.uint8) for _ in range(n)]


def _mask(seed: int, labels: tuple[int, ...] = (1, 2)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mask = np.zeros((H, W), np.uint8)
    for label in labels:
        y, x = rng.integers(0, H - 12), rng.integers(0, W - 16)
        mask[y:y + 12, x:x + 16] = label
    return mask


def _onehot(mask: np.ndarray, labels: list[int]) -> torch.Tensor:
    return torch.stack([torch.from_numpy(mask == k) for k in labels]).float()


def _rows_in(rows: torch.Tensor, table: torch.Tensor | None) -> int:
    """How many of ``rows`` appear (exactly) as rows of ``table``."""
    if table is None or table.shape[0] == 0:
        return 0
    return int((rows[:, None, :] == table[None, :, :]).all(-1).any(1).sum())


def _run(net: XMem, permanent: bool, n: int = 40) -> tuple[InferenceCore, dict[int, torch.Tensor]]:
    """Masks at frames 0 and KEYFRAME; returns the core and each masked frame's memory keys as written."""
    core = InferenceCore(net, TINY, permanent_masks=permanent)
    core.set_all_labels([1, 2])
    keys: dict[int, torch.Tensor] = {}
    for t, frame in enumerate(_video(n)):
        mask = _onehot(_mask(t), [1, 2]) if t in (0, KEYFRAME) else None
        store = core.memory.perm if permanent else core.memory.work
        before = store.size
        core.step(image_to_tensor(frame), mask)
        if mask is not None:
            keys[t] = store.key[before:before + HW].clone()
    return core, keys


def test_permanent_frames_survive_consolidation_and_pruning(net: XMem) -> None:
    core, keys = _run(net, permanent=True)
    memory = core.memory
    events = [e["event"] for e in memory.events]
    assert events.count("consolidation") >= 10 and "long_term_pruning" in events  # real memory pressure
    assert memory.perm.size == 2 * HW and memory.perm.use_count is None
    torch.testing.assert_close(memory.perm.key, torch.cat([keys[0], keys[KEYFRAME]]), rtol=0, atol=0)
    assert memory.perm.group_sizes() == [2 * HW]
    for t in (0, KEYFRAME):  # never a consolidation candidate: no prototype key is one of theirs
        assert _rows_in(keys[t], memory.long.key) == 0 and _rows_in(keys[t], memory.work.key) == 0
    assert memory.protected == 0  # the first memory frame is kept by permanent memory, not working memory
    assert memory.work.size <= TINY["max_mid_term_frames"] * HW


def test_without_permanent_memory_the_keyframe_is_consolidated_away(net: XMem) -> None:
    """The contrast that makes the test above meaningful: the official core forgets frame KEYFRAME."""
    core, keys = _run(net, permanent=False)
    memory = core.memory
    assert memory.perm.size == 0 and memory.protected == HW
    assert _rows_in(keys[0], memory.work.key) == HW  # the official first-frame rule
    assert _rows_in(keys[KEYFRAME], memory.work.key) == 0


def test_permanent_and_default_agree_until_memory_differs(net: XMem) -> None:
    """Same elements in the same column order: the first frames segment identically."""
    frames = _video(3)
    outs = []
    for permanent in (False, True):
        core = InferenceCore(net, TINY, permanent_masks=permanent)
        core.set_all_labels([1, 2])
        outs.append([core.step(image_to_tensor(f), _onehot(_mask(0), [1, 2]) if t == 0 else None)
                     for t, f in enumerate(frames[:2])])
    torch.testing.assert_close(outs[0][1], outs[1][1], rtol=0, atol=1e-6)


def test_readout_reads_permanent_long_term_and_working_memory_together() -> None:
    g = torch.Generator().manual_seed(3)
    hw, ck, cv = 6, 8, 5
    config = {"top_k": 4, "enable_long_term": True, "enable_long_term_count_usage": True,
              "max_mid_term_frames": 3, "min_mid_term_frames": 1, "num_prototypes": 2,
              "max_long_term_elements": 50}
    mm = MemoryManager(config, sparse_readout=True)

    def frame() -> tuple[torch.Tensor, ...]:
        return (torch.randn(hw, ck, generator=g), 1 + torch.rand(hw, generator=g),
                torch.rand(hw, ck, generator=g), torch.randn(hw, 1, cv, generator=g))

    first = frame()
    mm.add(*first, [0], permanent=True)
    for _ in range(4):
        mm.add(*frame(), [0])
    assert mm.long.size > 0 and mm.work.size > 0 and mm.perm.size == hw
    query, selection = torch.randn(9, ck, generator=g), torch.rand(9, ck, generator=g)
    query[:3] = first[0][:3]  # three queries sit exactly on permanent elements
    keys = torch.cat([mm.perm.key, mm.long.key, mm.work.key])
    shrink = torch.cat([mm.perm.shrinkage, mm.long.shrinkage, mm.work.shrinkage])
    values = torch.cat([mm.perm.values[0], mm.long.values[0], mm.work.values[0]])
    weights, indices = topk_softmax(similarity(keys, shrink, query, selection), 4)
    expected = dense_affinity(weights, indices, keys.shape[0]) @ values
    use_before = mm.work.use_count.clone()
    out = mm.match(query, selection)
    torch.testing.assert_close(out[:, 0], expected, rtol=1e-5, atol=1e-5)
    assert bool((indices[:3] < hw).any())  # permanent columns won top-k places
    work_weight = (mm.work.use_count - use_before).sum()
    assert work_weight < 9 - 1e-3  # the rest of each query's unit weight went to permanent / long-term


def test_objects_added_later_get_aligned_groups(net: XMem) -> None:
    """eval.py style: object 2 first appears on a later user frame; both memories number groups alike."""
    core = InferenceCore(net, TINY, permanent_masks=True)
    frames = _video(24, seed=1)
    core.set_all_labels([1])
    for t, frame in enumerate(frames):
        mask = None
        if t == 0:
            mask = _onehot(_mask(0, (1,)), [1])
        elif t == 5:
            core.set_all_labels([1, 2])
            mask = _onehot(_mask(5, (2,)), [1, 2])
        out = core.step(image_to_tensor(frame), mask, valid_labels=[2] if t == 5 else None)
        assert torch.isfinite(out).all()
    memory = core.memory
    assert memory.perm.groups == memory.work.groups == [[0], [1]]
    assert memory.perm.group_sizes() == [2 * HW, HW]  # object 2's group covers the last perm frame only
    assert out.shape == (3, H, W)
    assert any(e["event"] == "consolidation" for e in memory.events)


def test_a_later_permanent_frame_keeps_the_official_first_frame_rule(net: XMem) -> None:
    core = InferenceCore(net, TINY)
    core.set_all_labels([1])
    frames = _video(12)
    for t, frame in enumerate(frames):
        mask = _onehot(_mask(t, (1,)), [1]) if t in (0, 6) else None
        core.step(image_to_tensor(frame), mask, permanent=t == 6 or None)
    assert core.memory.protected == HW and core.memory.perm.size == HW
    with pytest.raises(ValueError, match="with a mask"):
        core.step(image_to_tensor(frames[0]), None, permanent=True)


def test_engine_keeps_user_masks_permanently_and_once(net: XMem) -> None:
    frames = _video(6)
    engine = XMemEngine(net, TINY, torch.device("cpu"))
    engine.reset([1, 2])
    engine.step(frames[4], _mask(4))  # priming with a later keyframe
    engine.step(frames[0], _mask(0))  # the start frame
    assert not engine.core.last_flags["segmented"]  # a user mask is exhaustive: no discarded segmentation
    for t in range(1, 4):
        engine.step(frames[t])
    perm = engine.core.memory.perm.size
    assert perm == 2 * HW
    last_mem = engine.core.last_mem_t
    engine.step(frames[4], _mask(4))  # reached again during the run: not stored twice
    assert engine.core.memory.perm.size == perm and engine.core.last_mem_t == last_mem + 1
    assert engine.core.last_flags["is_mem_frame"] and not engine.core.last_flags["permanent"]
    engine.step(frames[4], _mask(5))  # a different mask on that frame is new information
    assert engine.core.memory.perm.size == perm + HW
    stats = engine.memory_stats()
    assert stats.extra["permanent"] == perm + HW and stats.working == engine.core.memory.work.size + perm + HW
    engine.reset([1, 2])
    engine.step(frames[4], _mask(4))
    assert engine.core.memory.perm.size == HW  # reset forgets what was stored


def test_engine_without_permanent_masks_is_the_official_core(net: XMem) -> None:
    engine = XMemEngine(net, TINY, torch.device("cpu"), permanent_masks=False)
    engine.reset([1, 2])
    outs = []
    for t, frame in enumerate(_video(5)):
        outs.append(engine.step(frame, _mask(t) if t in (0, 3) else None))
        if t == 3:
            assert engine.core.last_flags["segmented"]  # the official core segments, then takes the mask
    assert engine.core.memory.perm.size == 0 and engine.core.memory.protected == HW
    permanent = XMemEngine(net, TINY, torch.device("cpu"))
    permanent.reset([1, 2])
    for t, frame in enumerate(_video(4)):
        out = permanent.step(frame, _mask(t) if t in (0, 3) else None)
        # the same elements in the same column order so far; a masked frame gives the mask either way
        np.testing.assert_allclose(out, outs[t], atol=1e-5)
