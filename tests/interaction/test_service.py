"""Segmenter selection: GrabCut without checkpoints, the networks when their files exist."""

from __future__ import annotations

import logging
import sys
import types
from pathlib import Path

import pytest

from xmem_tui.config import load_settings
from xmem_tui.errors import CheckpointError
from xmem_tui.interaction import service
from xmem_tui.interaction.grabcut import GrabCutClickSegmenter, GrabCutScribbleSegmenter


def _settings(tmp_path: Path):
    return load_settings(None, {"paths.models_dir": str(tmp_path / "models")}, project_dir=tmp_path)


def test_fallback_to_grabcut_is_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = _settings(tmp_path)
    with caplog.at_level(logging.INFO):
        click = service.build_click(settings, device="cpu")
        scribble = service.build_scribble(settings, device="cpu")
    assert isinstance(click, GrabCutClickSegmenter) and click.weight_free
    assert isinstance(scribble, GrabCutScribbleSegmenter) and scribble.weight_free
    assert "fbrs.pth" in caplog.text and "s2m.pth" in caplog.text and "GrabCut" in caplog.text


def test_networks_used_when_checkpoints_exist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _settings(tmp_path)
    settings.models_dir.mkdir(parents=True)
    (settings.models_dir / "fbrs.pth").write_bytes(b"x")
    (settings.models_dir / "s2m.pth").write_bytes(b"x")
    loaded: list[Path] = []

    class FakeNet:
        @classmethod
        def from_checkpoint(cls, path):
            loaded.append(Path(path))
            return cls()

        def to(self, device):
            return self

    class FakeSegmenter:
        def __init__(self, net, device=None) -> None:
            self.net, self.device = net, device

    for module, attrs in {
        "xmem_tui.model.fbrs": {"FBRSNet": FakeNet},
        "xmem_tui.interaction.click": {"FBRSClickSegmenter": FakeSegmenter},
        "xmem_tui.model.s2m": {"S2M": FakeNet},
        "xmem_tui.interaction.s2m": {"S2MScribbleSegmenter": FakeSegmenter},
    }.items():
        monkeypatch.setitem(sys.modules, module, types.SimpleNamespace(**attrs))
    click = service.build_click(settings, device="cpu")
    scribble = service.build_scribble(settings, device="cpu")
    assert isinstance(click, FakeSegmenter) and click.device == "cpu"
    assert isinstance(scribble, FakeSegmenter)
    assert sorted(p.name for p in loaded) == ["fbrs.pth", "s2m.pth"]


def test_invalid_checkpoint_is_reported_not_ignored(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    settings.models_dir.mkdir(parents=True)
    (settings.models_dir / "s2m.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match=r"s2m\.pth"):
        service.build_scribble(settings, device="cpu")
