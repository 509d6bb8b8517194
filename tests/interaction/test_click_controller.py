"""f-BRS click session against the official golden run (README sections 9-10), synthetic weights, float32 CPU."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from xmem_tui.inference.xmem_engine import image_to_tensor
from xmem_tui.interaction.base import ClickSegmenter
from xmem_tui.interaction.click import ClickStats, FBRSClickSegmenter, FBRSController
from xmem_tui.model.fbrs import FBRSNet

pytestmark = pytest.mark.slow

CLICK1_MAX, EARLY_MAX, CLICK4_MAX, GRAD_REL = 1e-4, 1e-3, 2e-3, 1e-3  # README section 10


@pytest.fixture(scope="module")
def weights(synth_checkpoint: Callable[[str], Path]) -> dict[str, torch.Tensor]:
    return torch.load(synth_checkpoint("fbrs_resnet50_dh128"), weights_only=True)


@pytest.fixture(scope="module")
def net(synth_checkpoint: Callable[[str], Path]) -> FBRSNet:
    return FBRSNet.from_checkpoint(synth_checkpoint("fbrs_resnet50_dh128"), map_location="cpu")


@pytest.fixture(scope="module")
def golden(reference_dir: Path) -> dict:
    with np.load(reference_dir / "fbrs_golden.npz") as data:
        out = {k: data[k] for k in data.files}
    out["info"] = json.loads(str(out.pop("info_json")))
    return out


@pytest.fixture(scope="module")
def session(net: FBRSNet, golden: dict) -> list[dict]:
    """Replay the demo's flow: one controller, ``interact`` per click; record what each click produced."""
    controller = FBRSController(net, "cpu")
    image = image_to_tensor(golden["image"])
    results = []
    for x, y, positive in golden["clicks"].tolist():
        mask = controller.interact(image, x, y, bool(positive))
        assert controller.probability is not None and controller.opt_data is not None
        results.append({"mask": mask.numpy(), "prob": controller.probability.numpy(), "stats": controller.stats,
                        "opt_data": np.asarray(controller.opt_data, dtype=np.float32)})
    return results


def _max_abs(session: list[dict], golden: dict, click: int) -> float:
    return float(np.abs(session[click - 1]["prob"] - golden[f"prob_after_click{click}"]).max())


def test_click1_probability(session: list[dict], golden: dict) -> None:
    assert session[0]["prob"].dtype == np.float32 and session[0]["prob"].shape == (100, 180)
    assert _max_abs(session, golden, 1) <= CLICK1_MAX
    np.testing.assert_array_equal(session[0]["mask"], golden["mask_after_click1"])
    assert session[0]["stats"].n_evals == 0 and session[0]["stats"].roi is None


@pytest.mark.parametrize("click", [2, 3, 4])
def test_zoom_roi_and_evaluation_counts(session: list[dict], golden: dict, click: int) -> None:
    info = golden["info"][click - 1]
    stats: ClickStats = session[click - 1]["stats"]
    assert list(stats.roi) == info["object_roi"]
    assert stats.n_evals == info["n_func_evals"]  # 3 / 6 / 19


@pytest.mark.parametrize("click", [2, 3, 4])
def test_warm_start_and_first_gradient(session: list[dict], golden: dict, click: int) -> None:
    stats: ClickStats = session[click - 1]["stats"]
    assert stats.x0 is not None and stats.first_grad is not None
    np.testing.assert_allclose(stats.x0, golden[f"lbfgs_x0_click{click}"], rtol=0, atol=1e-5)
    reference = golden[f"lbfgs_first_grad_click{click}"]
    assert np.abs(stats.first_grad - reference).max() <= GRAD_REL * np.abs(reference).max()


@pytest.mark.parametrize("click", [2, 3])
def test_clicks_2_and_3_probability(session: list[dict], golden: dict, click: int) -> None:
    assert _max_abs(session, golden, click) <= EARLY_MAX
    np.testing.assert_allclose(session[click - 1]["stats"].f_values, golden["info"][click - 1]["lbfgs_f_values"],
                               rtol=1e-4)


def test_click4_probability(session: list[dict], golden: dict) -> None:
    """Click 4 (19 L-BFGS evaluations) amplifies float32 noise of the warm start.

    README section 10: if only click 4 misses its bound, compare the L-BFGS trajectories before suspecting a
    bug. Measured on this project's CPUs: perturbing the warm start below float32 resolution moves the result
    by 1e-5..3e-3 while every function value stays within 0.5% of the official one. So the bound is primary,
    and the fallback demands the official trajectory (same evaluations, f-values within 1%), a tiny mean
    difference and the same mask up to a few pixels. A real bug moves the f-values far more (see
    test_a_perturbed_weight_fails_the_comparison).
    """
    ours, reference = session[3]["prob"], golden["prob_after_click4"]
    if _max_abs(session, golden, 4) <= CLICK4_MAX:
        return
    np.testing.assert_allclose(session[3]["stats"].f_values, golden["info"][3]["lbfgs_f_values"], rtol=1e-2)
    assert np.abs(ours - reference).mean() <= 5e-4
    assert ((ours > 0.5) != (reference > 0.5)).mean() <= 1e-3


def test_masks_are_thresholded_probabilities(session: list[dict], golden: dict) -> None:
    for click, result in enumerate(session, 1):
        np.testing.assert_array_equal(result["mask"], (result["prob"] > 0.5).astype(np.float32))
        assert (result["mask"] != golden[f"mask_after_click{click}"]).mean() <= 1e-3


def test_a_perturbed_weight_fails_the_comparison(weights: dict[str, torch.Tensor], golden: dict) -> None:
    key = "feature_extractor.backbone.conv1.0.weight"
    perturbed = FBRSNet.from_checkpoint({**weights, key: weights[key] * (1 + 1e-3)})
    controller = FBRSController(perturbed, "cpu")
    x, y, positive = golden["clicks"][0].tolist()
    controller.interact(image_to_tensor(golden["image"]), x, y, bool(positive))
    assert controller.probability is not None
    assert np.abs(controller.probability.numpy() - golden["prob_after_click1"]).max() > CLICK1_MAX


def test_adapter_fits_the_protocol_and_resets(net: FBRSNet, golden: dict) -> None:
    segmenter = FBRSClickSegmenter(net, "cpu")
    assert isinstance(segmenter, ClickSegmenter)
    assert segmenter.name == "f-BRS" and segmenter.weight_free is False
    segmenter.set_image(golden["image"][30:62, 50:98])  # small crop: one click, no zoom, fast
    first = segmenter.add_click(20, 17, True)
    assert first.dtype == np.float32 and first.shape == (32, 48)
    segmenter.reset()
    assert segmenter.controller.clicks == [] and segmenter.controller.probability is None
    np.testing.assert_array_equal(segmenter.add_click(20, 17, True), first)
    assert len(segmenter.controller.clicks) == 1
