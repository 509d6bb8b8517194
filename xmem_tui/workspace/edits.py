"""Mask files are the truth: a mask changed by another program is noticed and kept as the user's edit.

A user may fix ``masks/00010.png`` in an image editor, overwrite it with a script or copy another frame's
file over it. Whatever did it, the window shows that file, so exports and propagations must use it too.
A file is this app's save when its pixel checksum (frame number, size and pixels, in a text chunk) matches
what it holds; a save from before that checksum existed is trusted while its (size, mtime) is the one
recorded. Any other file is an **external edit**: it is converted to an index mask where that is
unambiguous (:mod:`~xmem_tui.workspace.labels`: 0/255 grey is object 1, DAVIS colours are their ids, a
few grey levels are ids in order), saved back in this app's format as a user edit (``user:edit``) with
soft masks rebuilt from it, so the window, exports and propagations agree, and a propagation never
overwrites it. A file that cannot be converted (another size, an id above ``processing.max_objects``,
anti-aliased colours) is refused in one line naming the file, its size and its values, and its stale
soft masks are dropped; it still counts as the user's, so nothing replaces it before the user fixes it.

Edits are noticed when a frame is read (the checksum) and whenever records are listed (a file whose
(size, mtime) differs from the recorded one is checked; a deleted file loses its record).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from xmem_tui.errors import UserError, WorkspaceError
from xmem_tui.workspace.labels import INDEX, LabelPlan
from xmem_tui.workspace.locks import Locks
from xmem_tui.workspace.records import EDIT, FrameRecord, Records
from xmem_tui.workspace.store import MaskStore, Stat, StoredMask, hard_soft

log = logging.getLogger(__name__)

#: A records listing within this many seconds of the last one, with no file added or removed, reuses it.
RESCAN_S = 1.0

#: Saves a frame under the held write lock: (index, index mask, soft masks, provenance).
WriteLocked = Callable[[int, np.ndarray, np.ndarray, str], FrameRecord]


@dataclass(frozen=True)
class Current:
    """A frame's index mask as the truth on disk, and the soft-mask file checksum it names (None: none)."""

    mask: np.ndarray
    soft_crc: str | None


class ExternalEdits:
    """Checks a workspace's mask files against what this app saved, and adopts the others.

    Args:
        max_objects: ``processing.max_objects``: a higher id is refused.
        write: saves a frame under the held write lock (the workspace's own save).
    """

    def __init__(self, store: MaskStore, records: Records, locks: Locks, max_objects: int,
                 write: WriteLocked) -> None:
        self.store = store
        self.records = records
        self.locks = locks
        self.write = write
        self.max_objects = max_objects
        self._last_scan: tuple[int, float] = (-1, float("-inf"))  # masks folder mtime_ns, when

    # ------------------------------------------------------------------ one frame
    def current(self, index: int) -> Current | None:
        """Frame ``index``'s mask as the truth on disk (an external edit is adopted first), or None.

        Raises:
            UserError: the file cannot be read, or converted (naming the file, its size and values).
        """
        stored = self.store.load(index)
        if stored is None:
            return None
        if not self._trusted(index, stored):
            with self.locks.write():
                self.records.journal.refresh()
                stored = self.store.load(index)  # another process may have adopted it meanwhile
                if stored is None:
                    return None
                if not self._trusted(index, stored):
                    stored = self._adopt_locked(index, stored)
        return Current(np.array(stored.values.values, np.uint8), stored.meta.soft_crc)

    def user_record_locked(self, index: int) -> FrameRecord | None:
        """Under the write lock (journal refreshed): frame ``index``'s record when the frame is the user's, its
        file checked first if it changed since it was recorded (another program's file is the user's; a
        save whose journal line was lost is recorded again)."""
        if self.store.stat(index) != self.records.file_stat(index):
            self.check_locked(index)
        record = self.records.frame(index)
        return record if record is not None and record.user else None

    def check_locked(self, index: int) -> None:
        """Under the write lock (journal refreshed): record frame ``index``'s file as it is now, adopting an
        external edit; an unconvertible file is logged and left as the user's."""
        try:
            stored = self.store.load(index)
        except UserError as exc:
            self._refuse_locked(index, self.store.stat(index), exc)
            return
        if stored is None:
            return
        if self._trusted(index, stored):
            if self.records.file_stat(index) != stored.stat or self.records.frame(index) is None:
                # this app's save all the same: touched, restored from a copy, or its journal line was lost
                record = stored.meta.record or self.records.frame(index) or FrameRecord(EDIT)
                self.records.record_frame(index, record, stored.stat)
            return
        with contextlib.suppress(UserError):  # logged once by _refuse_locked; reading the frame raises it
            self._adopt_locked(index, stored)

    # ------------------------------------------------------------------ every frame
    def sync(self) -> None:
        """Check every mask file whose (size, mtime) differs from the recorded one, and forget the records of
        deleted files (cheap when nothing changed: one directory read and a stat per file, no lock).

        A listing right after another one (a view asks for records, user frames and stale frames at once)
        reuses it unless files were added or removed; a file rewritten in place meanwhile is still caught
        when its frame is read, and before any propagated save replaces it.
        """
        folder = (self.store.root / "masks").stat().st_mtime_ns
        if folder == self._last_scan[0] and time.monotonic() - self._last_scan[1] < RESCAN_S:
            return
        self._last_scan = (folder, time.monotonic())
        self.records.journal.refresh()
        if not any(self._differences(self.store.stats())):
            return
        with self.locks.write():
            self.records.journal.refresh()
            changed, gone = self._differences(self.store.stats())
            for index in gone:
                log.info("%s was deleted: frame %d has no mask any more", self.store.mask_path(index), index)
                self.store.drop_soft(index)
                self.records.record_clear(index)
            for index in changed:
                self.check_locked(index)

    def _differences(self, on_disk: dict[int, Stat]) -> tuple[list[int], list[int]]:
        known, frames = self.records.file_stats(), self.records.state["frames"]
        changed = sorted(i for i, stat in on_disk.items() if known.get(i) != stat or str(i) not in frames)
        gone = sorted(int(k) for k in frames if int(k) not in on_disk)
        return changed, gone

    # ------------------------------------------------------------------ internals
    def _trusted(self, index: int, stored: StoredMask) -> bool:
        """This app's save: its pixel checksum matches, or (a save from before the checksum) it carries
        this app's record, is a valid index mask and its file is unchanged since it was recorded."""
        if stored.genuine:
            return True
        values = stored.values
        return (stored.meta.record is not None and values.kind == INDEX and values.shape == self.store.shape
                and int(values.values.max(initial=0)) <= self.max_objects
                and self.records.file_stat(index) == stored.stat)

    def _adopt_locked(self, index: int, stored: StoredMask) -> StoredMask:
        """Convert an external edit and save it back as the user's (soft masks rebuilt from it).

        Raises:
            UserError: it cannot be converted (after dropping its stale soft masks and recording it).
        """
        try:
            mask = self._convert(stored)
        except UserError as exc:
            self._refuse_locked(index, stored.stat, exc)
            raise
        log.warning("%s was changed outside xmem-tui: kept as the user's edit of frame %d, soft masks rebuilt "
                    "from it", self.store.mask_path(index), index)
        self.write(index, mask, hard_soft(mask), EDIT)
        adopted = self.store.load(index)
        assert adopted is not None and adopted.genuine  # just saved under the lock
        return adopted

    def _convert(self, stored: StoredMask) -> np.ndarray:
        values = stored.values
        (h, w), (sh, sw) = values.shape, self.store.shape
        if (h, w) != (sh, sw):
            raise WorkspaceError(f"{values.describe()} is not the size of this workspace's masks, "
                                 f"{sw}x{sh} (the processing size); save it at {sw}x{sh}, or bring masks of "
                                 "another size in with `xmem-tui import`.")
        colours = {k: o.color for k, o in self.records.objects().items()}  # recognised after the DAVIS palette
        plan = LabelPlan.decide([values.survey()], self.max_objects, object_colours=colours, colour_coded=False)
        return plan.labels(values)

    def _refuse_locked(self, index: int, stat: Stat | None, exc: UserError) -> None:
        """Make an unconvertible file the user's (never replaced by a propagation), without its stale soft
        masks; logged the first time this very file is seen."""
        if stat is None or self.records.file_stat(index) == stat:
            return
        log.warning("frame %d's mask was changed outside xmem-tui and cannot be used: %s", index, exc)
        self.store.drop_soft(index)
        self.records.record_frame(index, FrameRecord(EDIT, time=stat[1] / 1e9), stat)
