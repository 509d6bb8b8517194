"""The lock file pins every dependency within pyproject's ranges, and both README commands install from it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.test_readme import readme_commands

REPO = Path(__file__).resolve().parents[1]


def locked() -> dict[str, str]:
    text = (REPO / "requirements.lock").read_text(encoding="utf-8")
    return {canonicalize_name(n): v for n, v in re.findall(r"^([A-Za-z0-9_.\-]+)==(\S+)", text, re.MULTILINE)}


def declared() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = [r for group in project["optional-dependencies"].values() for r in group]
    return [Requirement(r) for r in (*project["dependencies"], *extras)]


def test_every_declared_dependency_is_locked_within_its_range() -> None:
    pins = locked()
    for req in declared():
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is in pyproject.toml but not in requirements.lock: refresh the lock"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"requirements.lock pins {req.name}=={pins[name]}, outside pyproject's {req.specifier}: refresh the lock")


def test_lock_is_plain_pins_usable_as_constraints() -> None:
    """pip's -c accepts no extras, editables or unpinned lines: every requirement line is name==version."""
    lines = [ln.strip() for ln in (REPO / "requirements.lock").read_text(encoding="utf-8").splitlines()]
    body = [ln for ln in lines if ln and not ln.startswith("#")]
    assert body and all(re.fullmatch(r"[A-Za-z0-9_.\-]+==\S+", ln) for ln in body)
    assert locked()["torch"] == "2.14.1" and locked()["torchvision"] == "0.29.1"


def test_both_readme_commands_install_the_locked_versions() -> None:
    for command in readme_commands():
        assert "pip install" in command and "-c requirements.lock" in command
