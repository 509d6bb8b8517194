"""Generated clips with known timestamps and content, shared by the media tests.

Clips are small (96x160, 30 frames, a keyframe every 8 frames so seeking really happens) and written
once per session.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from xmem_tui.media.synthetic import SceneSpec, WrittenClip, write_clip

SPEC = SceneSpec(height=96, width=160, n_frames=30, n_objects=3, seed=3)
CLIP_KINDS = {
    "cfr": {},
    "vfr": {"vfr": True},
    "rot90": {"rotation": 90},
    "rot270_vfr": {"rotation": 270, "vfr": True},
    "audio": {"audio": True},
}


@pytest.fixture(scope="session")
def clip_spec() -> SceneSpec:
    """The scene every generated clip shows."""
    return SPEC


@pytest.fixture(scope="session")
def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("clips")


@pytest.fixture(scope="session")
def clips(clip_dir: Path) -> dict[str, tuple[Path, WrittenClip]]:
    """Every kind in :data:`CLIP_KINDS`, written once: name -> (path, what was written)."""
    out = {}
    for name, kwargs in CLIP_KINDS.items():
        path = clip_dir / f"{name}.mp4"
        out[name] = (path, write_clip(path, SPEC, gop=8, **kwargs))
    return out


@pytest.fixture(params=sorted(CLIP_KINDS))
def clip(request: pytest.FixtureRequest, clips: dict[str, tuple[Path, WrittenClip]]
         ) -> tuple[str, Path, WrittenClip]:
    """Each generated clip in turn: (kind, path, what was written)."""
    path, written = clips[request.param]
    return request.param, path, written
