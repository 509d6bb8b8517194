"""The core never imports the UI: checked by import-linter and by looking at sys.modules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORE = ("xmem_tui.workspace", "xmem_tui.media.frames", "xmem_tui.inference.propagation", "xmem_tui.jobs.worker",
        "xmem_tui.export.job", "xmem_tui.interaction.compose", "xmem_tui.model.network")


def test_import_linter_contract_is_kept() -> None:
    linter = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(linter)], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" in result.stdout and "0 broken" in result.stdout


def test_core_modules_load_no_ui() -> None:
    code = (f"import importlib, sys\nfor m in {CORE!r}: importlib.import_module(m)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'textual' or m.startswith('xmem_tui.tui')"
            " or m.startswith('xmem_tui.annotate')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
