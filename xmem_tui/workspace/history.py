"""Per-frame undo and redo that survive window sessions: ``history/00012/{undo,redo}/NNNN/``.

A snapshot is a copy of the frame's two mask files as they were on disk (or an empty folder when the
frame had no mask). Undoing pops the newest undo snapshot, pushes the current files onto redo and
restores the snapshot through the workspace, which records it like any other save. The caller holds
the workspace's write lock.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from xmem_tui.workspace.metadata import read_meta
from xmem_tui.workspace.store import MaskStore, read_soft_file, soft_or_hard

#: Snapshots kept per frame and stack.
DEPTH = 50


@dataclass(frozen=True)
class Snapshot:
    """A frame's masks as they were: restored with this provenance and run (None masks: it was empty)."""

    mask: np.ndarray | None
    soft: np.ndarray | None
    provenance: str = "user:free"
    run: str | None = None


class History:
    """The undo and redo stacks of every frame of one workspace."""

    def __init__(self, root: Path, store: MaskStore) -> None:
        self.root = Path(root)
        self.store = store
        self.root.mkdir(parents=True, exist_ok=True)

    def push(self, index: int) -> None:
        """Snapshot frame ``index`` before an edit; an edit makes the redo stack meaningless, so it is emptied."""
        self._snapshot(index, "undo")
        _clear(self._folder(index, "redo"))

    def step(self, index: int, source: str, target: str, restore: Callable[[int, Snapshot], None]) -> bool:
        """Move the newest snapshot of ``source`` back into the frame (``restore`` writes it), saving the
        current state on ``target``; False when ``source`` is empty."""
        folder = self._folder(index, source)
        entries = _entries(folder)
        if not entries:
            return False
        top = entries[-1]
        snapshot = self._load(top)
        self._snapshot(index, target)
        restore(index, snapshot)
        shutil.rmtree(top)
        return True

    def _folder(self, index: int, stack: str) -> Path:
        return self.root / f"{index:05d}" / stack

    def _snapshot(self, index: int, stack: str) -> None:
        folder = self._folder(index, stack)
        folder.mkdir(parents=True, exist_ok=True)
        entries = _entries(folder)
        number = int(entries[-1].name) + 1 if entries else 0
        target = folder / f"{number:04d}"
        target.mkdir()
        for src, name in ((self.store.mask_path(index), "mask.png"), (self.store.soft_path(index), "soft.png")):
            if src.exists():
                (target / name).write_bytes(src.read_bytes())
        for old in entries[: max(0, len(entries) + 1 - DEPTH)]:
            shutil.rmtree(old)

    def _load(self, folder: Path) -> Snapshot:
        from xmem_tui.media.masks import read_index_mask

        if not (folder / "mask.png").exists():
            return Snapshot(mask=None, soft=None)
        mask = read_index_mask(folder / "mask.png")
        soft = read_soft_file(folder / "soft.png", self.store.shape[0]) if (folder / "soft.png").exists() else None
        record = read_meta(folder / "mask.png").record
        if record is None:
            return Snapshot(mask=mask, soft=soft_or_hard(mask, soft))
        return Snapshot(mask=mask, soft=soft_or_hard(mask, soft), provenance=record.provenance, run=record.run)


def _entries(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir()) if folder.exists() else []


def _clear(folder: Path) -> None:
    if folder.exists():
        for path in folder.iterdir():
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
