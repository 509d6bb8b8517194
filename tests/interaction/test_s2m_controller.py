"""S2M interaction against the official golden output (README section 8), synthetic weights, float32 CPU."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from xmem_tui.inference.xmem_engine import image_to_tensor
from xmem_tui.interaction.base import ScribbleSegmenter
from xmem_tui.interaction.s2m import S2MController, S2MScribbleSegmenter, aggregate_hard
from xmem_tui.model.s2m import S2M

MAX_ABS = 1e-4  # README section 10


@pytest.fixture(scope="module")
def weights(synth_checkpoint: Callable[[str], Path]) -> dict[str, torch.Tensor]:
    return torch.load(synth_checkpoint("s2m"), weights_only=True)


@pytest.fixture(scope="module")
def net(synth_checkpoint: Callable[[str], Path]) -> S2M:
    return S2M.from_checkpoint(synth_checkpoint("s2m"), map_location="cpu")


@pytest.fixture(scope="module")
def golden(reference_dir: Path) -> dict[str, np.ndarray]:
    with np.load(reference_dir / "s2m_golden.npz") as data:
        return {k: data[k] for k in data.files}


def _probs(net: S2M, golden: dict[str, np.ndarray]) -> np.ndarray:
    segmenter = S2MScribbleSegmenter(net)
    return segmenter.interact(golden["image"], golden["prev_mask"], golden["scribbles"],
                              int(golden["num_objects"]))


@pytest.fixture(scope="module")
def probs(net: S2M, golden: dict[str, np.ndarray]) -> np.ndarray:
    return _probs(net, golden)


def test_golden_probabilities(probs: np.ndarray, golden: dict[str, np.ndarray]) -> None:
    assert probs.shape == golden["probs"].shape and probs.dtype == np.float32
    assert np.abs(probs - golden["probs"]).max() <= MAX_ABS


def test_golden_gui_index_mask(probs: np.ndarray, golden: dict[str, np.ndarray]) -> None:
    hard = aggregate_hard(torch.from_numpy(probs)).numpy()
    assert hard.shape == golden["gui_aggregated_hard"].shape
    np.testing.assert_array_equal(hard.argmax(0).astype(np.uint8), golden["gui_index_mask"])


def test_hard_aggregation_of_the_official_probabilities(golden: dict[str, np.ndarray]) -> None:
    # The x1000 factor turns float32 rounding of the logits (~1e-7) into up to ~1e-4 near ties.
    hard = aggregate_hard(torch.from_numpy(golden["probs"])).numpy()
    np.testing.assert_allclose(hard, golden["gui_aggregated_hard"], rtol=0, atol=1e-4)


def test_a_perturbed_weight_fails_the_comparison(weights: dict[str, torch.Tensor],
                                                 golden: dict[str, np.ndarray]) -> None:
    key = "classifier.classifier.3.weight"
    perturbed = S2M.from_checkpoint({**weights, key: weights[key] * (1 + 1e-3)})
    assert np.abs(_probs(perturbed, golden) - golden["probs"]).max() > MAX_ABS


def test_controller_takes_a_normalised_tensor_and_returns_torch(net: S2M, golden: dict[str, np.ndarray]) -> None:
    crop = (slice(30, 62), slice(56, 104))  # 32x48 around object 1's scribble, to stay fast
    image, prev, scribbles = (golden[k][crop] for k in ("image", "prev_mask", "scribbles"))
    controller = S2MController(net, 2, ignore_class=255)
    out = controller.interact(image_to_tensor(image).unsqueeze(0), prev, scribbles)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32 and out.shape == (2, 32, 48)
    np.testing.assert_array_equal(out.numpy(), S2MScribbleSegmenter(net).interact(image, prev, scribbles, 2))
    without = controller.interact(image_to_tensor(image), prev, np.full_like(scribbles, 255))
    assert (out - without).abs().max() > 0.05  # the scribbles drive the output


def test_adapter_fits_the_protocol(net: S2M) -> None:
    segmenter = S2MScribbleSegmenter(net)
    assert isinstance(segmenter, ScribbleSegmenter)
    assert segmenter.name == "S2M" and segmenter.weight_free is False
