"""The fake service the UI tests drive the dashboard with is the real service's shape: same methods, same
parameters (names, order, kinds and defaults), so a change to one that the other lacks fails here."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from xmem_tui.tui.contract import Service
from xmem_tui.tui.service import DashboardService

from .conftest import FakeService

METHODS = sorted(name for name, value in vars(Service).items()
                 if inspect.isfunction(value) and not name.startswith("_"))
TUI = Path(__file__).resolve().parents[2] / "xmem_tui" / "tui"


def _parameters(function: object) -> list[tuple[str, object, object]]:
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]


def test_the_protocol_is_exactly_what_the_dashboard_calls() -> None:
    called = {m for path in TUI.rglob("*.py") for m in re.findall(r"service\.([a-z_]+)\(?", path.read_text())}
    assert called == set(METHODS)


@pytest.mark.parametrize("implementation", [DashboardService, FakeService])
@pytest.mark.parametrize("name", METHODS)
def test_each_service_has_the_protocol_method(implementation: type, name: str) -> None:
    assert callable(getattr(implementation, name, None)), f"{implementation.__name__} lacks {name}"
    assert _parameters(getattr(implementation, name)) == _parameters(getattr(Service, name))


@pytest.mark.parametrize("implementation", [DashboardService, FakeService])
def test_no_service_has_public_methods_the_protocol_lacks(implementation: type) -> None:
    public = {name for name, value in vars(implementation).items()
              if inspect.isfunction(value) and not name.startswith("_")}
    assert public <= set(METHODS)
