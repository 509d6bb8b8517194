"""CPU backends: NNPACK convolutions equal direct ones, what gets converted, and the fallback to torch."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from xmem_tui.inference import cpu_backend
from xmem_tui.inference.cpu_backend import NNPackConv2d, apply_backend, backend_of, use_nnpack
from xmem_tui.inference.xmem_engine import XMemEngine, load_xmem
from xmem_tui.model import XMem, XMemConfig

CONFIG = {"top_k": 30, "mem_every": 3, "deep_update_every": -1, "enable_long_term": False}
needs_nnpack = pytest.mark.skipif(cpu_backend.nnpack_problem() is not None, reason="no NNPACK in this torch")


def _conv(cin: int, cout: int) -> nn.Conv2d:
    torch.manual_seed(0)
    conv = nn.Conv2d(cin, cout, 3, padding=1)
    conv.__class__ = NNPackConv2d
    return conv


@needs_nnpack
@pytest.mark.parametrize(("batch", "size"), [(1, (24, 30)), (3, (21, 37)), (2, (5, 7))])
def test_nnpack_convolution_equals_the_direct_one(batch: int, size: tuple[int, int]) -> None:
    conv = _conv(32, 16)
    x = torch.randn(batch, 32, *size, generator=torch.Generator().manual_seed(1))
    ref = F.conv2d(x.double(), conv.weight.double(), conv.bias.double(), padding=1).float()
    with torch.inference_mode():
        out = conv(x)
    assert out.shape == ref.shape
    assert (out - ref).abs().max() <= 1e-4 * ref.abs().max()


@needs_nnpack
def test_nnpack_is_really_used_only_where_it_pays(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[int, ...]] = []
    real = torch._nnpack_spatial_convolution

    def spy(x: torch.Tensor, *args: object) -> torch.Tensor:
        calls.append(tuple(x.shape))
        return real(x, *args)

    monkeypatch.setattr(torch, "_nnpack_spatial_convolution", spy)
    conv = _conv(8, 8)
    with torch.inference_mode():
        conv(torch.randn(2, 8, 20, 20))  # one call per batch row
        conv(torch.randn(1, 8, 19, 20))  # under MIN_PIXELS: direct
    assert calls == [(1, 8, 20, 20), (1, 8, 20, 20)]
    x = torch.randn(1, 8, 20, 20, requires_grad=True)  # autograd takes the direct convolution
    assert torch.equal(conv(x), F.conv2d(x, conv.weight, conv.bias, padding=1))
    assert len(calls) == 2


@pytest.fixture
def checkpoint(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    path = tmp_path / "XMem.pth"
    torch.save(XMem(XMemConfig(16, 32, 8)).state_dict(), path)
    return path


@needs_nnpack
def test_auto_is_nnpack_on_cpu_and_torch_elsewhere(checkpoint: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        net = load_xmem(checkpoint, "cpu")
    assert backend_of(net) == "nnpack" and not caplog.records
    assert XMemEngine(net, CONFIG, torch.device("cpu")).name == "XMem (nnpack)"
    assert backend_of(load_xmem(checkpoint, "cpu", "torch")) == "torch"
    plain = XMem(XMemConfig(16, 32, 8))
    assert apply_backend((plain.decoder,), "nnpack", "cuda") == "torch" and backend_of(plain) == "torch"
    with pytest.raises(ValueError, match="auto, nnpack, torch"):
        apply_backend((plain.decoder,), "openvino", "cpu")


@needs_nnpack
def test_only_the_decoder_and_value_encoder_are_converted(checkpoint: Path) -> None:
    net = load_xmem(checkpoint, "cpu", "nnpack")
    converted = [name for name, m in net.named_modules() if isinstance(m, NNPackConv2d)]
    # the keys must round as the official code's: the key encoder and projection stay plain
    assert converted and all(name.startswith(("decoder.", "value_encoder.")) for name in converted)
    assert "decoder.up_8_4.out_conv.conv1" in converted and "value_encoder.layer1.0.conv1" in converted
    assert "value_encoder.layer2.0.conv1" not in converted  # stride 2
    plain = XMem.from_checkpoint(checkpoint)
    assert all(torch.equal(v, plain.state_dict()[k]) for k, v in net.state_dict().items())
    assert backend_of(net) == "nnpack" and backend_of(plain) == "torch"
    assert use_nnpack((plain.decoder,)) == sum(name.startswith("decoder.") for name in converted)


def _missing() -> bool:
    return False


def _broken(*args: object) -> torch.Tensor:
    raise RuntimeError("NNPACK SpatialConvolution_updateOutput failed")


@pytest.mark.parametrize(("attribute", "fake", "reason"), [
    ("_nnpack_available", _missing, "this torch build has no NNPACK"),
    ("_nnpack_spatial_convolution", _broken, "its convolution failed (NNPACK SpatialConvolution"),
])
@pytest.mark.parametrize("wanted", ["auto", "nnpack"])
def test_a_backend_that_cannot_run_falls_back_to_torch_with_one_warning(
        checkpoint: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        attribute: str, fake: object, reason: str, wanted: str) -> None:
    monkeypatch.setattr(torch, attribute, fake)
    with caplog.at_level(logging.WARNING):
        net = load_xmem(checkpoint, "cpu", wanted)
    assert backend_of(net) == "torch"
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and reason in warnings[0].getMessage()
    assert "processing.backend" in warnings[0].getMessage()
    engine = XMemEngine(net, CONFIG, torch.device("cpu"))
    assert engine.name == "XMem (torch)"
    engine.reset([1])
    frame = torch.randint(0, 256, (40, 56, 3), dtype=torch.uint8).numpy()
    mask = (torch.arange(40 * 56).reshape(40, 56) % 7 == 0).to(torch.uint8).numpy()
    engine.step(frame, mask)
    assert engine.step(frame).shape == (2, 40, 56)
