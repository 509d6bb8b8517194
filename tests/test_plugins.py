"""Registries: built-ins listed in order, registered entries after them, installed plugins in every process."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.plugins import install
from xmem_tui.plugins import Registry

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Item:
    name: str
    order: int = 100


def test_builtins_in_order_then_registered_ones() -> None:
    registry: Registry[Item] = Registry("engine", "xmem_tui.inference.engines")
    assert registry.names() == ("xmem", "cutie", "flow")  # by order (10, 20, 90), not by module name
    registry.register(Item("later", order=1))
    assert registry.names() == ("xmem", "cutie", "flow", "later")
    with pytest.raises(ValueError, match="engine 'later' is already registered"):
        registry.register(Item("later"))
    replaced = registry.register(Item("flow", order=0), replace=True)
    assert registry.get("flow") is replaced
    registry.unregister("later")
    assert registry.names() == ("xmem", "cutie", "flow") and registry.get("later") is None


PLUGIN = '''
from xmem_tui.export.registry import ExportKind, register_kind


def register():
    register_kind(ExportKind(name="from-plugin", codecs=("ffv1",), input_format="gray", needs_source=False,
                             prepare=lambda prep: None))


def broken():
    raise RuntimeError("this plugin is broken")
'''


def test_an_installed_plugin_registers_in_a_fresh_process_and_a_broken_one_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "a_plugin.py").write_text(PLUGIN, encoding="utf-8")
    install(tmp_path, "good-plugin", "a_plugin:register")
    install(tmp_path, "bad-plugin", "a_plugin:broken")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)])}
    code = "from xmem_tui.export.registry import kind_names; print(' '.join(kind_names()))"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["greenscreen", "mask", "alpha", "overlay", "masks", "reframe", "from-plugin"]
    assert "plugin bad-plugin (a_plugin:broken) failed to load" in done.stderr


def test_listing_every_registry_imports_no_numpy_torch_or_opencv() -> None:
    """``xmem-tui --help`` builds every choice list; the spec modules must keep heavy imports inside functions."""
    code = ("import sys\n"
            "from xmem_tui.cli import build_parser, command_modules\n"
            "from xmem_tui.jobs.runners import runner_kinds\n"
            "build_parser(command_modules()); runner_kinds()\n"
            "print(sorted(m for m in ('numpy', 'torch', 'cv2') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"
