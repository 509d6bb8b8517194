"""The CLI frame: discovery of commands, exit codes, one-line errors, --debug, repair."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from xmem_tui.cli import command_modules, main
from xmem_tui.media.synthetic import SceneSpec, write_image_folder
from xmem_tui.workspace import Workspace


def test_every_command_module_follows_the_contract() -> None:
    modules = command_modules()
    assert {"info", "demo", "import", "repair", "tui"} <= set(modules)
    for name, module in modules.items():
        assert name == module.NAME and module.HELP and callable(module.register) and callable(module.run)


def test_help_is_fast_and_imports_nothing_heavy() -> None:
    code = ("import sys; from xmem_tui.cli import build_parser, command_modules; build_parser(command_modules()); "
            "print(sorted(m for m in ('torch', 'cv2', 'textual', 'av', 'watchdog') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_user_error_is_one_line_with_exit_code_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", str(tmp_path / "missing.mp4")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("xmem-tui: error: ") and err.count("\n") == 1 and "Traceback" not in err


def test_bad_config_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[processing]\nsize = 7\n")
    assert main(["--config", str(config), "info", str(tmp_path)]) == 2
    assert "processing.size = 7 is out of range" in capsys.readouterr().err


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "xmem_tui", "--debug", "info", str(tmp_path / "nope.mp4")],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_repair_rebuilds_state_from_masks(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    clip = tmp_path / "source" / "clip"
    write_image_folder(clip, SceneSpec(height=48, width=64, n_frames=4))
    ws = Workspace.open(tmp_path / "workspace" / "clip", clip)
    ws.write_frame(1, np.ones(ws.shape, np.uint8), provenance="user:free")
    (ws.root / "state.json").write_text("garbage")
    assert main(["repair", str(clip)]) == 0
    assert "rebuilt from 1 mask files (1 user-annotated)" in capsys.readouterr().out
    assert Workspace.open(ws.root, clip).records()[1].provenance == "user:free"
    assert list(ws.root.glob("state.json.broken-*"))


def test_init_makes_a_project_and_keeps_an_existing_config(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", str(tmp_path / "p")]) == 0
    assert (tmp_path / "p" / "source").is_dir()
    config = tmp_path / "p" / "config.toml"
    assert "[processing]" in config.read_text()
    config.write_text("[processing]\nsize = 360\n")
    assert main(["init", str(tmp_path / "p")]) == 0
    assert config.read_text() == "[processing]\nsize = 360\n"
    assert "left as it is" in capsys.readouterr().out
