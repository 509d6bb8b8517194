"""The issue's end-to-end check: the real CLI propagates a generated clip on CPU with XMem, its weights the
reference recipe's synthesized ones saved to ``models/XMem.pth`` (the released file's exact schema)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from xmem_tui.cli import main
from xmem_tui.config import load_settings
from xmem_tui.media.resize import mask_to_shape
from xmem_tui.media.synthetic import SceneSpec, write_clip
from xmem_tui.workspace import Workspace

N = 8


@pytest.fixture
def project(tmp_path: Path, synth_checkpoint: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "models").mkdir()
    shutil.copy(synth_checkpoint("xmem"), tmp_path / "models" / "XMem.pth")
    (tmp_path / "config.toml").write_text("[processing]\nsize = 96\nthreads = 2\n")
    written = write_clip(tmp_path / "source" / "clip.mp4", SceneSpec(height=96, width=160, n_frames=N, seed=4))
    ws = Workspace.for_video(load_settings(tmp_path / "config.toml"), tmp_path / "source" / "clip.mp4")
    ws.write_frame(0, mask_to_shape(written.masks[0], ws.shape), provenance="user:import")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_cli_propagates_with_synthesized_official_weights(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(project / "config.toml"), "propagate", "clip.mp4", "--from", "0"]) == 0
    out, err = capsys.readouterr()
    assert f"propagated {N - 1} frames forward" in out and "with XMem" in out
    assert "weight-free" not in err
    ws = Workspace.for_video(load_settings(project / "config.toml"), project / "source" / "clip.mp4")
    records = ws.records()
    assert sorted(records) == list(range(N))
    for index in range(1, N):
        assert records[index].provenance == "propagated"
        mask, soft = ws.read_mask(index), ws.read_soft(index)
        assert mask.shape == ws.shape and soft.shape == (2, *ws.shape)
        assert set(np.unique(mask)) <= {0, 1, 2}
        # the synthetic weights give non-degenerate outputs: soft masks are not all 0/255
        assert ((soft > 5) & (soft < 250)).any()
