"""Safe checkpoint loading: every user-caused failure is a one-line CheckpointError."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from xmem_tui.errors import CheckpointError
from xmem_tui.model import XMem, XMemConfig
from xmem_tui.model.checkpoint import load_state_dict, load_strict


class Evil:
    """Pickled object that a weights_only load must refuse."""

    def __reduce__(self):
        return (print, ("pwned",))


def test_missing_file_names_download_command(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="xmem-tui models download"):
        load_state_dict(tmp_path / "XMem.pth")


def test_truncated_file(tmp_path: Path) -> None:
    path = tmp_path / "t.pth"
    torch.save({"a": torch.zeros(1000)}, path)
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(CheckpointError, match="truncated or not a PyTorch checkpoint"):
        load_state_dict(path)


def test_not_a_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "notes.pth"
    path.write_text("hello")
    with pytest.raises(CheckpointError, match="not a PyTorch checkpoint"):
        load_state_dict(path)


def test_code_running_pickle_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "evil.pth"
    torch.save({"w": torch.zeros(1), "x": Evil()}, path)
    with pytest.raises(CheckpointError, match="could run code"):
        load_state_dict(path)
    assert "pwned" not in capsys.readouterr().out


def test_module_prefix_is_stripped() -> None:
    state = load_state_dict({"module.a": torch.ones(1), "module.b": torch.zeros(2)})
    assert set(state) == {"a", "b"}


def test_wrong_model_lists_keys() -> None:
    with pytest.raises(CheckpointError, match=r"not an XMem checkpoint \(no key_proj"):
        XMem.from_checkpoint({"backbone.conv1.weight": torch.zeros(64, 6, 7, 7)})
    net = XMem(XMemConfig(16, 32, 8))
    state = dict(net.state_dict())
    state.pop("decoder.pred.bias")
    state["decoder.extra"] = torch.zeros(1)
    with pytest.raises(CheckpointError, match=r"missing decoder\.pred\.bias; unexpected decoder\.extra"):
        load_strict(net, state, "checkpoint x.pth", "XMem")


def test_wrong_shape_is_reported() -> None:
    net = XMem(XMemConfig(16, 32, 8))
    state = dict(net.state_dict())
    state["decoder.pred.bias"] = torch.zeros(2)
    with pytest.raises(CheckpointError, match=r"shape decoder\.pred\.bias"):
        load_strict(net, state, "checkpoint x.pth", "XMem")
