"""Fixtures shared by every test package."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from types import ModuleType

# With more busy threads than free cores (2-core CI, tests beside workers), OpenMP's spinning threads make
# small torch ops 100x slower; passive waiting costs nothing measurable here. Must be set before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# CI machines have 2 cores and other tests run beside hypothesis: timing-based checks only cause flakes.
settings.register_profile("ci", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=60)
settings.load_profile("ci")

REPO = Path(__file__).resolve().parents[1]


def _shared() -> Path:
    env = os.environ.get("XMEM_TUI_SHARED")
    return Path(env) if env else (REPO.parent / "shared").resolve()


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The read-only ``../shared`` folder (real clips in media/, golden data in reference/)."""
    path = _shared()
    if not path.is_dir():
        pytest.fail(f"{path} is missing: tests need ../shared next to the repository (or $XMEM_TUI_SHARED)")
    return path


@pytest.fixture(scope="session")
def reference_dir(shared_dir: Path) -> Path:
    return shared_dir / "reference"


@pytest.fixture(scope="session")
def media_dir(shared_dir: Path) -> Path:
    return shared_dir / "media"


@pytest.fixture(scope="session")
def synth_weights(reference_dir: Path) -> ModuleType:
    """The reference's ``synth_weights`` module (``read_manifest``, ``synthesize``), imported from ../shared."""
    spec = importlib.util.spec_from_file_location("synth_weights", reference_dir / "synth_weights.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def manifest_path(reference_dir: Path, name: str) -> Path:
    """The state-dict schema of a reference network: ``cutie_base`` lives with the Cutie fixtures."""
    return reference_dir / ("cutie/cutie_base.tsv" if name == "cutie_base" else f"manifests/{name}.tsv")


@pytest.fixture(scope="session")
def synth_checkpoint(reference_dir: Path, synth_weights: ModuleType,
                     tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``synth_checkpoint("xmem")`` -> a real ``.pth`` of the reference's seed-0 weights (made once per session).

    Names: ``xmem``, ``s2m``, ``fbrs_resnet50_dh128`` (the manifests in ../shared/reference/manifests) and
    ``cutie_base`` (../shared/reference/cutie/cutie_base.tsv).
    """
    import torch

    made: dict[str, Path] = {}

    def make(name: str) -> Path:
        if name not in made:
            path = tmp_path_factory.mktemp("checkpoints") / f"{name}.pth"
            torch.save(synth_weights.synthesize(str(manifest_path(reference_dir, name)), seed=0), path)
            made[name] = path
        return made[name]

    return make
