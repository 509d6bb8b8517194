"""The mask files of a workspace: ``masks/00012.png`` (index mask) and ``soft/00012.png`` (soft masks).

A frame's two files are written as a pair, soft masks first, and the index mask (renamed last) records
the CRC of the soft-mask file it belongs to, so a save killed between the two renames is detected on
read and the frame's soft masks are then derived from its index mask. Each file is written atomically
(temp file, fsync, rename). Locking and records are the caller's business
(:class:`~xmem_tui.workspace.facade.Workspace`).
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

import numpy as np

from xmem_tui.errors import UserError, WorkspaceError
from xmem_tui.workspace.metadata import file_crc, mask_text, read_meta
from xmem_tui.workspace.records import FrameRecord

log = logging.getLogger(__name__)


def frame_name(index: int) -> str:
    return f"{index:05d}.png"


def hard_soft(mask: np.ndarray, num_objects: int) -> np.ndarray:
    """uint8 (K, h, w) 0/255 soft masks equivalent to an index mask."""
    labels = np.arange(1, num_objects + 1, dtype=np.uint8)[:, None, None]
    return (mask[None] == labels).astype(np.uint8) * 255


def soft_or_hard(mask: np.ndarray, soft: np.ndarray | None) -> np.ndarray:
    """``soft`` when given, else the hard soft masks of ``mask``."""
    return soft if soft is not None else hard_soft(mask, max(int(mask.max()), 1))


def read_soft_file(path: Path, plane_height: int) -> np.ndarray:
    """A soft-mask file as uint8 (K, h, w), K from its height (read from the PNG header).

    Raises:
        WorkspaceError: its height is not a whole number of ``plane_height``-row planes.
    """
    from xmem_tui.media.masks import png_size, read_soft_mask

    try:
        rows = png_size(path)[1]
    except UserError:
        rows = 0
    if rows <= 0 or rows % plane_height:
        raise WorkspaceError(f"{path} does not hold {plane_height}-row planes; delete it and the "
                             "soft masks will be derived from the index mask.")
    return read_soft_mask(path, rows // plane_height)


class MaskStore:
    """Index and soft mask files of one workspace at processing ``shape`` (height, width)."""

    def __init__(self, root: Path, shape: tuple[int, int]) -> None:
        self.root = Path(root)
        self.shape = shape
        for sub in ("masks", "soft"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    def mask_path(self, index: int) -> Path:
        return self.root / "masks" / frame_name(index)

    def soft_path(self, index: int) -> Path:
        return self.root / "soft" / frame_name(index)

    def indices(self) -> list[int]:
        """Frames that have an index mask file, sorted."""
        return sorted(int(p.stem) for p in (self.root / "masks").glob("*.png") if p.stem.isdigit())

    def read_mask(self, index: int) -> np.ndarray | None:
        """uint8 (h, w) index mask of frame ``index``, or None if it has none."""
        from xmem_tui.media.masks import read_index_mask

        path = self.mask_path(index)
        return read_index_mask(path) if path.exists() else None

    def read_soft(self, index: int) -> np.ndarray | None:
        """uint8 (K, h, w) soft masks, or hard ones derived from the index mask when none belong to it."""
        path = self.soft_path(index)
        if path.exists() and self._soft_matches(index, path):
            return read_soft_file(path, self.shape[0])
        mask = self.read_mask(index)
        return None if mask is None else hard_soft(mask, max(int(mask.max()), 1))

    def check_shape(self, index: int, mask: np.ndarray) -> None:
        if mask.shape != self.shape:
            raise WorkspaceError(f"{self.root}: mask for frame {index} is {mask.shape[1]}x{mask.shape[0]}, "
                                 f"the workspace stores {self.shape[1]}x{self.shape[0]}; resize it first.")

    def write(self, index: int, mask: np.ndarray, soft: np.ndarray, record: FrameRecord) -> None:
        """Write the pair: soft masks, then the index mask naming them (see the module docstring)."""
        from xmem_tui.media.masks import write_index_mask, write_soft_mask

        write_soft_mask(self.soft_path(index), np.ascontiguousarray(soft, dtype=np.uint8))
        try:
            write_index_mask(self.mask_path(index), mask, text=mask_text(record, self.soft_path(index)))
        except BaseException:
            # The soft masks just written belong to a mask that was not saved (full disk...): drop them, so
            # the frame's soft masks are derived from its previous index mask instead of contradicting it.
            with contextlib.suppress(FileNotFoundError):
                self.soft_path(index).unlink()
            raise

    def clear(self, index: int) -> None:
        for path in (self.mask_path(index), self.soft_path(index)):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def recorded(self, index: int) -> FrameRecord | None:
        """The record embedded in frame ``index``'s index mask (None: no file, none recorded, unreadable)."""
        path = self.mask_path(index)
        if not path.exists():
            return None
        try:
            return read_meta(path).record
        except (UserError, OSError):
            return None

    def scan(self) -> tuple[dict[int, FrameRecord], list[int]]:
        """Every mask file's embedded record and the object ids they hold (to rebuild lost records).

        A mask without a readable record counts as imported by the user, at its file's time.
        """
        frames: dict[int, FrameRecord] = {}
        labels: set[int] = set()
        for index in self.indices():
            path = self.mask_path(index)
            record = FrameRecord(provenance="user:import", time=path.stat().st_mtime)
            try:
                record = read_meta(path).record or record
                labels.update(int(v) for v in np.unique(self.read_mask(index)))
            except (UserError, OSError) as exc:
                log.warning("%s: unreadable mask or provenance (%s); recorded as imported", path, exc)
            frames[index] = record
        return frames, sorted(labels)

    def _soft_matches(self, index: int, soft_path: Path) -> bool:
        """Whether the soft-mask file is the one saved with the current index mask."""
        try:
            expected = read_meta(self.mask_path(index)).soft_crc
        except (OSError, WorkspaceError):
            return False
        if expected is None:
            return True  # written by a tool that records no checksum
        matches = file_crc(soft_path) == expected
        if not matches:
            log.warning("%s does not belong to frame %d's mask (interrupted save); using hard masks", soft_path, index)
        return matches
