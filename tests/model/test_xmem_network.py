"""XMem network: state-dict schema, dimension inference from checkpoints, variants."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from xmem_tui.inference import InferenceCore
from xmem_tui.model import XMem, XMemConfig
from xmem_tui.model.network import aggregate, other_objects

CONFIG = {"top_k": 30, "mem_every": 2, "deep_update_every": -1, "enable_long_term": True,
          "enable_long_term_count_usage": True, "max_mid_term_frames": 4, "min_mid_term_frames": 2,
          "num_prototypes": 8, "max_long_term_elements": 40}


def _manifest(reference_dir: Path) -> list[tuple[str, tuple[int, ...], str]]:
    rows = []
    for line in (reference_dir / "manifests" / "xmem.tsv").read_text().splitlines():
        if line and not line.startswith("#"):
            key, shape, dtype = line.split("\t")
            rows.append((key, tuple(int(s) for s in shape.split(",")) if shape else (), dtype))
    return rows


def test_state_dict_matches_manifest_exactly(reference_dir: Path) -> None:
    ours = [(k, tuple(v.shape), str(v.dtype)) for k, v in XMem().state_dict().items()]
    assert ours == _manifest(reference_dir)


def _random_state(config: XMemConfig) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    net = XMem(config)
    return {k: v.clone() for k, v in net.state_dict().items()}


@pytest.mark.parametrize("dims", [(16, 32, 8), (64, 512, 0)])
def test_from_checkpoint_infers_dimensions(dims: tuple[int, int, int], tmp_path: Path) -> None:
    state = _random_state(XMemConfig(*dims))
    path = tmp_path / "x.pth"
    torch.save({f"module.{k}": v for k, v in state.items()}, path)
    net = XMem.from_checkpoint(path)
    assert (net.config.key_dim, net.config.value_dim, net.config.hidden_dim) == dims
    assert not net.training
    loaded = net.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in state.items())
    assert ("decoder.hidden_update.transform.weight" in loaded) == (dims[2] > 0)


def test_four_channel_value_encoder_gets_zero_channel() -> None:
    state = _random_state(XMemConfig(16, 32, 8))
    five = state["value_encoder.conv1.weight"]
    state["value_encoder.conv1.weight"] = five[:, :4].clone()
    net = XMem.from_checkpoint(state)
    w = net.state_dict()["value_encoder.conv1.weight"]
    assert w.shape == five.shape
    assert torch.equal(w[:, :4], five[:, :4]) and not w[:, 4].any()


@pytest.mark.parametrize("hidden_dim", [0, 8])
def test_variants_run_end_to_end(hidden_dim: int) -> None:
    net = XMem.from_checkpoint(_random_state(XMemConfig(16, 32, hidden_dim)))
    core = InferenceCore(net, {**CONFIG, "hidden_dim": hidden_dim})
    core.set_all_labels([1, 2])
    gen = torch.Generator().manual_seed(1)
    mask = torch.zeros(2, 40, 56)
    mask[0, 5:20, 5:30] = 1
    mask[1, 22:35, 20:50] = 1
    for t in range(9):
        image = torch.randn(3, 40, 56, generator=gen)
        out = core.step(image, mask if t == 0 else None)
        assert out.shape == (3, 40, 56) and out.dtype == torch.float32
        assert torch.isfinite(out).all()
        assert torch.allclose(out.sum(0), torch.ones(40, 56), atol=1e-5)
    assert core.memory.long.size > 0  # 3x4 elements per frame: consolidation happened
    assert (core.hidden is None) == (hidden_dim == 0)


def test_config_dims_must_match_network() -> None:
    net = XMem(XMemConfig(16, 32, 8))
    with pytest.raises(ValueError, match="key_dim"):
        InferenceCore(net, {**CONFIG, "key_dim": 64})


def test_aggregate_of_one_hot_is_almost_hard() -> None:
    onehot = torch.tensor([[1.0, 0.0], [0.0, 0.0]])[:, :, None]  # 2 objects, 2 pixels
    _, prob = aggregate(onehot, dim=0)
    assert torch.allclose(prob.sum(0), torch.ones(2, 1))
    assert prob[1, 0, 0].item() > 1 - 1e-6 and prob[0, 1, 0].item() > 1 - 1e-6
    assert 0 < prob[2, 0, 0] < 1e-12


def test_other_objects_sums_the_rest() -> None:
    masks = torch.tensor([0.1, 0.2, 0.3])[:, None, None].expand(3, 2, 2)
    others = other_objects(masks)
    assert torch.allclose(others[:, 0, 0], torch.tensor([0.5, 0.4, 0.3]))
    assert not other_objects(masks[:1]).any()
