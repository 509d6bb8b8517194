"""CutieEngine on CPU with the reference's synthesized Cutie-base weights, on real judo and DAVIS frames."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from xmem_tui.inference import CutieCore
from xmem_tui.inference.cutie_engine import DEFAULT_CONFIG, CutieEngine, load_cutie
from xmem_tui.inference.engine import Engine, MemoryStats
from xmem_tui.inference.placement import frame_to_tensor
from xmem_tui.media.images import read_image_rgb
from xmem_tui.media.masks import read_index_mask
from xmem_tui.media.resize import mask_to_shape, to_processing
from xmem_tui.model import Cutie

SIZE = 96  # processing size: 854x480 -> 170x96, 6 x 11 = 66 memory elements per frame
HW = 66


@pytest.fixture(scope="module")
def fast(synth_checkpoint: Callable[[str], Path]) -> Cutie:
    """What the app loads on CPU: contiguous layout, the default backend after the keys."""
    return load_cutie(synth_checkpoint("cutie_base"), "cpu")


@pytest.fixture(scope="module")
def judo(media_dir: Path) -> tuple[list[np.ndarray], np.ndarray]:
    """Judo frames 0-4 at processing size and a two-object mask: the frame-0 object as label 3, the frame-8
    one (object 3 of the annotations) as label 7."""
    root = media_dir / "judo"
    frames = [to_processing(read_image_rgb(root / "JPEGImages" / f"{i:05d}.jpg"), SIZE) for i in range(5)]
    a, b = (mask_to_shape(read_index_mask(root / "Annotations" / f"{i:05d}.png"), frames[0].shape[:2]) for i in (0, 8))
    mask = np.select([a == 1, b == 3], [3, 7], 0).astype(np.uint8)
    assert (mask == 3).sum() > 500 and (mask == 7).sum() > 50
    return frames, mask


def test_engine_matches_the_official_core_and_maps_labels(
        fast: Cutie, synth_checkpoint: Callable[[str], Path], judo: tuple[list[np.ndarray], np.ndarray]) -> None:
    frames, mask = judo
    engine = CutieEngine(fast, DEFAULT_CONFIG, torch.device("cpu"), amp=True, permanent_masks=False)
    assert isinstance(engine, Engine) and engine.name == "Cutie" and not engine.weight_free and not engine.amp
    engine.reset([3, 7])
    core = CutieCore(Cutie.from_checkpoint(synth_checkpoint("cutie_base")), DEFAULT_CONFIG)
    index = torch.from_numpy(mask.astype(np.int64))
    for t, frame in enumerate(frames):
        out = engine.step(frame, mask if t == 0 else None, end=t == len(frames) - 1)
        ref = core.step(frame_to_tensor(frame), index if t == 0 else None, [3, 7] if t == 0 else None,
                        end=t == len(frames) - 1).numpy()
        assert isinstance(out, np.ndarray) and out.dtype == np.float32 and out.shape == (3, *frame.shape[:2])
        np.testing.assert_allclose(out.sum(0), 1, atol=1e-5)
        np.testing.assert_allclose(out, ref, atol=2e-3)  # NNPACK after the keys vs plain convolutions
        assert (out.argmax(0) != ref.argmax(0)).mean() < 1e-3
    first = engine.step(frames[0], mask)  # a given mask comes back soft-aggregated, channel k = label k
    assert ((first.argmax(0) == 1) == (mask == 3)).all() and ((first.argmax(0) == 2) == (mask == 7)).all()
    stats = engine.memory_stats()
    assert isinstance(stats, MemoryStats) and stats.working == 2 * HW  # frame 0 (frames 1-4 < mem_every), then 0 again
    assert stats.extra["long_term_max"] == DEFAULT_CONFIG["long_term"]["max_num_tokens"]


def test_user_frames_stay_in_permanent_memory_and_count_once(
        fast: Cutie, media_dir: Path) -> None:
    root = media_dir / "davis16" / "camel"
    frames = [to_processing(read_image_rgb(root / "JPEGImages" / f"{i:05d}.jpg"), SIZE) for i in range(6)]
    masks = [(mask_to_shape(read_index_mask(root / "Annotations" / f"{i:05d}.png"), frames[0].shape[:2]) > 0)
             .astype(np.uint8) for i in (0, 4)]
    engine = CutieEngine(fast, DEFAULT_CONFIG, "cpu")
    engine.reset([1])
    engine.step(frames[4], masks[1])  # priming with another annotated frame
    engine.step(frames[0], masks[0])
    for t in range(1, 6):
        out = engine.step(frames[t], masks[1] if t == 4 else None)  # frame 4 reached again: not stored twice
        assert out.shape == (2, *frames[0].shape[:2]) and np.isfinite(out).all()
    stats = engine.memory_stats()
    # only the two annotated frames: 1-3 and 5 are within mem_every of an annotated frame
    assert stats.extra["permanent"] == stats.working == 2 * HW
    engine.reset([1])
    assert engine.memory_stats() == MemoryStats(working=0, long_term=0, extra={
        "long_term_max": float(DEFAULT_CONFIG["long_term"]["max_num_tokens"]), "permanent": 0.0})


def test_bad_calls_are_refused(fast: Cutie) -> None:
    engine = CutieEngine(fast, DEFAULT_CONFIG, "cpu")
    frame = np.zeros((40, 56, 3), np.uint8)
    with pytest.raises(ValueError, match="reset"):
        engine.step(frame)
    with pytest.raises(ValueError, match="increasing"):
        engine.reset([2, 1])
    engine.reset([1])
    with pytest.raises(ValueError, match="needs a mask"):
        engine.step(frame)
    with pytest.raises(ValueError, match="does not match"):
        engine.step(frame, np.zeros((40, 50), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        engine.step(frame.astype(np.float32), np.ones((40, 56), np.uint8))
