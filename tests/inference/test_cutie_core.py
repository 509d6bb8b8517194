"""CutieCore behaviour beyond the golden replays: objects, masks, memory frames, options, errors."""

from __future__ import annotations

import pytest
import torch

from xmem_tui.inference import CutieCore
from xmem_tui.inference.cutie.core import stagger_steps
from xmem_tui.model import Cutie, CutieConfig
from xmem_tui.model.network import aggregate

TINY = CutieConfig(pixel_encoder_depth=18, pixel_dim=32, key_dim=16, value_dim=24, sensory_dim=8, embed_dim=32,
                   num_queries=4, num_blocks=1, ff_dim=64, up_dims=(32, 16, 8))
CONFIG = {"mem_every": 2, "top_k": 5, "stagger_updates": 2, "chunk_size": -1, "use_long_term": True,
          "max_internal_size": -1, "max_mem_frames": 5, "flip_aug": False, "amp": False,
          "long_term": {"count_usage": True, "max_mem_frames": 3, "min_mem_frames": 2, "num_prototypes": 4,
                        "max_num_tokens": 20, "buffer_tokens": 4}}
H, W = 40, 56  # padded to 48 x 64: 3 x 4 = 12 memory elements per frame
HW = 12


@pytest.fixture(scope="module")
def net() -> Cutie:
    torch.manual_seed(0)
    return Cutie(TINY).eval()


def _images(n: int, seed: int = 0) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return [torch.rand(3, H, W, generator=gen) for _ in range(n)]


def _mask(*boxes: tuple[int, int, int, int, int]) -> torch.Tensor:
    mask = torch.zeros(H, W, dtype=torch.int64)
    for label, y0, y1, x0, x1 in boxes:
        mask[y0:y1, x0:x1] = label
    return mask


def test_outputs_follow_the_order_objects_were_given(net: Cutie) -> None:
    core = CutieCore(net, CONFIG)
    images = _images(4)
    first = core.step(images[0], _mask((5, 0, 20, 0, 28), (2, 20, 40, 28, 56)), [5, 2])
    assert core.objects == [5, 2] and first.shape == (3, H, W) and first.dtype == torch.float32
    assert bool((first.argmax(0)[:20, :28] == 1).all()) and bool((first.argmax(0)[20:, 28:] == 2).all())
    for image in images[1:]:
        out = core.step(image)
        assert out.shape == (3, H, W) and torch.allclose(out.sum(0), torch.ones(H, W), atol=1e-5)
        assert bool(((out >= 0) & (out <= 1)).all())
        assert core.last_flags["segmented"]


def test_objects_default_to_the_mask_values_and_new_ones_are_appended(net: Cutie) -> None:
    core = CutieCore(net, CONFIG)
    images = _images(3)
    first = core.step(images[0], _mask((3, 0, 20, 0, 20)).numpy().astype("uint8"))  # arrays are taken too
    assert core.objects == [3] and not core.last_flags["segmented"]  # nothing known: no segmentation
    assert torch.equal(first.argmax(0) == 1, _mask((3, 0, 20, 0, 20)) == 3)
    core.step(images[1])
    out = core.step(images[2], _mask((3, 0, 20, 0, 20), (1, 25, 40, 30, 50)))
    assert core.objects == [3, 1] and core.last_flags["segmented"]  # a new object: segment, then merge
    assert out.shape == (3, H, W) and [b.objects for b in core.memory.buckets] == [[3], [1]]


def test_known_objects_missing_from_a_mask_keep_their_prediction_outside_it(net: Cutie) -> None:
    core = CutieCore(net, CONFIG)
    images = _images(3)
    core.step(images[0], _mask((1, 0, 20, 0, 28), (2, 20, 40, 28, 56)))
    predicted = core.step(images[1])
    core_b = CutieCore(net, CONFIG)
    core_b.step(images[0], _mask((1, 0, 20, 0, 28), (2, 20, 40, 28, 56)))
    merged = core_b.step(images[1], _mask((1, 0, 10, 0, 10)), [1])
    assert core_b.last_flags["segmented"]
    # object 1 as given; object 2 predicted (the same prediction as without a mask), removed under the mask
    given = (_mask((1, 0, 10, 0, 10)) == 1).float()
    expected = aggregate(torch.stack([given, predicted[2] * (1 - given)]), dim=0)[1]
    assert torch.allclose(merged, expected, atol=1e-5)


def test_memory_frames_end_and_permanent_masks(net: Cutie) -> None:
    images = _images(7)
    mask = _mask((1, 5, 30, 5, 40))
    core = CutieCore(net, CONFIG)
    sizes, flags = [], []
    for t, image in enumerate(images):
        core.step(image, mask if t in (0, 3) else None, end=t == len(images) - 1)
        sizes.append((core.memory.work_tokens, core.memory.long_tokens))
        flags.append(core.last_flags["is_mem_frame"])
    # memory frames: 0 (mask), 2 (mem_every), 3 (mask), 5; the last frame (end) is not memorised
    assert flags == [True, False, True, True, False, True, False]
    assert sizes[:3] == [(HW, 0), (HW, 0), (2 * HW, 0)] and sizes[-1] == sizes[-2]
    assert sizes[3] == (2 * HW, 4)  # two working frames: the older one became 4 prototypes
    assert core.memory.perm_tokens == HW  # official: only the bucket's first memory frame
    kept = CutieCore(net, CONFIG, permanent_masks=True)
    for t, image in enumerate(images):
        kept.step(image, mask if t in (0, 3) else None)
    assert kept.memory.perm_tokens == 2 * HW
    again = CutieCore(net, CONFIG, permanent_masks=True)
    again.step(images[0], mask)
    sensory = again.memory.sensory[1].clone()
    again.step(images[1], mask, write_memory=False)  # fed again: refresh the sensory memory only
    assert again.memory.perm_tokens == HW and again.memory.work_tokens == HW
    assert not torch.equal(again.memory.sensory[1], sensory)


def test_sparse_and_dense_readouts_agree(net: Cutie) -> None:
    images = _images(6, seed=3)
    mask = _mask((1, 5, 30, 5, 40), (2, 30, 40, 0, 20))
    outs = []
    for sparse in (True, False):
        core = CutieCore(net, CONFIG, sparse_readout=sparse)
        outs.append([core.step(image, mask if t == 0 else None) for t, image in enumerate(images)])
    for a, b in zip(*outs, strict=True):
        assert torch.allclose(a, b, atol=1e-5)


def test_clear_memory_keeps_objects_and_restarts_time(net: Cutie) -> None:
    core = CutieCore(net, CONFIG)
    images = _images(3)
    core.step(images[0], _mask((1, 0, 20, 0, 20)))
    core.step(images[1])
    core.clear_memory()
    assert core.t == -1 and not core.memory.engaged and core.objects == [1]
    with pytest.raises(ValueError, match="first frame needs a mask"):
        core.step(images[2])
    assert core.t == -1  # a refused step changes nothing
    out = core.step(images[2], _mask((1, 0, 20, 0, 20)))
    assert out.shape == (2, H, W) and core.memory.work_tokens == HW


def test_bad_calls_are_refused(net: Cutie) -> None:
    core = CutieCore(net, CONFIG)
    image = _images(1)[0]
    with pytest.raises(ValueError, match="at least one object"):
        core.step(image, torch.zeros(H, W, dtype=torch.int64))
    core.step(image, _mask((1, 0, 20, 0, 20)))
    with pytest.raises(ValueError, match="permanent"):
        core.step(image, permanent=True)
    core.step(image, _mask((1, 0, 20, 0, 20), (2, 20, 40, 0, 20)), end=True)  # object 2 is never memorised
    with pytest.raises(ValueError, match="object 2 was only given on a final"):
        core.step(image)


@pytest.mark.parametrize(("change", "message"), [
    ({"top_k": None}, "lacks top_k"),
    ({"long_term": {"count_usage": True}}, "lacks long_term.max_mem_frames"),
    ({"long_term": {**CONFIG["long_term"], "min_mem_frames": 3}}, "min_mem_frames"),
    ({"chunk_size": 2}, "chunk_size not supported"),
    ({"flip_aug": True}, "flip_aug not supported"),
])
def test_config_errors_name_the_key(change: dict, message: str, net: Cutie) -> None:
    config = {k: v for k, v in {**CONFIG, **change}.items() if v is not None}
    with pytest.raises(ValueError, match=message):
        CutieCore(net, config)


def test_sensory_updates_are_spread_over_the_memory_interval() -> None:
    assert stagger_steps(5, 5) == {1, 2, 3, 4, 5}
    assert stagger_steps(10, 5) == {1, 3, 5, 7, 10}
    assert stagger_steps(2, 5) == {1, 2}


def test_mixed_precision_keeps_memory_in_float32(net: Cutie) -> None:
    """CPU bfloat16 autocast stands in for the engine's CUDA fp16 one: the network runs in half precision,
    while memory, sensory memory and summaries stay float32 and the outputs stay close."""
    images = _images(6, seed=4)
    mask = _mask((1, 5, 30, 5, 40), (2, 30, 40, 0, 20))
    outs = {}
    for half in (False, True):
        core = CutieCore(net, CONFIG)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=half):
            outs[half] = [core.step(image, mask if t == 0 else None) for t, image in enumerate(images)]
        stores = [s for b in core.memory.buckets for s in (b.perm, b.work, b.long) if s.key is not None]
        assert all(s.key.dtype == s.values[0].dtype == torch.float32 for s in stores)
        assert core.memory.sensory[1].dtype == core.memory.summaries[2].dtype == torch.float32
    for full, half_out in zip(outs[False], outs[True], strict=True):
        assert half_out.dtype == torch.float32 and torch.allclose(full, half_out, atol=1e-2)


def test_core_is_exported_lazily_by_the_inference_package() -> None:
    import xmem_tui.inference as inference
    from xmem_tui.inference.cutie import core

    assert inference.CutieCore is core.CutieCore and "CutieCore" in inference.__all__
