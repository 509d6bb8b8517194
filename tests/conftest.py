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


#: User frames of the judo clip in :func:`cutie_project` (ground truth of ../shared/media/judo/Annotations).
JUDO_KEYFRAMES = (0, 8)


@pytest.fixture
def cutie_project(tmp_path: Path, media_dir: Path, synth_checkpoint: Callable[[str], Path]) -> Path:
    """A project on a real clip with Cutie's weights: ``models/cutie-base-mega.pth`` holds the reference's
    synthesized weights (the released schema), ``source/judo.mp4`` is the 16 judo frames (854x480) encoded
    to H.264 at 25 fps, frames 0 and 8 are annotated with their ground truth (objects 1 and 3), and
    ``config.toml`` processes at 96 pixels with the project default engine "auto" (XMem is absent)."""
    import shutil
    from fractions import Fraction

    import cv2

    from xmem_tui.config import load_settings
    from xmem_tui.media.encode import VideoEncoder, VideoSpec
    from xmem_tui.media.masks import read_index_mask
    from xmem_tui.media.resize import mask_to_shape
    from xmem_tui.workspace import Workspace

    (tmp_path / "models").mkdir()
    shutil.copy(synth_checkpoint("cutie_base"), tmp_path / "models" / "cutie-base-mega.pth")
    (tmp_path / "config.toml").write_text("[processing]\nsize = 96\nthreads = 2\n")
    frames = sorted((media_dir / "judo" / "JPEGImages").glob("*.jpg"))
    spec = VideoSpec(codec="libx264", pix_fmt="yuv420p", width=854, height=480, time_base=Fraction(1, 25),
                     options={"preset": "ultrafast", "crf": "18"})
    video = tmp_path / "source" / "judo.mp4"
    with VideoEncoder(video, spec) as encoder:
        for index, path in enumerate(frames):
            encoder.write(cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB), index, 1)
    ws = Workspace.for_video(load_settings(tmp_path / "config.toml"), video)
    for index in JUDO_KEYFRAMES:
        truth = read_index_mask(media_dir / "judo" / "Annotations" / f"{index:05d}.png")
        ws.write_frame(index, mask_to_shape(truth, ws.shape), provenance="user:import")
    return tmp_path
