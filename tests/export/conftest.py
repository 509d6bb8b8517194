"""Generated clips with workspaces full of masks, and helpers to decode what an export wrote.

Clips are tiny (96x160, 20 frames) so every kind can run on every clip type; masks are the synthetic
scene's ground truth stored through the workspace API at processing size 64 (64x106), so an export has
to upscale them like a real one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from xmem_tui.config import Settings, load_settings
from xmem_tui.media.resize import mask_to_shape
from xmem_tui.media.synthetic import WrittenClip, write_clip

from .export_helpers import CLIPS, SPEC


@pytest.fixture(scope="session")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("export_project")


@pytest.fixture(scope="session")
def settings(project: Path) -> Settings:
    return load_settings(None, {"processing.size": 64}, project_dir=project)


@pytest.fixture(scope="session")
def clips(project: Path, settings: Settings) -> dict[str, tuple[Path, WrittenClip]]:
    """name -> (video path, what was written); each clip's workspace holds its ground-truth masks."""
    from xmem_tui.workspace import Workspace

    out = {}
    for name, kwargs in CLIPS.items():
        path = project / "source" / f"{name}.mp4"
        clip = write_clip(path, SPEC, **kwargs)
        ws = Workspace.for_video(settings, path)
        for i, mask in enumerate(clip.masks):
            ws.write_frame(i, mask_to_shape(mask, ws.shape), provenance="user:import")
        out[name] = (path, clip)
    return out
