"""f-BRS network: official state-dict layout, backbone/width detection, strict loading with named keys."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
import torch

from xmem_tui.errors import CheckpointError
from xmem_tui.model.fbrs import FBRSNet


class Evil:
    """Pickled object that a weights_only load must refuse."""

    def __reduce__(self):
        return (print, ("pwned",))


@pytest.fixture(scope="module")
def manifest(reference_dir: Path, synth_weights: ModuleType) -> list[tuple[str, tuple[int, ...], str]]:
    return synth_weights.read_manifest(str(reference_dir / "manifests" / "fbrs_resnet50_dh128.tsv"))


@pytest.fixture(scope="module")
def state(manifest: list[tuple[str, tuple[int, ...], str]]) -> dict[str, torch.Tensor]:
    """A state dict with the manifest's keys and shapes (values irrelevant for loader tests)."""
    return {k: torch.zeros(shape, dtype=torch.int64 if "int64" in dtype else torch.float32)
            for k, shape, dtype in manifest}


def test_state_dict_matches_official_manifest(manifest: list[tuple[str, tuple[int, ...], str]]) -> None:
    ours = [(k, tuple(v.shape), str(v.dtype)) for k, v in FBRSNet(50, 128).state_dict().items()]
    assert ours == [(k, tuple(shape), dtype) for k, shape, dtype in manifest]


def test_resnet50_dh128_from_file_with_aspp_dropout(state: dict[str, torch.Tensor], tmp_path: Path) -> None:
    path = tmp_path / "fbrs.pth"
    torch.save({**state, "aspp_dropout": torch.tensor(0.2)}, path)
    net = FBRSNet.from_checkpoint(path)
    assert (net.depth, net.deeplab_ch, net.feature_channels) == (50, 128, 160)
    assert not net.training
    assert not any(p.requires_grad for p in net.parameters())


@pytest.mark.parametrize(("depth", "ch"), [(34, 64), (101, 256)])
def test_depth_and_width_come_from_the_checkpoint(depth: int, ch: int) -> None:
    net = FBRSNet.from_checkpoint(FBRSNet(depth, ch).state_dict())
    assert (net.depth, net.deeplab_ch) == (depth, ch)


def test_surplus_key_is_named(state: dict[str, torch.Tensor]) -> None:
    with pytest.raises(CheckpointError, match=r"unexpected head\.layers\.9\.weight"):
        FBRSNet.from_checkpoint({**state, "head.layers.9.weight": torch.zeros(1)})


def test_missing_key_is_named(state: dict[str, torch.Tensor]) -> None:
    broken = dict(state)
    broken.pop("rgb_conv.2.running_var")
    with pytest.raises(CheckpointError, match=r"missing rgb_conv\.2\.running_var"):
        FBRSNet.from_checkpoint(broken)


def test_missing_aspp_projection_is_named(state: dict[str, torch.Tensor]) -> None:
    broken = dict(state)
    broken.pop("feature_extractor.aspp.project.0.weight")
    with pytest.raises(CheckpointError, match=r"feature_extractor\.aspp\.project\.0\.weight"):
        FBRSNet.from_checkpoint(broken)


def test_hrnet_checkpoint_is_refused() -> None:
    with pytest.raises(CheckpointError, match="HRNet"):
        FBRSNet.from_checkpoint({"feature_extractor.stage2.0.branches.0.0.conv1.weight": torch.zeros(1)})


def test_too_many_backbone_entries_is_refused(state: dict[str, torch.Tensor]) -> None:
    extra = {f"feature_extractor.backbone.layer5.{i}.weight": torch.zeros(1) for i in range(300)}
    with pytest.raises(CheckpointError, match="backbone entries"):
        FBRSNet.from_checkpoint({**state, **extra})


def test_code_running_pickle_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "fbrs.pth"
    torch.save({"rgb_conv.0.weight": torch.zeros(1), "x": Evil()}, path)
    with pytest.raises(CheckpointError, match="could run code"):
        FBRSNet.from_checkpoint(path)
    assert "pwned" not in capsys.readouterr().out


def test_features_at_quarter_resolution_and_logits_at_input_size() -> None:
    net = FBRSNet(50, 128).eval()
    with torch.no_grad():
        feats = net.features(torch.randn(1, 3, 40, 56), torch.rand(1, 2, 40, 56))
        out = net.logits_from_features(feats, (40, 56))
    assert feats.shape == (1, 160, 10, 14)
    assert out.shape == (1, 1, 40, 56)
    assert torch.isfinite(out).all()
