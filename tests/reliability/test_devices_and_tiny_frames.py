"""The networks' edges: a device that cannot run, and frames of a pixel or two, through XMem and Cutie (their
weights the reference recipe's synthesized ones)."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from xmem_tui.cli import main
from xmem_tui.inference import gpu
from xmem_tui.media.masks import write_index_mask

from .procs import RelProject, file_digests
from .test_bad_inputs import one_line_error

CHECKPOINTS = {"xmem": ("XMem.pth", "xmem"), "cutie": ("cutie-base-mega.pth", "cutie_base")}

no_gpu = pytest.mark.skipif(torch.cuda.is_available(), reason="checks a machine without a usable GPU")


def _weights(project: RelProject, synth_checkpoint: Callable[[str], Path], engine: str) -> None:
    name, manifest = CHECKPOINTS[engine]
    (project.root / "models").mkdir(exist_ok=True)
    shutil.copy(synth_checkpoint(manifest), project.root / "models" / name)


@no_gpu
@pytest.mark.parametrize(("setting", "flag", "key"), [
    ("cuda", None, "processing.device = 'cuda'"),
    ("mps", None, "processing.device = 'mps'"),
    ("auto", "cuda:99", "--device = 'cuda:99'"),
])
def test_a_device_that_cannot_run_is_one_line_naming_key_value_and_devices(
        annotated: RelProject, synth_checkpoint: Callable[[str], Path], capsys: pytest.CaptureFixture[str],
        setting: str, flag: str | None, key: str) -> None:
    _weights(annotated, synth_checkpoint, "xmem")
    annotated.config.write_text(annotated.config.read_text().replace('engine = "flow"', 'engine = "auto"')
                                + f'device = "{setting}"\n')
    masks = file_digests(annotated.workspace().root / "masks")
    config = ["--config", str(annotated.config)]
    if flag is None:
        one_line_error(capsys, main([*config, "propagate", "clip.mp4", "--from", "0", "--to", "2"]), key,
                       "devices here: cpu", 'Set it to "auto"')
    one_line_error(capsys, main([*config, "export", "clip.mp4", "--kind", "greenscreen",
                                 *(["--device", flag] if flag else [])]), key, "devices here: cpu")
    assert file_digests(annotated.workspace().root / "masks") == masks
    assert not (annotated.root / "exports").exists() or not any((annotated.root / "exports").iterdir())


@no_gpu
def test_auto_falls_back_to_the_cpu_and_says_so(annotated: RelProject, synth_checkpoint: Callable[[str], Path],
                                                capsys: pytest.CaptureFixture[str],
                                                caplog: pytest.LogCaptureFixture,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    _weights(annotated, synth_checkpoint, "xmem")
    monkeypatch.setattr(gpu, "_AUTO_ON_CPU", threading.Event())  # as in a fresh process
    annotated.config.write_text(annotated.config.read_text().replace('engine = "flow"', 'engine = "auto"'))
    assert main(["--config", str(annotated.config), "propagate", "clip.mp4", "--from", "0", "--to", "2"]) == 0
    assert "with XMem" in capsys.readouterr().out
    progress = annotated.workspace().progress_path.read_text()
    assert '"device": "CPU (no GPU)"' in progress  # what the dashboard's panel and the window show
    assert any('"auto" found no CUDA or MPS device' in r.getMessage() and "running on the CPU" in r.getMessage()
               for r in caplog.records)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("engine", sorted(CHECKPOINTS))
def test_tiny_frames_propagate_through_the_networks(project: RelProject, synth_checkpoint: Callable[[str], Path],
                                                    capsys: pytest.CaptureFixture[str], engine: str) -> None:
    _weights(project, synth_checkpoint, engine)
    config = ["--config", str(project.config)]
    for h, w in ((1, 1), (2, 3)):
        frames, masks = project.root / "source" / f"tiny{h}x{w}", project.root / f"masks{h}x{w}"
        frames.mkdir()
        for i in range(3):
            pixels = np.random.default_rng(i).integers(0, 255, (h, w, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(frames / f"{i:05d}.png")
        first = np.zeros((h, w), np.uint8)
        first[0, 0] = 1
        write_index_mask(masks / "00000.png", first)
        assert main([*config, "import", frames.name, str(masks)]) == 0
        code = main([*config, "propagate", frames.name, "--from", "0", "--engine", engine])
        assert code == 0, capsys.readouterr().err
        ws = project.workspace_of(frames)
        assert sorted(ws.records()) == [0, 1, 2]
        assert all(ws.read_mask(i).shape == (h, w) and ws.read_soft(i).shape == (1, h, w) for i in range(3))
    assert "Traceback" not in capsys.readouterr().err
