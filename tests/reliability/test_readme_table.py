"""The README's "## Reliability" table names exactly the tests of this package, so it stays true."""

from __future__ import annotations

import ast
import re

from .procs import HERE, REPO


def _tests_here() -> set[str]:
    names = set()
    for module in HERE.glob("test_*.py"):
        tree = ast.parse(module.read_text(encoding="utf-8"))
        names |= {node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                  and node.name.startswith("test_")}
    return names - {"test_readme_table_names_every_reliability_test"}


def test_readme_table_names_every_reliability_test() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Reliability\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(test_\w+)` \|", section, flags=re.MULTILINE)
    assert len(rows) == len(set(rows)), "a test is listed twice"
    assert set(rows) == _tests_here()
