"""XMemEngine: the Engine protocol around InferenceCore (numpy uint8 in, float32 probabilities out)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from xmem_tui.inference import InferenceCore
from xmem_tui.inference.engine import Engine, MemoryStats
from xmem_tui.inference.xmem_engine import XMemEngine, image_to_tensor
from xmem_tui.model import XMem, XMemConfig

CONFIG = {"top_k": 30, "mem_every": 3, "deep_update_every": -1, "enable_long_term": True,
          "enable_long_term_count_usage": True, "max_mid_term_frames": 4, "min_mid_term_frames": 2,
          "num_prototypes": 8, "max_long_term_elements": 100}


@pytest.fixture(scope="module")
def net() -> XMem:
    torch.manual_seed(0)
    return XMem(XMemConfig(16, 32, 8)).eval()


def _video(n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (36, 50, 3), dtype=np.uint8) for _ in range(n)]


def test_image_to_tensor_normalises_with_imagenet_statistics() -> None:
    frame = np.zeros((2, 3, 3), np.uint8)
    frame[..., 0] = 255
    x = image_to_tensor(frame)
    assert x.shape == (3, 2, 3) and x.dtype == torch.float32
    assert torch.allclose(x[:, 0, 0], torch.tensor([(1 - 0.485) / 0.229, -0.456 / 0.224, -0.406 / 0.225]))


def test_engine_matches_core_and_maps_labels(net: XMem) -> None:
    frames = _video(5)
    index = np.zeros((36, 50), np.uint8)
    index[5:15, 5:25] = 3
    index[20:30, 20:45] = 7
    engine = XMemEngine(net, CONFIG, torch.device("cpu"), amp=True)
    assert isinstance(engine, Engine) and engine.name == "XMem (torch)" and not engine.weight_free
    engine.reset([3, 7])
    core = InferenceCore(net, CONFIG)
    core.set_all_labels([3, 7])
    onehot = torch.stack([torch.from_numpy(index == 3), torch.from_numpy(index == 7)]).float()
    for t, frame in enumerate(frames):
        out = engine.step(frame, index if t == 0 else None)
        ref = core.step(image_to_tensor(frame), onehot if t == 0 else None).numpy()
        assert isinstance(out, np.ndarray) and out.dtype == np.float32 and out.shape == (3, 36, 50)
        np.testing.assert_allclose(out, ref, atol=1e-6)
    assert (out.argmax(0)[index == 7] == 2).mean() > 0.0  # channel 2 is label 7
    stats = engine.memory_stats()
    assert isinstance(stats, MemoryStats) and stats.working == 2 * 3 * 4  # frames 0 and 3, 3x4 each


def test_reset_clears_memory_and_validates_labels(net: XMem) -> None:
    engine = XMemEngine(net, CONFIG, torch.device("cpu"), amp=False)
    engine.reset([1])
    frame = _video(1)[0]
    engine.step(frame, np.ones((36, 50), np.uint8))
    assert engine.memory_stats().working > 0
    engine.reset([1, 2])
    assert engine.memory_stats().working == 0 and engine.core.t == -1
    with pytest.raises(ValueError, match="increasing"):
        engine.reset([2, 1])
    with pytest.raises(ValueError, match="needs a mask"):
        engine.step(frame)
