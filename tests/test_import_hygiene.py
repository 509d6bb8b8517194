"""Import structure: the core never imports the UI, the contract names every core module, no import circles."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORE = ("xmem_tui.workspace", "xmem_tui.media.frames", "xmem_tui.inference.propagation", "xmem_tui.jobs.worker",
        "xmem_tui.export.job", "xmem_tui.interaction.compose", "xmem_tui.model.network")
#: The user interfaces: everything else in the package is core.
UI = {"tui", "annotate", "commands", "cli", "__main__"}


def test_import_linter_contracts_are_kept() -> None:
    # This interpreter, so the checkout's own package is analysed (not one installed elsewhere).
    code = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_ui_contract_names_every_core_module() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    contract = next(c for c in config["contracts"] if c["name"] == "Core never imports the UI")
    package = REPO / "xmem_tui"
    top = {p.stem for p in package.glob("*.py")} | {p.name for p in package.iterdir() if (p / "__init__.py").exists()}
    core = {f"xmem_tui.{name}" for name in top - UI - {"__init__"}}
    assert set(contract["source_modules"]) == core


def test_no_import_circles() -> None:
    """No module imports (at run time) one that imports it back, directly or through others.

    Imports under ``if TYPE_CHECKING:`` are left out: they name types for annotations and never run.
    """
    import grimp

    graph = grimp.build_graph("xmem_tui", exclude_type_checking_imports=True, cache_dir=None)
    assert _cycles(graph) == []


def test_the_circle_finder_finds_circles() -> None:
    imports = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e", "d"}, "f": {"g"}, "g": {"f"}}

    class Graph:
        modules = frozenset(imports)

        def find_modules_directly_imported_by(self, module: str) -> set[str]:
            return imports[module]

    assert _cycles(Graph()) == [["a", "b", "c"], ["f", "g"]]


def _cycles(graph) -> list[list[str]]:  # -> strongly connected components of more than one module
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(start: str) -> None:  # Tarjan's algorithm, iterative (the graph has hundreds of modules)
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def test_core_modules_load_no_ui() -> None:
    code = (f"import importlib, sys\nfor m in {CORE!r}: importlib.import_module(m)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'textual' or m.startswith('xmem_tui.tui')"
            " or m.startswith('xmem_tui.annotate')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_only_media_opens_a_video() -> None:
    """media/ is the one place that opens a video (probe, reader, encoder, the export's self-check), so every
    reader sees the same frames at the same times; a second ``av.open`` elsewhere would re-derive them."""
    package = REPO / "xmem_tui"
    openers = re.compile(r"\bav\.open\(|cv2\.VideoCapture\(|cv2\.VideoWriter\(")
    offenders = [str(p.relative_to(package)) for p in sorted(package.rglob("*.py"))
                 if p.parent.name != "media" and openers.search(p.read_text(encoding="utf-8"))]
    assert offenders == []
