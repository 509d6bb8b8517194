"""The :class:`Workspace` of one video: the one object clients use, over the package's parts.

It opens (probing the source, checking its fingerprint, rebuilding lost records), and turns each public
operation into the right sequence under the right lock: a save is "refresh records, refuse to replace a
user edit with a propagated mask, write the mask pair, journal the record" under the write lock. The
parts do the rest: :class:`~xmem_tui.workspace.store.MaskStore` (files),
:class:`~xmem_tui.workspace.edits.ExternalEdits` (mask files changed by other programs),
:class:`~xmem_tui.workspace.records.Records` (journal-backed records),
:class:`~xmem_tui.workspace.history.History` (undo/redo), :class:`~xmem_tui.workspace.locks.Locks`.
"""

from __future__ import annotations

import contextlib
import logging
import shlex
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from xmem_tui.errors import WorkspaceError
from xmem_tui.workspace.edits import ExternalEdits
from xmem_tui.workspace.history import History, Snapshot
from xmem_tui.workspace.journal import StateJournal
from xmem_tui.workspace.locks import Locks
from xmem_tui.workspace.naming import workspace_root
from xmem_tui.workspace.records import (
    PROPAGATED,
    FrameRecord,
    ObjectInfo,
    Records,
    RunInfo,
    check_provenance,
)
from xmem_tui.workspace.source import check_fingerprint, fingerprint
from xmem_tui.workspace.store import MaskStore, soft_or_hard

if TYPE_CHECKING:
    from xmem_tui.config import Settings
    from xmem_tui.media.info import VideoInfo

log = logging.getLogger(__name__)


class Workspace:
    """One video's masks and state. Use :meth:`for_video` (or :meth:`open`) to get one."""

    def __init__(self, root: Path, info: VideoInfo, processing_size: int, max_objects: int = 9) -> None:
        from xmem_tui.media.resize import processing_shape

        self.root = Path(root)
        self.info = info
        self.video_path = Path(info.path)
        #: ``processing.max_objects``: a mask holding a higher id is refused (imports, external edits).
        self.max_objects = max_objects
        self._locks = Locks(self.root / "locks", self.video_path.name)
        repair = shlex.join(["xmem-tui", "repair", str(self.video_path)])
        self._records = Records(StateJournal(self.root / "state.json", self.root / "frames.jsonl", repair))
        with self._locks.write():
            self._records.journal.load()
            current = fingerprint(info)
            fresh = not self._records.state
            if fresh:
                self._records.create(current, processing_shape(info.height, info.width, processing_size))
            self._store = MaskStore(self.root, self.shape)
            if fresh and self._store.stats():
                log.warning("%s: state.json is missing; rebuilding it from the masks", self.root)
                self._rebuild_locked()
            moved = not fresh and check_fingerprint(self._records.state.get("fingerprint", {}), current, self.root)
            if moved:
                self._records.state["fingerprint"] = current
            if fresh or self._records.upgrade(self._store.stats) or moved:
                self._records.journal.save()
        self._history = History(self.root / "history", self._store)
        self._edits = ExternalEdits(self._store, self._records, self._locks, max_objects,
                                    lambda i, mask, soft, how: self._write_locked(i, mask, soft, how, None, force=True))

    # ------------------------------------------------------------------ opening
    @classmethod
    def for_video(cls, settings: Settings, video_path: Path) -> Workspace:
        """The workspace of ``video_path`` under the project's workspace folder (created if needed; named by
        :func:`~xmem_tui.workspace.naming.workspace_root`)."""
        video_path = Path(video_path).expanduser().resolve()
        return cls.open(workspace_root(settings.workspace_dir, video_path), video_path, settings.processing.size,
                        settings.processing.max_objects)

    @classmethod
    def open(cls, root: Path, video_path: Path, processing_size: int = 480, max_objects: int = 9) -> Workspace:
        """Open (or create) the workspace in ``root`` for ``video_path``; probes the source (cached)."""
        from xmem_tui.media.probe import probe

        root = Path(root)
        created = not root.exists()
        root.mkdir(parents=True, exist_ok=True)
        try:
            info = probe(Path(video_path), cache_dir=root)
        except BaseException:
            if created:  # a bad video must not leave an empty workspace behind
                shutil.rmtree(root, ignore_errors=True)
            raise
        return cls(root, info, processing_size, max_objects)

    # ------------------------------------------------------------------ basic facts
    @property
    def frame_count(self) -> int:
        return self.info.frame_count

    @property
    def shape(self) -> tuple[int, int]:
        """Processing resolution (height, width) of every stored mask; fixed when the workspace was made."""
        h, w = self._records.state["shape"]
        return int(h), int(w)

    @property
    def progress_path(self) -> Path:
        """Where the running propagation publishes its :class:`xmem_tui.progress.Progress`."""
        return self.root / "progress.json"

    @property
    def quality_path(self) -> Path:
        """Per-frame quality signals recorded during propagation (JSON lines)."""
        return self.root / "quality.jsonl"

    def mask_path(self, index: int) -> Path:
        return self._store.mask_path(index)

    def soft_path(self, index: int) -> Path:
        return self._store.soft_path(index)

    # ------------------------------------------------------------------ masks
    def read_mask(self, index: int) -> np.ndarray | None:
        """uint8 (h, w) index mask of frame ``index`` at processing resolution, or None if it has none; a file
        changed by another program is adopted as the user's edit first (:mod:`~xmem_tui.workspace.edits`)."""
        self._check_index(index)
        current = self._edits.current(index)
        return None if current is None else current.mask

    def read_soft(self, index: int) -> np.ndarray | None:
        """uint8 (K, h, w) soft masks (object k in channel k-1), or None; frames whose index mask names no
        soft-mask file (imports, external edits, interrupted saves) get hard 0/255 masks derived from it."""
        self._check_index(index)
        current = self._edits.current(index)
        return None if current is None else self._store.soft_of(index, current.mask, current.soft_crc)

    def write_frame(self, index: int, mask: np.ndarray, soft: np.ndarray | None = None,
                    provenance: str = PROPAGATED, run: str | None = None) -> FrameRecord:
        """Store frame ``index``'s masks atomically and record where they came from.

        Args:
            index: frame index (display order).
            mask: uint8 (h, w) index mask at processing resolution.
            soft: optional uint8 (K, h, w) soft masks; hard masks are derived when omitted.
            provenance: ``"propagated"`` or ``"user:<kind>"``. A propagated mask never replaces a
                user-annotated one (checked under the write lock, so a propagation racing with the
                window cannot overwrite an edit); the existing record is returned instead.
            run: propagation run id (see :meth:`begin_run`).
        """
        self._check_index(index)
        mask = np.ascontiguousarray(mask, dtype=np.uint8)
        self._store.check_shape(index, mask)
        check_provenance(provenance)
        with self._locks.write():
            return self._write_locked(index, mask, soft_or_hard(mask, soft), provenance, run)

    def _write_locked(self, index: int, mask: np.ndarray, soft: np.ndarray, provenance: str, run: str | None,
                      force: bool = False) -> FrameRecord:
        self._records.journal.refresh()
        if provenance == PROPAGATED and not force:
            kept = self._edits.user_record_locked(index)
            if kept is not None:
                log.info("frame %d was annotated by the user; the propagated mask is not stored", index)
                return kept
        record = FrameRecord(provenance=provenance, run=run, time=time.time())
        stat = self._store.write(index, mask, soft, record)
        self._records.journal.refresh()
        self._records.ensure_objects(np.unique(mask))
        self._records.record_frame(index, record, stat)
        return record

    def clear_frame(self, index: int) -> None:
        """Remove frame ``index``'s masks (it becomes empty)."""
        self._check_index(index)
        with self._locks.write():
            self._clear_locked(index)

    def _clear_locked(self, index: int) -> None:
        self._store.clear(index)
        self._records.record_clear(index)

    # ------------------------------------------------------------------ records
    def records(self) -> dict[int, FrameRecord]:
        """Every frame that has a mask, with its provenance (refreshed from disk; mask files changed by
        other programs count as the user's edits, deleted ones are gone)."""
        self._edits.sync()
        return self._records.frames()

    def user_frames(self) -> list[int]:
        """Frames annotated by the user (or whose mask another program changed), sorted."""
        self._edits.sync()
        return self._records.user_frames()

    def runs(self) -> dict[str, RunInfo]:
        return self._records.runs()

    def begin_run(self, start: int, backward: bool) -> str:
        """Register a propagation run starting at ``start``; returns its id (stored in each frame it writes)."""
        with self._locks.write():
            return self._records.begin_run(start, backward)

    def stale_frames(self) -> list[int]:
        """Propagated frames made before a later user edit upstream of them (to propagate again)."""
        self._edits.sync()
        return self._records.stale_frames()

    @property
    def objects(self) -> dict[int, ObjectInfo]:
        """Objects seen in this workspace, with names and colours."""
        return self._records.objects()

    def set_object(self, object_id: int, name: str | None = None,
                   color: tuple[int, int, int] | None = None) -> ObjectInfo:
        """Rename or recolour object ``object_id`` (1-255); creates it if new."""
        with self._locks.write():
            self._records.set_object(object_id, name, color)
        return self.objects[object_id]

    @property
    def engine(self) -> str | None:
        """The video's propagation engine ("cutie", "auto" ...); None: the project's ``processing.engine``."""
        return self._records.engine()

    def set_engine(self, name: str | None) -> None:
        """Choose the video's engine (a name the caller checked; the workspace knows no engines)."""
        with self._locks.write():
            self._records.set_engine(name)

    # ------------------------------------------------------------------ undo / redo
    def history_push(self, index: int) -> None:
        """Snapshot frame ``index`` as it is on disk now, before an edit; clears its redo stack."""
        with self._locks.write():
            self._history.push(index)

    def undo(self, index: int) -> bool:
        """Restore the last snapshot of frame ``index``; returns False when there is nothing to undo."""
        return self._step_history(index, "undo", "redo")

    def redo(self, index: int) -> bool:
        """Re-apply an undone edit of frame ``index``; returns False when there is nothing to redo."""
        return self._step_history(index, "redo", "undo")

    def _step_history(self, index: int, source: str, target: str) -> bool:
        self._check_index(index)
        with self._locks.write():
            return self._history.step(index, source, target, self._restore_locked)

    def _restore_locked(self, index: int, snapshot: Snapshot) -> None:
        if snapshot.mask is None or snapshot.soft is None:
            self._clear_locked(index)
        else:
            self._write_locked(index, snapshot.mask, snapshot.soft, snapshot.provenance, snapshot.run, force=True)

    # ------------------------------------------------------------------ locks
    def exclusive(self, role: str, wait: float = 0.0) -> contextlib.AbstractContextManager[None]:
        """Hold the ``role`` lock ("propagate", "annotate") for a run or window session (see
        :meth:`~xmem_tui.workspace.locks.Locks.exclusive`: raises WorkspaceBusy naming the holder)."""
        return self._locks.exclusive(role, wait)

    def holder(self, role: str) -> dict[str, Any] | None:
        """Who holds the ``role`` lock now (pid, host, since), or None when it is free."""
        return self._locks.holder(role)

    # ------------------------------------------------------------------ maintenance
    def rebuild_state(self) -> int:
        """Rebuild the frame records from the mask files (state.json lost or corrupted); returns their count."""
        with self._locks.write():
            count = self._rebuild_locked()
            self._records.journal.save()
        return count

    def _rebuild_locked(self) -> int:
        frames, labels, stats = self._store.scan()
        self._records.replace_frames(frames, labels, stats)
        return len(frames)

    def compact(self) -> None:
        """Fold the journal into state.json (done automatically every few hundred writes)."""
        with self._locks.write():
            self._records.journal.refresh()
            self._records.journal.save()

    def _check_index(self, index: int) -> None:
        if not 0 <= index < self.frame_count:
            raise WorkspaceError(f"frame {index} is out of range: {self.video_path.name} has frames "
                                 f"0-{self.frame_count - 1}.")

