"""CPU (OpenCV/numpy) and torch compositing give the same pixels within rounding; formulas are right."""

from __future__ import annotations

import numpy as np
import pytest

from xmem_tui.export.composite import CpuCompositor, TorchCompositor, is_green, make_compositor


@pytest.fixture
def scene() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    frame = rng.integers(0, 256, (72, 128, 3), dtype=np.uint8)
    alpha = rng.integers(0, 256, (72, 128), dtype=np.uint8)
    alpha[:20] = 0
    alpha[-20:] = 255
    alphas = rng.integers(0, 256, (2, 72, 128), dtype=np.uint8)
    return frame, alpha, alphas


def test_greenscreen_cpu_and_torch_agree(scene: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    frame, alpha, _ = scene
    background = np.zeros_like(frame)
    background[:] = (0, 255, 0)
    for despill in (False, True):
        cpu = CpuCompositor().greenscreen(frame, alpha, background, despill)
        gpu = TorchCompositor("cpu").greenscreen(frame, alpha, background, despill)
        diff = np.abs(cpu.astype(int) - gpu.astype(int))
        assert diff.max() <= 1 and (diff == 0).mean() > 0.99


def test_greenscreen_formula(scene: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    frame, alpha, _ = scene
    background = np.zeros_like(frame)
    background[:] = (0, 255, 0)
    out = CpuCompositor().greenscreen(frame, alpha, background, despill=False)
    assert (out[:20] == (0, 255, 0)).all() and (out[-20:] == frame[-20:]).all()
    a = alpha[30, 40] / 255
    assert np.allclose(out[30, 40], frame[30, 40] * a + np.array([0, 255, 0]) * (1 - a), atol=1)


@pytest.mark.parametrize("compositor", [CpuCompositor(), TorchCompositor("cpu")])
def test_despill_limits_green_on_partial_edges_only(compositor: object) -> None:
    frame = np.array([[[10, 200, 30], [10, 200, 30], [10, 200, 30]]], np.uint8)
    alpha = np.array([[0, 255, 255]], np.uint8)
    alpha[0, 1] = 128
    black = np.zeros_like(frame)
    out = compositor.greenscreen(frame, alpha, black, despill=True)  # type: ignore[attr-defined]
    assert out[0, 1].tolist() == [5, 15, 15]  # green limited to max(r, b) = 30, then half-blended over black
    assert out[0, 2].tolist() == [10, 200, 30] and out[0, 0].tolist() == [0, 0, 0]
    assert is_green((0, 255, 0)) and not is_green((0, 0, 255))


def test_overlay_cpu_and_torch_agree(scene: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    frame, _, alphas = scene
    colors = [(128, 0, 0), (0, 128, 0)]
    cpu = CpuCompositor().overlay(frame, alphas, colors, 0.5)
    gpu = TorchCompositor("cpu").overlay(frame, alphas, colors, 0.5)
    diff = np.abs(cpu.astype(int) - gpu.astype(int))
    assert diff.max() <= 1 and (diff == 0).mean() > 0.99
    full = np.full_like(alphas, 255)
    out = CpuCompositor().overlay(frame, full[:1], colors[:1], 0.5)
    assert np.allclose(out, frame * 0.5 + np.array(colors[0]) * 0.5, atol=1)


def test_make_compositor() -> None:
    assert make_compositor("cpu").name == "cpu"
    assert make_compositor("auto").name in ("cpu", "torch:cuda")
