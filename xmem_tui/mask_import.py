"""Import index masks made elsewhere (XMem / Cutie / DAVIS layout: ``00012.png`` is frame 12).

Real mask folders are slightly messy: DAVIS ships a mask one pixel narrower than its frames, tools save
masks either at the source size or at their processing size. A mask within a couple of pixels of either
size is resized (nearest neighbour, so labels stay labels) with a warning; anything else is refused
before a single frame is written, so a wrong folder never half-overwrites a workspace.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from xmem_tui.errors import WorkspaceError
from xmem_tui.workspace import Workspace, hard_soft

log = logging.getLogger(__name__)

#: How far (pixels, per side) a mask may be off the frame size and still be resized instead of refused.
SIZE_TOLERANCE = 2


@dataclass
class ImportReport:
    """What an import did."""

    imported: list[int] = field(default_factory=list)
    resized: list[int] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def mask_files(mask_dir: Path) -> dict[int, Path]:
    """Frame index -> PNG file for every ``<digits>.png`` in ``mask_dir``."""
    mask_dir = Path(mask_dir)
    if not mask_dir.is_dir():
        raise WorkspaceError(f"{mask_dir} is not a folder of masks; give the folder that holds 00000.png etc.")
    files = {int(p.stem): p for p in mask_dir.iterdir() if p.suffix.lower() == ".png" and p.stem.isdigit()}
    if not files:
        raise WorkspaceError(f"{mask_dir} holds no masks named like 00012.png (frame 12).")
    return dict(sorted(files.items()))


def import_masks(ws: Workspace, mask_dir: Path, provenance: str = "user:import") -> ImportReport:
    """Import every mask in ``mask_dir`` into ``ws`` as user-annotated frames.

    Raises:
        WorkspaceError: a mask's size is far from both the source and the processing size, or a mask
            names a frame the video does not have. Nothing is written in that case.
    """
    from xmem_tui.media.masks import read_index_mask
    from xmem_tui.media.resize import mask_to_shape

    report = ImportReport()
    source_shape = (ws.info.height, ws.info.width)
    prepared: list[tuple[int, np.ndarray]] = []
    for index, path in mask_files(mask_dir).items():
        if index >= ws.frame_count:
            raise WorkspaceError(f"{path}: frame {index} does not exist ({ws.video_path.name} has "
                                 f"{ws.frame_count} frames); remove the file or pick the right video.")
        mask = read_index_mask(path)
        shape = mask.shape[:2]
        target = _closest(shape, (source_shape, ws.shape))
        if target is None:
            raise WorkspaceError(
                f"{path} is {shape[1]}x{shape[0]}, but frames of {ws.video_path.name} are "
                f"{source_shape[1]}x{source_shape[0]} (processing size {ws.shape[1]}x{ws.shape[0]}); "
                "these masks belong to another video or resolution.")
        if shape != target:
            report.resized.append(index)
            report.warnings.append(f"{path.name} is {shape[1]}x{shape[0]}, resized to {target[1]}x{target[0]}")
            log.warning(report.warnings[-1])
        prepared.append((index, mask_to_shape(mask, ws.shape) if shape != ws.shape else mask))
    for index, mask in prepared:
        ws.history_push(index)
        ws.write_frame(index, mask, hard_soft(mask, max(int(mask.max()), 1)), provenance=provenance)
        report.imported.append(index)
    return report


def _closest(shape: tuple[int, ...], candidates: tuple[tuple[int, int], ...]) -> tuple[int, int] | None:
    """The first candidate within :data:`SIZE_TOLERANCE` pixels of ``shape`` in both dimensions."""
    for candidate in candidates:
        if all(abs(a - b) <= SIZE_TOLERANCE for a, b in zip(shape, candidate, strict=True)):
            return candidate
    return None
