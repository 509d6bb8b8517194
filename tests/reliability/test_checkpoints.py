"""Checkpoints that are not what they claim, against every loader: refused in one line, never executed.

tests/model/ checks each loader's messages on its own files; here one matrix runs every bad file through
XMem, Cutie, S2M and f-BRS loading, ``xmem-tui models verify`` and a propagation with ``--engine auto``, and proves
the code-running pickle is live (an unsafe load runs it) yet never runs in xmem-tui.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from xmem_tui.cli import main
from xmem_tui.errors import CheckpointError
from xmem_tui.model import Cutie, XMem
from xmem_tui.model.fbrs import FBRSNet
from xmem_tui.model.s2m import S2M

from .procs import RelProject, file_digests

LOADERS: dict[str, Callable[[Path], object]] = {
    "XMem.pth": XMem.from_checkpoint, "cutie-base-mega.pth": Cutie.from_checkpoint, "s2m.pth": S2M.from_checkpoint,
    "fbrs.pth": FBRSNet.from_checkpoint}
#: A few real key names of another model, for "a checkpoint of the wrong model".
FOREIGN = {"XMem.pth": {"backbone.conv1.weight": torch.zeros(64, 6, 7, 7), "classifier.project.0.weight":
                        torch.zeros(48, 256, 1, 1)},
           "s2m.pth": {"key_proj.key_proj.weight": torch.zeros(64, 1024, 3, 3), "value_encoder.conv1.weight":
                       torch.zeros(64, 5, 7, 7)},
           "fbrs.pth": {"key_proj.key_proj.weight": torch.zeros(64, 1024, 3, 3)},
           "cutie-base-mega.pth": {"key_encoder.conv1.weight": torch.zeros(64, 3, 7, 7),
                                   "key_proj.key_proj.weight": torch.zeros(64, 1024, 3, 3)}}


class RunsCode:
    """Unpickling this creates ``marker``: what a malicious "checkpoint" would do instead."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.marker), "w"))


def make_bad(kind: str, path: Path, name: str, marker: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "not_a_checkpoint":
        path.write_text("<html>404 Not Found</html>\n")
    elif kind == "truncated":
        torch.save({"w": torch.randn(64, 64)}, path)
        path.write_bytes(path.read_bytes()[:700])
    elif kind == "wrong_model":
        torch.save(FOREIGN[name], path)
    elif kind == "evil_zip":
        torch.save({"w": torch.zeros(2), "payload": RunsCode(marker)}, path)
    else:  # evil_legacy: the pre-1.6 torch format (magic number + bare pickle streams)
        torch.save({"payload": RunsCode(marker)}, path, _use_new_zipfile_serialization=False)
    return path


BAD = ["not_a_checkpoint", "truncated", "wrong_model", "evil_zip", "evil_legacy"]
EXPECTED = {"not_a_checkpoint": "not a PyTorch checkpoint", "truncated": "truncated",
            "wrong_model": "checkpoint", "evil_zip": "could run code", "evil_legacy": "could run code"}


def test_the_code_running_payload_is_live(tmp_path: Path) -> None:
    """Guard against a vacuous test: an unsafe load of the same files really does run the payload."""
    for kind in ("evil_zip", "evil_legacy"):
        marker = tmp_path / f"{kind}.ran"
        path = make_bad(kind, tmp_path / f"{kind}.pth", "XMem.pth", marker)
        torch.load(path, weights_only=False)
        assert marker.exists()


@pytest.mark.parametrize("name", sorted(LOADERS))
@pytest.mark.parametrize("kind", BAD)
def test_every_loader_refuses_bad_checkpoints_without_running_them(tmp_path: Path, name: str, kind: str) -> None:
    marker = tmp_path / "ran"
    path = make_bad(kind, tmp_path / "models" / name, name, marker)
    with pytest.raises(CheckpointError) as info:
        LOADERS[name](path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message and EXPECTED[kind] in message, message
    assert "models download" in message or "select" in message  # says how to fix it
    assert not marker.exists()


def test_models_verify_flags_each_bad_file_and_runs_nothing(project: RelProject,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    marker = project.root / "ran"
    models = project.root / "models"
    for name, kind in zip(sorted(LOADERS), ("evil_zip", "evil_legacy", "wrong_model", "truncated"), strict=True):
        make_bad(kind, models / name, name, marker)
    assert main(["--config", str(project.config), "models", "verify"]) == 1
    out = capsys.readouterr().out
    assert out.count("BAD:") == 4 and out.count("could run code") == 2
    assert not marker.exists()


@pytest.mark.parametrize("kind", ["evil_zip", "evil_legacy", "truncated"])
def test_propagation_with_a_bad_xmem_file_stops_in_one_line(annotated: RelProject, kind: str,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """``--engine auto`` picks XMem as soon as models/XMem.pth exists: it must refuse it, not run it."""
    marker = annotated.root / "ran"
    make_bad(kind, annotated.root / "models" / "XMem.pth", "XMem.pth", marker)
    before = file_digests(annotated.root / "workspace" / "clip.mp4" / "masks")
    code = main(["--config", str(annotated.config), "propagate", str(annotated.video), "--from", "0",
                 "--engine", "auto"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("xmem-tui: error: ") and err.count("\n") == 1 and "XMem.pth" in err, err
    assert not marker.exists()
    assert file_digests(annotated.root / "workspace" / "clip.mp4" / "masks") == before
