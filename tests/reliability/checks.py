"""Consistency checks of a workspace on disk, shared by the crash and concurrency tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from xmem_tui.media.masks import read_index_mask, read_mask_text, read_soft_mask
from xmem_tui.workspace import Workspace


def mask_files(ws: Workspace) -> list[int]:
    """Frames with a visible mask file (temporary files of an interrupted write are hidden: ``.name.tmp``)."""
    return sorted(int(p.stem) for p in (ws.root / "masks").glob("*.png") if p.stem.isdigit())


def assert_masks_whole(ws: Workspace, labels: set[int]) -> dict[int, np.ndarray]:
    """Every mask file decodes completely, has the workspace's shape and only known labels; so do soft files.

    Returns the masks by frame.
    """
    masks = {}
    for index in mask_files(ws):
        mask = read_index_mask(ws.mask_path(index))  # a torn PNG raises MediaError here
        assert mask.shape == ws.shape and mask.dtype == np.uint8, (index, mask.shape)
        assert set(np.unique(mask).tolist()) <= labels, (index, np.unique(mask))
        meta = json.loads(read_mask_text(ws.mask_path(index))["xmem-tui"])
        assert meta["provenance"] in ("propagated", "user:import", "user:free"), meta
        masks[index] = mask
    for soft in sorted((ws.root / "soft").glob("*.png")):
        data = read_soft_mask(soft, 1)  # decodes fully; one tile per object, stacked vertically
        assert data.shape[1] % ws.shape[0] == 0 and data.shape[2] == ws.shape[1], (soft.name, data.shape)
    return masks


def assert_records_match_files(ws: Workspace, in_flight: int = 0) -> None:
    """The records name only frames whose mask exists; at most ``in_flight`` masks lack a record.

    A kill between a mask's rename and its journal line leaves that one mask unrecorded (the resumed run
    writes it again); nothing else may disagree.
    """
    records, files = set(ws.records()), set(mask_files(ws))
    assert records <= files, sorted(records - files)
    assert len(files - records) <= in_flight, sorted(files - records)


def no_temp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob(".*.tmp"))
