"""f-BRS controller paths the golden session does not reach, on a small random ResNet-34 model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from xmem_tui.interaction.click import FBRSController
from xmem_tui.model.fbrs import FBRSNet


@pytest.fixture(scope="module")
def net() -> FBRSNet:
    torch.manual_seed(0)
    return FBRSNet(34, 32).eval().requires_grad_(False)


def _image(h: int, w: int) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(0).standard_normal((3, h, w)).astype(np.float32))


def test_long_side_is_limited_and_the_result_mapped_back(net: FBRSNet, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[int, ...]] = []
    original = net.features

    def features(image: torch.Tensor, maps: torch.Tensor) -> torch.Tensor:
        seen.append(tuple(image.shape[-2:]))
        return original(image, maps)

    monkeypatch.setattr(net, "features", features)
    controller = FBRSController(net, "cpu", max_size=100)
    controller.set_image(_image(30, 250))
    prob = controller.add_click(120, 10, True)
    assert seen == [(12, 100)]  # round(30 * 100 / 250) = 12
    assert prob.shape == (30, 250) and prob.dtype == torch.float32
    assert torch.isfinite(prob).all() and prob.min() >= 0 and prob.max() <= 1


def test_clicks_outside_the_image_are_refused(net: FBRSNet) -> None:
    controller = FBRSController(net, "cpu")
    controller.set_image(_image(20, 30))
    with pytest.raises(ValueError, match="outside"):
        controller.add_click(30, 5, True)


def test_a_long_session_zooms_and_caps_the_fed_clicks(net: FBRSNet) -> None:
    controller = FBRSController(net, "cpu", zoom_target=64, zoom_min_crop=8, max_fun=3)
    controller.set_image(_image(40, 60))
    rng = np.random.default_rng(1)
    for i in range(10):
        controller.add_click(int(rng.integers(60)), int(rng.integers(40)), i % 3 != 1)
        assert controller.probability is not None and controller.probability.shape == (40, 60)
        if i >= 1:
            assert controller.stats.x0 is not None and 1 <= controller.stats.n_evals <= 3
        if controller.stats.roi is not None:  # outside the zoom ROI the result is 0
            rmin, rmax, cmin, cmax = controller.stats.roi
            outside = torch.ones(40, 60, dtype=torch.bool)
            outside[rmin:rmax + 1, cmin:cmax + 1] = False
            assert (controller.probability[outside] == 0).all()
    assert len(controller.clicks) == 10
    assert controller.opt_data is not None and controller.opt_data.shape == (2 * net.feature_channels,)
