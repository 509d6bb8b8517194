"""The workspace stays a package of small parts: no module over 300 lines, no class over 250."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "xmem_tui" / "workspace"
MODULES = sorted(PACKAGE.glob("*.py"))


def test_the_workspace_is_a_package_of_parts() -> None:
    assert {p.stem for p in MODULES} >= {"facade", "store", "metadata", "records", "journal", "history", "locks"}


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_modules_and_classes_are_small(module: Path) -> None:
    text = module.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 300
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ClassDef):
            assert node.end_lineno - node.lineno + 1 <= 250, f"class {node.name} is too long"
