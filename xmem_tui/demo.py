"""The demo project: generated clips a new user can matte without bringing any footage.

Two clips of the same scene (textured objects that move, deform and occlude each other over a panning,
textured background): one at a constant 24 fps with an audio track, and one with variable frame timing
(irregular gaps, mixed 24/60 cadence) to show that exports keep every frame's timestamp. The ground-truth
masks are kept beside the project (``demo/ground_truth/<clip>/``) so a user, a test or a benchmark can
import them instead of drawing. :func:`prepare_run` does that for the constant-rate clip, so the demo can
show the whole job (keyframes, propagation, a self-checked export with sound) with no window and no input.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from xmem_tui.config import CONFIG_NAME, default_config_toml

if TYPE_CHECKING:
    from xmem_tui.config import Settings
    from xmem_tui.export.request import ExportRequest
    from xmem_tui.inference.request import PropagationRequest

log = logging.getLogger(__name__)

#: The demo scene: big enough to look like video, small enough to propagate quickly on a CPU.
DEMO_SIZE = (360, 640)
DEMO_FRAMES = 72
#: The clip the demo's own run works on: the constant-rate one, which has audio to carry into the export.
DEMO_CLIP = "demo_cfr.mp4"


@dataclass(frozen=True)
class DemoProject:
    """Where the demo was made and what it holds."""

    root: Path
    clips: tuple[Path, ...]
    ground_truth: Path


def create_demo(root: Path, frames: int = DEMO_FRAMES, size: tuple[int, int] = DEMO_SIZE) -> DemoProject:
    """Create (or complete) a demo project in ``root``; existing files are kept, so it is safe to rerun."""
    from xmem_tui.media.masks import write_index_mask
    from xmem_tui.media.synthetic import SceneSpec, write_clip

    root = Path(root).expanduser().resolve()
    source = root / "source"
    source.mkdir(parents=True, exist_ok=True)
    config = root / CONFIG_NAME
    if not config.exists():
        config.write_text(default_config_toml(), encoding="utf-8")
    spec = SceneSpec(height=size[0], width=size[1], n_frames=frames, n_objects=2, seed=7, fps=24.0)
    clips = []
    for name, vfr, audio in ((DEMO_CLIP, False, True), ("demo_vfr.mp4", True, False)):
        clip = source / name
        truth = root / "ground_truth" / clip.stem
        if not clip.exists():
            log.info("generating %s (%d frames, %dx%d)", clip, frames, size[1], size[0])
            written = write_clip(clip, spec, vfr=vfr, audio=audio)
            for index in (0, frames // 2):
                write_index_mask(truth / f"{index:05d}.png", written.masks[index])
        clips.append(clip)
    return DemoProject(root=root, clips=tuple(clips), ground_truth=root / "ground_truth")



@dataclass(frozen=True)
class DemoRun:
    """The main job of the app, on the demo: propagate the imported keyframes, then export a green screen.

    Attributes:
        video: the clip it works on.
        imported: frames whose ground-truth masks were imported now (empty when a run was prepared before).
        propagation: from the first frame forward, through the other keyframe.
        export: a green screen with the clip's audio; None when an earlier demo run's export is still there
            (kept: a rerun replaces nothing).
        output: where the export goes (or is).
    """

    video: Path
    imported: tuple[int, ...]
    propagation: PropagationRequest
    export: ExportRequest | None
    output: Path


def prepare_run(project: DemoProject, settings: Settings) -> DemoRun:
    """Import the demo clip's ground-truth keyframes as if the user had drawn them (once: never over masks
    already there), and describe the run that follows."""
    from xmem_tui.export.options import export_stem, output_paths, resolve
    from xmem_tui.export.request import ExportRequest
    from xmem_tui.inference.request import PropagationRequest
    from xmem_tui.mask_import import import_masks
    from xmem_tui.workspace import Workspace

    video = project.root / "source" / DEMO_CLIP
    ws = Workspace.for_video(settings, video)
    imported: tuple[int, ...] = ()
    if not ws.user_frames():
        report = import_masks(ws, project.ground_truth / video.stem, max_objects=settings.processing.max_objects)
        imported = tuple(report.imported)
    export = ExportRequest(kind="greenscreen")
    (output,) = output_paths(resolve(export, settings), settings, export_stem(video), [])
    return DemoRun(video=video, imported=imported, propagation=PropagationRequest(start=0),
                   export=None if output.exists() else export, output=output)
