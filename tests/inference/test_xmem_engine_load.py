"""load_xmem: safe loading onto a device, eval mode, contiguous layout on CPU (keys round as the official ones)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from xmem_tui.errors import CheckpointError
from xmem_tui.inference.xmem_engine import load_xmem
from xmem_tui.model import XMem, XMemConfig


def test_load_xmem_cpu(tmp_path: Path) -> None:
    torch.manual_seed(0)
    state = XMem(XMemConfig(16, 32, 8)).state_dict()
    path = tmp_path / "XMem.pth"
    torch.save(state, path)
    net = load_xmem(path, "cpu")
    assert not net.training and net.config == XMemConfig(16, 32, 8)
    assert all(p.is_contiguous() for p in net.parameters())
    assert torch.equal(net.state_dict()["decoder.pred.weight"], state["decoder.pred.weight"])


def test_load_xmem_missing(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="models download"):
        load_xmem(tmp_path / "none.pth", "cpu")
