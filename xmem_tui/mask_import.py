"""Import index masks made elsewhere (``00012.png`` is frame 12), in any common convention.

Speaks what real mask folders hold (:mod:`xmem_tui.workspace.labels`): DAVIS-2017 / XMem / Cutie palette
PNGs (index = object id), DAVIS-2016 greyscale 0/255 (white = object 1), greyscale with one value per
object (values up to ``processing.max_objects`` are the ids, a few other levels become ids in order) and
colour-coded RGB (DAVIS colours are their ids, other colours become ids in order). The mapping is decided
for the whole folder, so an object keeps its id in every frame, and reported.

Real mask folders are also slightly messy: DAVIS ships a mask one pixel narrower than its frames, tools
save masks either at the source size or at their processing size. A mask within a couple of pixels of
either size is resized (nearest neighbour, so labels stay labels) with a warning; anything else, an id
above ``processing.max_objects`` or values that are no labels are refused, naming the file, before a
single frame is written, so a wrong folder never half-overwrites a workspace. Files not named like
``00012.png`` are skipped and named in the report; every imported id becomes an object of the workspace.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from xmem_tui.errors import WorkspaceError
from xmem_tui.workspace import Workspace
from xmem_tui.workspace.labels import LabelPlan, MaskValues, Survey, read_values

log = logging.getLogger(__name__)

#: How far (pixels, per side) a mask may be off the frame size and still be resized instead of refused.
SIZE_TOLERANCE = 2


@dataclass
class ImportReport:
    """What an import did.

    Attributes:
        imported: frames written, sorted.
        resized: frames whose mask was a pixel or two off the frame size.
        skipped: names of the folder's entries that are not masks named like ``00012.png``.
        warnings: one line per resized mask.
        notes: how values were read as objects ("greyscale 0/255 masks (DAVIS-2016): white is object 1").
        objects: the object ids imported.
    """

    imported: list[int] = field(default_factory=list)
    resized: list[int] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    objects: list[int] = field(default_factory=list)


def mask_files(mask_dir: Path) -> tuple[dict[int, Path], list[str]]:
    """Frame index -> file for every ``<digits>.png`` in ``mask_dir``, and the names of everything else
    (hidden files aside).

    Raises:
        WorkspaceError: it is not a folder, or it holds no mask named like that (naming what it holds).
    """
    mask_dir = Path(mask_dir)
    if not mask_dir.is_dir():
        raise WorkspaceError(f"{mask_dir} is not a folder of masks; give the folder that holds 00000.png etc.")
    files: dict[int, Path] = {}
    skipped: list[str] = []
    for path in sorted(mask_dir.iterdir()):
        if path.name.startswith("."):
            continue
        if path.is_file() and path.suffix.lower() == ".png" and path.stem.isdigit():
            files[int(path.stem)] = path
        else:
            skipped.append(path.name + ("/" if path.is_dir() else ""))
    if not files:
        holds = f" (it holds {_names(skipped)})" if skipped else ""
        raise WorkspaceError(f"{mask_dir} holds no masks named like 00012.png (frame 12){holds}; rename them "
                             "by frame number, counted from 0.")
    return dict(sorted(files.items())), skipped


def import_masks(ws: Workspace, mask_dir: Path, provenance: str = "user:import",
                 max_objects: int | None = None) -> ImportReport:
    """Import every mask in ``mask_dir`` into ``ws`` as user-annotated frames.

    Args:
        max_objects: the highest id allowed (default: the workspace's ``processing.max_objects``).

    Raises:
        WorkspaceError / MediaError: a mask names a frame the video does not have, is far from both the
            source and the processing size, holds an id above ``max_objects`` or values that are no
            labels, or is not a readable image. Nothing is written in that case.
    """
    if max_objects is None:
        max_objects = ws.max_objects
    files, skipped = mask_files(mask_dir)
    report = ImportReport(skipped=skipped)
    for index, path in files.items():
        if index >= ws.frame_count:
            raise WorkspaceError(f"{path}: frame {index} does not exist ({ws.video_path.name} has "
                                 f"{ws.frame_count} frames); remove the file or pick the right video.")
    plan = LabelPlan.decide(_surveys(files.values()), max_objects, object_colours=_colours(ws))
    report.notes.extend(plan.notes)
    prepared: list[tuple[int, np.ndarray]] = []
    for index, path in files.items():
        mask, warning = fit_mask(ws, read_values(path), plan)
        if warning:
            report.resized.append(index)
            report.warnings.append(warning)
            log.warning(warning)
        prepared.append((index, mask))
    for index, mask in prepared:
        ws.history_push(index)
        ws.write_frame(index, mask, provenance=provenance)  # hard soft masks derived
        report.imported.append(index)
    report.objects = sorted({int(k) for _, mask in prepared for k in np.unique(mask) if k})
    return report


def read_mask_file(ws: Workspace, path: Path) -> tuple[np.ndarray, list[str]]:
    """One mask file for one frame (the annotation window's import), as an index mask at ``ws.shape``, and
    notes on how it was read and resized.

    Raises:
        WorkspaceError / MediaError: as :func:`import_masks`.
    """
    values = read_values(path)
    plan = LabelPlan.decide([values.survey()], ws.max_objects, object_colours=_colours(ws))
    mask, warning = fit_mask(ws, values, plan)
    return mask, [*plan.notes, *([warning] if warning else [])]


def fit_mask(ws: Workspace, values: MaskValues, plan: LabelPlan) -> tuple[np.ndarray, str | None]:
    """``values`` as an index mask at the workspace's processing size, and a warning when it was a pixel
    or two off the frame size.

    Raises:
        WorkspaceError: far from both the source and the processing size, or an id above the limit.
    """
    from xmem_tui.media.resize import mask_to_shape

    source_shape = (ws.info.height, ws.info.width)
    shape = values.shape
    target = _closest(shape, (source_shape, ws.shape))
    if target is None:
        raise WorkspaceError(
            f"{values.describe()} does not fit: frames of {ws.video_path.name} are "
            f"{source_shape[1]}x{source_shape[0]} (processing size {ws.shape[1]}x{ws.shape[0]}); "
            "these masks belong to another video or resolution.")
    mask = plan.labels(values)
    warning = None
    if shape != target:
        warning = f"{values.path.name} is {shape[1]}x{shape[0]}, resized to {target[1]}x{target[0]}"
    return (np.ascontiguousarray(mask_to_shape(mask, ws.shape)) if shape != ws.shape else mask), warning


def _surveys(paths: Iterable[Path]) -> Iterator[Survey]:
    """Each file's distinct values, read one at a time (a folder's pixels are never all in memory)."""
    for path in paths:
        yield read_values(path).survey()


def _colours(ws: Workspace) -> dict[int, tuple[int, int, int]]:
    return {k: o.color for k, o in ws.objects.items()}


def _names(names: list[str], limit: int = 6) -> str:
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _closest(shape: tuple[int, ...], candidates: tuple[tuple[int, int], ...]) -> tuple[int, int] | None:
    """The first candidate within :data:`SIZE_TOLERANCE` pixels of ``shape`` in both dimensions."""
    for candidate in candidates:
        if all(abs(a - b) <= SIZE_TOLERANCE for a, b in zip(shape, candidate, strict=True)):
            return candidate
    return None


def skipped_line(report: ImportReport) -> str | None:
    """The report's line on skipped entries, or None."""
    if not report.skipped:
        return None
    return f"skipped {len(report.skipped)} file(s) not named like 00012.png: {_names(report.skipped)}"
