"""S2M network: official state-dict layout, strict safe loading, output shape."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
import torch

from xmem_tui.errors import CheckpointError
from xmem_tui.model.s2m import S2M


class Evil:
    """Pickled object that a weights_only load must refuse."""

    def __reduce__(self):
        return (print, ("pwned",))


@pytest.fixture(scope="module")
def manifest(reference_dir: Path, synth_weights: ModuleType) -> list[tuple[str, tuple[int, ...], str]]:
    return synth_weights.read_manifest(str(reference_dir / "manifests" / "s2m.tsv"))


@pytest.fixture(scope="module")
def state(manifest: list[tuple[str, tuple[int, ...], str]]) -> dict[str, torch.Tensor]:
    """A state dict with the manifest's keys and shapes (values irrelevant for loader tests)."""
    return {k: torch.zeros(shape, dtype=torch.int64 if "int64" in dtype else torch.float32)
            for k, shape, dtype in manifest}


def test_state_dict_matches_official_manifest(manifest: list[tuple[str, tuple[int, ...], str]]) -> None:
    ours = [(k, tuple(v.shape), str(v.dtype)) for k, v in S2M().state_dict().items()]
    assert ours == [(k, tuple(shape), dtype) for k, shape, dtype in manifest]


def test_loads_from_file_strictly_and_frozen(state: dict[str, torch.Tensor], tmp_path: Path) -> None:
    path = tmp_path / "s2m.pth"
    torch.save(state, path)
    net = S2M.from_checkpoint(path)
    assert not net.training
    assert not any(p.requires_grad for p in net.parameters())


def test_missing_and_surplus_keys_are_named(state: dict[str, torch.Tensor]) -> None:
    broken = dict(state)
    broken.pop("classifier.classifier.3.bias")
    broken["classifier.extra.weight"] = torch.zeros(1)
    with pytest.raises(CheckpointError, match=r"missing classifier\.classifier\.3\.bias.*classifier\.extra"):
        S2M.from_checkpoint(broken)


def test_wrong_shape_is_reported(state: dict[str, torch.Tensor]) -> None:
    broken = dict(state)
    broken["backbone.conv1.weight"] = torch.zeros(64, 3, 7, 7)  # a 3-channel (plain ResNet) stem
    with pytest.raises(CheckpointError, match=r"backbone\.conv1\.weight"):
        S2M.from_checkpoint(broken)


def test_code_running_pickle_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "s2m.pth"
    torch.save({"backbone.conv1.weight": torch.zeros(1), "x": Evil()}, path)
    with pytest.raises(CheckpointError, match="could run code"):
        S2M.from_checkpoint(path)
    assert "pwned" not in capsys.readouterr().out


def test_logits_have_input_size() -> None:
    net = S2M().eval()
    with torch.no_grad():
        out = net(torch.randn(1, 6, 48, 64))
    assert out.shape == (1, 1, 48, 64)
    assert torch.isfinite(out).all()
