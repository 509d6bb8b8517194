"""The mask files of a workspace: ``masks/00012.png`` (index mask) and ``soft/00012.png`` (soft masks).

A frame's two files are written as a pair, soft masks first, and the index mask (renamed last) records
the CRC of the soft-mask file it belongs to, so a save killed between the two renames is detected on
read and the frame's soft masks are then derived from its index mask; an index mask that records no
such link (another tool's) never gets a soft-mask file's edges. The index mask also records a CRC of
its own pixels, which tells this app's saves from files changed by other programs
(:mod:`~xmem_tui.workspace.edits`). Each file is written atomically (temp file, fsync, rename). Locking
and records are the caller's business (:class:`~xmem_tui.workspace.facade.Workspace`).
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from xmem_tui.errors import UserError, WorkspaceError
from xmem_tui.workspace.labels import INDEX, MaskValues, read_values
from xmem_tui.workspace.metadata import MaskMeta, file_crc, mask_digest, mask_text, meta_from_text
from xmem_tui.workspace.records import EDIT, FrameRecord

log = logging.getLogger(__name__)


def frame_name(index: int) -> str:
    return f"{index:05d}.png"


def hard_soft(mask: np.ndarray, num_objects: int | None = None) -> np.ndarray:
    """uint8 (K, h, w) 0/255 soft masks equivalent to an index mask (K: ``num_objects``, else the mask's
    highest id, at least 1)."""
    if num_objects is None:
        num_objects = max(int(mask.max()), 1)
    labels = np.arange(1, num_objects + 1, dtype=np.uint8)[:, None, None]
    return (mask[None] == labels).astype(np.uint8) * 255


def soft_or_hard(mask: np.ndarray, soft: np.ndarray | None) -> np.ndarray:
    """``soft`` when given, else the hard soft masks of ``mask``."""
    return soft if soft is not None else hard_soft(mask)


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


Stat = tuple[int, int]
"""A mask file's (size, mtime_ns): what changes when any program rewrites it (compared before decoding)."""


@dataclass(frozen=True)
class StoredMask:
    """A frame's index mask file as read.

    Attributes:
        values: its pixels as values of one kind (an index mask, or another tool's grey or colour image).
        meta: what its text chunks say (provenance, soft-mask link, pixel checksum).
        stat: the file's (size, mtime_ns) when it was read.
        genuine: this app saved exactly these pixels for this frame (the pixel checksum matches).
    """

    values: MaskValues
    meta: MaskMeta
    stat: Stat
    genuine: bool


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

    def stats(self) -> dict[int, Stat]:
        """Every index mask file's :data:`Stat`, by frame (one directory read and one stat per file)."""
        found: dict[int, Stat] = {}
        with os.scandir(self.root / "masks") as entries:
            for entry in entries:
                stem = entry.name.removesuffix(".png")
                if stem.isdigit() and entry.name == frame_name(int(stem)):
                    with contextlib.suppress(OSError):
                        st = entry.stat()
                        found[int(stem)] = (st.st_size, st.st_mtime_ns)
        return found

    def stat(self, index: int) -> Stat | None:
        try:
            st = self.mask_path(index).stat()
        except FileNotFoundError:
            return None
        return st.st_size, st.st_mtime_ns

    def load(self, index: int) -> StoredMask | None:
        """Frame ``index``'s index mask file as read, or None when it has none.

        Raises:
            MediaError: the file is not a readable image (torn, or not an image at all).
        """
        path = self.mask_path(index)
        stat = self.stat(index)
        if stat is None:
            return None
        values = read_values(path)
        meta = meta_from_text(values.text, path)
        genuine = values.kind == INDEX and meta.mask_crc == mask_digest(index, values.values)
        return StoredMask(values=values, meta=meta, stat=stat, genuine=genuine)

    def soft_of(self, index: int, mask: np.ndarray, soft_crc: str | None) -> np.ndarray:
        """uint8 (K, h, w) soft masks of frame ``index`` whose index mask is ``mask``: its soft-mask file when the
        index mask names that very file (``soft_crc``), else hard masks derived from ``mask``."""
        path = self.soft_path(index)
        if soft_crc is not None and path.exists():
            if file_crc(path) == soft_crc:
                return read_soft_file(path, self.shape[0])
            log.warning("%s does not belong to frame %d's mask (interrupted save); using hard masks", path, index)
        return hard_soft(mask)

    def check_shape(self, index: int, mask: np.ndarray) -> None:
        if mask.shape != self.shape:
            raise WorkspaceError(f"{self.root}: mask for frame {index} is {mask.shape[1]}x{mask.shape[0]}, "
                                 f"the workspace stores {self.shape[1]}x{self.shape[0]}; resize it first.")

    def write(self, index: int, mask: np.ndarray, soft: np.ndarray, record: FrameRecord) -> Stat:
        """Write the pair: soft masks, then the index mask naming them (see the module docstring).

        Returns:
            the new index mask file's :data:`Stat`.
        """
        from xmem_tui.media.masks import write_index_mask, write_soft_mask

        write_soft_mask(self.soft_path(index), np.ascontiguousarray(soft, dtype=np.uint8))
        try:
            text = mask_text(record, self.soft_path(index), index, mask)
            write_index_mask(self.mask_path(index), mask, text=text)
        except BaseException:
            # The soft masks just written belong to a mask that was not saved (full disk...): drop them, so
            # the frame's soft masks are derived from its previous index mask instead of contradicting it.
            self.drop_soft(index)
            raise
        stat = self.stat(index)
        assert stat is not None  # written just now, under the caller's write lock
        return stat

    def drop_soft(self, index: int) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.soft_path(index).unlink()

    def clear(self, index: int) -> None:
        for path in (self.mask_path(index), self.soft_path(index)):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def scan(self) -> tuple[dict[int, FrameRecord], list[int], dict[int, Stat]]:
        """Every mask file's embedded record, the object ids they hold and the files this app saved (to
        rebuild lost records).

        A mask without a readable record counts as the user's edit, at its file's time; it gets no
        :data:`Stat`, so it is checked (and converted) like any file changed outside the app.
        """
        frames: dict[int, FrameRecord] = {}
        labels: set[int] = set()
        stats: dict[int, Stat] = {}
        for index, stat in sorted(self.stats().items()):
            record = FrameRecord(provenance=EDIT, time=stat[1] / 1e9)
            try:
                stored = self.load(index)
            except (UserError, OSError) as exc:
                log.warning("%s: unreadable mask (%s); recorded as the user's edit", self.mask_path(index), exc)
                stored = None
            if stored is not None and stored.meta.record is not None and stored.values.kind == INDEX:
                record, stats[index] = stored.meta.record, stored.stat
                labels.update(int(v) for v in stored.values.distinct())
            frames[index] = record
        return frames, sorted(labels), stats
