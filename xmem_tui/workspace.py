"""On-disk state of one video: masks, provenance, objects, runs and locks, in ``workspace/<video stem>/``.

Layout (all writes atomic: temp file, fsync, rename)::

    state.json        fingerprint of the source, processing shape, objects, runs, frame records
    frames.jsonl      journal of frame writes since state.json was last compacted
    probe.json        cached probe of the source (every frame's timestamp)
    masks/00012.png   index mask of frame 12 (DAVIS palette PNG; value = object id), with the frame's
                      provenance in a tEXt chunk so state.json can be rebuilt from the masks alone
    soft/00012.png    soft masks of frame 12: grey PNG of K tiles stacked vertically, tile k-1 = object k
                      probability * 255 (kept so exports get smooth edges)
    history/00012/    undo / redo snapshots of frame 12 (survive window sessions)
    locks/            flock files: ``write`` (held for one write), ``propagate`` / ``annotate`` (held for
                      a whole run or window session)

Several processes use one workspace at once (the worker writes propagated frames while the window
writes user edits), so every mutation takes the short ``write`` lock, and readers refresh their view
of the records from the journal cheaply (only new journal bytes are read).
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import logging
import os
import shutil
import socket
import time
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from xmem_tui.errors import WorkspaceError
from xmem_tui.fsutil import atomic_write_json, flock_held, try_flock
from xmem_tui.state_journal import StateJournal

if TYPE_CHECKING:
    from xmem_tui.config import Settings
    from xmem_tui.media.probe import VideoInfo

log = logging.getLogger(__name__)

STATE_VERSION = 1
USER_PREFIX = "user:"
PROPAGATED = "propagated"
USER_KINDS = ("click", "scribble", "free", "lasso", "import")
_HISTORY_DEPTH = 50
#: tEXt key of an index mask holding the CRC32 of the soft-mask file saved with it.
SOFT_CRC_KEY = "xmem-tui-soft-crc32"


class WorkspaceBusy(WorkspaceError):
    """Another process holds the role lock (a second propagation or a second annotation window)."""


class SourceChanged(WorkspaceError):
    """The source video is not the one the workspace was made from."""


@dataclass(frozen=True)
class FrameRecord:
    """Where a frame's mask came from.

    Attributes:
        provenance: ``"propagated"`` or ``"user:<kind>"`` (click, scribble, free, lasso, import).
        run: id of the propagation run that wrote it (None for user edits).
        time: when it was written (seconds since the epoch).
    """

    provenance: str
    run: str | None = None
    time: float = 0.0

    @property
    def user(self) -> bool:
        return self.provenance.startswith(USER_PREFIX)


@dataclass(frozen=True)
class ObjectInfo:
    """An object's display name and overlay colour (RGB)."""

    id: int
    name: str
    color: tuple[int, int, int]


@dataclass(frozen=True)
class RunInfo:
    """A propagation run: used to tell which propagated frames a later user edit made stale."""

    id: str
    start: int
    backward: bool
    time: float


def _frame_name(index: int) -> str:
    return f"{index:05d}.png"


class Workspace:
    """One video's masks and state. Use :meth:`for_video` (or :meth:`open`) to get one."""

    def __init__(self, root: Path, info: VideoInfo, processing_size: int) -> None:
        from xmem_tui.media.resize import processing_shape

        self.root = Path(root)
        self.info = info
        self.video_path = Path(info.path)
        for sub in ("masks", "soft", "history", "locks"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self._journal = StateJournal(self.root / "state.json", self.root / "frames.jsonl")
        with self._write_lock():
            self._journal.load()
            fingerprint = self._fingerprint()
            if not self._journal.state:
                self._journal.state = {
                    "version": STATE_VERSION,
                    "fingerprint": fingerprint,
                    "shape": list(processing_shape(info.height, info.width, processing_size)),
                    "objects": {},
                    "runs": {},
                    "frames": {},
                }
                if any((self.root / "masks").glob("*.png")):
                    log.warning("%s: state.json is missing; rebuilding it from the masks", self.root)
                    self._rebuild_locked()
                self._journal.save()
            else:
                self._check_fingerprint(fingerprint)

    # ------------------------------------------------------------------ opening
    @classmethod
    def for_video(cls, settings: Settings, video_path: Path) -> Workspace:
        """The workspace of ``video_path`` under the project's workspace folder (created if needed)."""
        video_path = Path(video_path).expanduser().resolve()
        return cls.open(settings.workspace_dir / video_path.stem, video_path, settings.processing.size)

    @classmethod
    def open(cls, root: Path, video_path: Path, processing_size: int = 480) -> Workspace:
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
        return cls(root, info, processing_size)

    # ------------------------------------------------------------------ basic facts
    @property
    def frame_count(self) -> int:
        return self.info.frame_count

    @property
    def shape(self) -> tuple[int, int]:
        """Processing resolution (height, width) of every stored mask; fixed when the workspace was made."""
        h, w = self._journal.state["shape"]
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
        return self.root / "masks" / _frame_name(index)

    def soft_path(self, index: int) -> Path:
        return self.root / "soft" / _frame_name(index)

    # ------------------------------------------------------------------ masks
    def read_mask(self, index: int) -> np.ndarray | None:
        """uint8 (h, w) index mask of frame ``index`` at processing resolution, or None if it has none."""
        from xmem_tui.media.masks import read_index_mask

        self._check_index(index)
        path = self.mask_path(index)
        return read_index_mask(path) if path.exists() else None

    def read_soft(self, index: int) -> np.ndarray | None:
        """uint8 (K, h, w) soft masks (object k in channel k-1), or None.

        Frames written without soft masks (e.g. imports) get hard 0/255 masks derived from the index mask.
        """
        from xmem_tui.media.masks import read_soft_mask

        self._check_index(index)
        path = self.soft_path(index)
        if path.exists() and self._soft_matches(index, path):
            return read_soft_mask(path, self._tiles(path))
        mask = self.read_mask(index)
        if mask is None:
            return None
        k = max(int(mask.max()), 1)
        return hard_soft(mask, k)

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
        if mask.shape != self.shape:
            raise WorkspaceError(f"{self.root}: mask for frame {index} is {mask.shape[1]}x{mask.shape[0]}, "
                                 f"the workspace stores {self.shape[1]}x{self.shape[0]}; resize it first.")
        _check_provenance(provenance)
        if soft is None:
            soft = hard_soft(mask, max(int(mask.max()), 1))
        with self._write_lock():
            return self._write_frame_locked(index, mask, soft, provenance, run)

    def _write_frame_locked(self, index: int, mask: np.ndarray, soft: np.ndarray, provenance: str,
                            run: str | None, force: bool = False) -> FrameRecord:
        from xmem_tui.media.masks import write_index_mask, write_soft_mask

        self._journal.refresh()
        if provenance == PROPAGATED and not force:
            kept = self._user_record(index)
            if kept is not None:
                log.info("frame %d was annotated by the user; the propagated mask is not stored", index)
                return kept
        record = FrameRecord(provenance=provenance, run=run, time=time.time())
        write_soft_mask(self.soft_path(index), np.ascontiguousarray(soft, dtype=np.uint8))
        # The index mask is renamed last and names the soft file it belongs to (by CRC), so a save killed
        # between the two renames is detected on read and the soft masks are derived from the index mask.
        text = {"xmem-tui": json.dumps(dataclasses.asdict(record), sort_keys=True),
                SOFT_CRC_KEY: f"{zlib.crc32(self.soft_path(index).read_bytes()):08x}"}
        try:
            write_index_mask(self.mask_path(index), mask, text=text)
        except BaseException:
            # The soft masks just written belong to a mask that was not saved (full disk...): drop them, so
            # the frame's soft masks are derived from its previous index mask instead of contradicting it.
            with contextlib.suppress(FileNotFoundError):
                self.soft_path(index).unlink()
            raise
        self._journal.refresh()
        self._ensure_objects(np.unique(mask))
        self._journal.append({"f": index, **dataclasses.asdict(record)})
        return record

    def _user_record(self, index: int) -> FrameRecord | None:
        """The user's record of frame ``index``, from the journal or, if its line was lost, the mask file."""
        from xmem_tui.media.masks import read_mask_text

        existing = self._journal.state["frames"].get(str(index))
        if existing and existing["provenance"].startswith(USER_PREFIX):
            return FrameRecord(**existing)
        path = self.mask_path(index)
        if not path.exists():
            return None
        try:
            meta = json.loads(read_mask_text(path).get("xmem-tui", "{}") or "{}")
        except (ValueError, OSError):
            return None
        if str(meta.get("provenance", "")).startswith(USER_PREFIX):
            record = FrameRecord(**meta)
            self._journal.append({"f": index, **dataclasses.asdict(record)})  # heal the journal
            return record
        return None

    def clear_frame(self, index: int) -> None:
        """Remove frame ``index``'s masks (it becomes empty)."""
        self._check_index(index)
        with self._write_lock():
            self._clear_frame_locked(index)

    def _clear_frame_locked(self, index: int) -> None:
        for path in (self.mask_path(index), self.soft_path(index)):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        self._journal.append({"f": index, "clear": True})

    # ------------------------------------------------------------------ records
    def records(self) -> dict[int, FrameRecord]:
        """Every frame that has a mask, with its provenance (refreshed from disk)."""
        self._journal.refresh()
        return {int(k): FrameRecord(**v) for k, v in self._journal.state["frames"].items()}

    def user_frames(self) -> list[int]:
        """Frames annotated by the user, sorted."""
        return sorted(i for i, r in self.records().items() if r.user)

    def runs(self) -> dict[str, RunInfo]:
        self._journal.refresh()
        return {k: RunInfo(id=k, **v) for k, v in self._journal.state.get("runs", {}).items()}

    def begin_run(self, start: int, backward: bool) -> str:
        """Register a propagation run starting at ``start``; returns its id (stored in each frame it writes)."""
        run_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        with self._write_lock():
            self._journal.append({"run": run_id, "start": start, "backward": backward, "time": time.time()})
        return run_id

    def stale_frames(self) -> list[int]:
        """Propagated frames made before a later user edit upstream of them (in the run's direction).

        Such a mask was derived from an annotation that has since changed, so it should be propagated again.
        """
        records = self.records()
        runs = self.runs()
        user = [(i, r.time) for i, r in records.items() if r.user]
        stale = []
        for index, record in records.items():
            run = runs.get(record.run or "")
            if record.user or run is None:
                continue
            lo, hi = (index, run.start) if run.backward else (run.start, index)
            if any(lo <= u <= hi and u != index and t > run.time for u, t in user):
                stale.append(index)
        return sorted(stale)

    # ------------------------------------------------------------------ objects
    @property
    def objects(self) -> dict[int, ObjectInfo]:
        """Objects seen in this workspace, with names and colours."""
        self._journal.refresh()
        return {int(k): ObjectInfo(id=int(k), name=v["name"], color=tuple(v["color"]))
                for k, v in sorted(self._journal.state["objects"].items(), key=lambda kv: int(kv[0]))}

    def set_object(self, object_id: int, name: str | None = None,
                   color: tuple[int, int, int] | None = None) -> ObjectInfo:
        """Rename or recolour object ``object_id`` (1-255); creates it if new."""
        if not 1 <= object_id <= 255:
            raise WorkspaceError(f"object id {object_id} is out of range; use 1-255.")
        with self._write_lock():
            self._journal.refresh()
            self._ensure_objects([object_id])
            entry = dict(self._journal.state["objects"][str(object_id)])
            if name is not None:
                entry["name"] = name.strip() or entry["name"]
            if color is not None:
                entry["color"] = [int(c) for c in color]
            self._journal.append({"object": object_id, **entry})
        return self.objects[object_id]

    # ------------------------------------------------------------------ undo / redo
    def history_push(self, index: int) -> None:
        """Snapshot frame ``index`` as it is on disk now, before an edit; clears its redo stack."""
        with self._write_lock():
            self._snapshot(index, "undo")
            _clear_dir(self._history_dir(index, "redo"))

    def undo(self, index: int) -> bool:
        """Restore the last snapshot of frame ``index``; returns False when there is nothing to undo."""
        return self._step_history(index, "undo", "redo")

    def redo(self, index: int) -> bool:
        """Re-apply an undone edit of frame ``index``; returns False when there is nothing to redo."""
        return self._step_history(index, "redo", "undo")

    # ------------------------------------------------------------------ locks
    @contextlib.contextmanager
    def exclusive(self, role: str, wait: float = 0.0) -> Iterator[None]:
        """Hold the ``role`` lock ("propagate", "annotate") for the duration of a run or window session.

        Raises:
            WorkspaceBusy: another live process holds it (after waiting up to ``wait`` seconds). The lock
                is an flock, so a crashed holder never leaves it stuck.
        """
        lock_path = self.root / "locks" / f"{role}.lock"
        holder_path = self.root / "locks" / f"{role}.json"
        handle = open(lock_path, "a+")  # noqa: SIM115 - held until the context exits
        try:
            if not try_flock(handle, wait, interval=0.1):
                raise WorkspaceBusy(self._busy_message(role, holder_path))
            atomic_write_json(holder_path, {"pid": os.getpid(), "host": socket.gethostname(), "role": role,
                                            "since": time.strftime("%Y-%m-%d %H:%M:%S")})
            yield
        finally:
            handle.close()

    def holder(self, role: str) -> dict[str, Any] | None:
        """Who holds the ``role`` lock now (pid, host, since), or None when it is free."""
        if not flock_held(self.root / "locks" / f"{role}.lock"):
            return None
        try:
            return json.loads((self.root / "locks" / f"{role}.json").read_text())
        except (OSError, ValueError):
            return {"pid": None}

    # ------------------------------------------------------------------ maintenance
    def rebuild_state(self) -> int:
        """Rebuild the frame records from the masks' embedded provenance (after state.json was lost or corrupted).

        Returns the number of frames recovered.
        """
        with self._write_lock():
            count = self._rebuild_locked()
            self._journal.save()
        return count

    def _rebuild_locked(self) -> int:
        from xmem_tui.media.masks import read_index_mask, read_mask_text

        frames: dict[str, Any] = {}
        labels: set[int] = set()
        for path in sorted((self.root / "masks").glob("*.png")):
            if not path.stem.isdigit():
                continue
            record = FrameRecord(provenance="user:import", time=path.stat().st_mtime)
            try:
                meta = json.loads(read_mask_text(path).get("xmem-tui", "{}") or "{}")
                record = FrameRecord(**meta) if meta else record
                labels.update(int(v) for v in np.unique(read_index_mask(path)))
            except (ValueError, TypeError, OSError, WorkspaceError) as exc:
                log.warning("%s: unreadable mask or provenance (%s); recorded as imported", path, exc)
            frames[str(int(path.stem))] = dataclasses.asdict(record)
        self._journal.state["frames"] = frames
        self._ensure_objects(sorted(labels), journal=False)
        return len(frames)

    def compact(self) -> None:
        """Fold the journal into state.json (done automatically every few hundred writes)."""
        with self._write_lock():
            self._journal.refresh()
            self._journal.save()

    # ------------------------------------------------------------------ internals
    def _check_index(self, index: int) -> None:
        if not 0 <= index < self.frame_count:
            raise WorkspaceError(f"frame {index} is out of range: {self.video_path.name} has frames "
                                 f"0-{self.frame_count - 1}.")

    def _fingerprint(self) -> dict[str, Any]:
        stat = self.video_path.stat()
        digest = hashlib.sha256(",".join(map(str, self.info.pts)).encode()).hexdigest()[:16]
        return {"path": str(self.video_path), "size": stat.st_size, "mtime": stat.st_mtime,
                "frame_count": self.info.frame_count, "timestamps": digest}

    def _check_fingerprint(self, current: dict[str, Any]) -> None:
        saved = self._journal.state.get("fingerprint", {})
        changed = [k for k in ("size", "frame_count", "timestamps") if saved.get(k) != current[k]]
        if changed:
            raise SourceChanged(
                f"{self.video_path} is not the video this workspace ({self.root}) was made from "
                f"({', '.join(changed)} changed). Restore the original file, or move the workspace folder "
                "away to start over with the new video.")
        if saved.get("path") != current["path"] or saved.get("mtime") != current["mtime"]:
            log.info("%s: source moved or touched but its content matches; fingerprint updated", self.root)
            self._journal.state["fingerprint"] = current
            self._journal.save()

    def _busy_message(self, role: str, holder_path: Path) -> str:
        try:
            holder = json.loads(holder_path.read_text())
            who = f"pid {holder['pid']} on {holder['host']} since {holder['since']}"
        except (OSError, ValueError, KeyError):
            who = "another process"
        what = {"propagate": "a propagation is already running", "annotate": "it is open in another window"}
        return (f"{self.video_path.name}: {what.get(role, role + ' is locked')} ({who}); wait for it to finish "
                "or close it first.")

    @contextlib.contextmanager
    def _write_lock(self) -> Iterator[None]:
        with open(self.root / "locks" / "write.lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _ensure_objects(self, ids: Any, journal: bool = True) -> None:
        """Give every new object id a default name and colour (caller holds the write lock)."""
        from xmem_tui.media.palette import object_color

        for object_id in (int(i) for i in ids):
            if object_id and str(object_id) not in self._journal.state["objects"]:
                entry = {"object": object_id, "name": f"object {object_id}", "color": list(object_color(object_id))}
                if journal:
                    self._journal.append(entry)
                else:
                    self._journal.apply(entry)

    def _soft_matches(self, index: int, soft_path: Path) -> bool:
        """Whether the soft-mask file is the one saved with the current index mask (see write_frame)."""
        from xmem_tui.media.masks import read_mask_text

        try:
            expected = read_mask_text(self.mask_path(index)).get(SOFT_CRC_KEY)
        except (OSError, WorkspaceError):
            return False
        if expected is None:
            return True  # written by a tool that records no checksum
        matches = f"{zlib.crc32(soft_path.read_bytes()):08x}" == expected
        if not matches:
            log.warning("%s does not belong to frame %d's mask (interrupted save); using hard masks", soft_path, index)
        return matches

    def _tiles(self, soft_path: Path) -> int:
        """Number of object planes in a soft-mask PNG, from its height (PNG header, no decode)."""
        with open(soft_path, "rb") as handle:
            header = handle.read(24)
        rows = int.from_bytes(header[20:24], "big") if header[12:16] == b"IHDR" else 0
        if rows <= 0 or rows % self.shape[0]:
            raise WorkspaceError(f"{soft_path} does not hold {self.shape[0]}-row planes; delete it and the "
                                 "soft masks will be derived from the index mask.")
        return rows // self.shape[0]

    def _history_dir(self, index: int, stack: str) -> Path:
        return self.root / "history" / f"{index:05d}" / stack

    def _snapshot(self, index: int, stack: str) -> None:
        """Push frame ``index``'s current masks (or "empty") onto ``stack`` (caller holds the write lock)."""
        folder = self._history_dir(index, stack)
        folder.mkdir(parents=True, exist_ok=True)
        entries = sorted(p for p in folder.iterdir() if p.is_dir())
        number = int(entries[-1].name) + 1 if entries else 0
        target = folder / f"{number:04d}"
        target.mkdir()
        for src, name in ((self.mask_path(index), "mask.png"), (self.soft_path(index), "soft.png")):
            if src.exists():
                (target / name).write_bytes(src.read_bytes())
        for old in entries[: max(0, len(entries) + 1 - _HISTORY_DEPTH)]:
            _clear_dir(old)
            old.rmdir()

    def _step_history(self, index: int, source: str, target: str) -> bool:
        from xmem_tui.media.masks import read_index_mask, read_mask_text, read_soft_mask

        self._check_index(index)
        with self._write_lock():
            folder = self._history_dir(index, source)
            entries = sorted(p for p in folder.iterdir() if p.is_dir()) if folder.exists() else []
            if not entries:
                return False
            top = entries[-1]
            restored = None
            if (top / "mask.png").exists():
                mask = read_index_mask(top / "mask.png")
                soft = read_soft_mask(top / "soft.png", self._tiles(top / "soft.png")) if (
                    top / "soft.png").exists() else hard_soft(
                    mask, max(int(mask.max()), 1))
                meta = json.loads(read_mask_text(top / "mask.png").get("xmem-tui", "{}") or "{}")
                restored = (mask, soft, meta.get("provenance", "user:free"), meta.get("run"))
            self._snapshot(index, target)
            if restored is None:
                self._clear_frame_locked(index)
            else:
                self._write_frame_locked(index, *restored, force=True)
            _clear_dir(top)
            top.rmdir()
        return True


def hard_soft(mask: np.ndarray, num_objects: int) -> np.ndarray:
    """uint8 (K, h, w) 0/255 soft masks equivalent to an index mask."""
    labels = np.arange(1, num_objects + 1, dtype=np.uint8)[:, None, None]
    return (mask[None] == labels).astype(np.uint8) * 255


def _check_provenance(provenance: str) -> None:
    if provenance == PROPAGATED:
        return
    if provenance.startswith(USER_PREFIX) and provenance[len(USER_PREFIX):] in USER_KINDS:
        return
    raise WorkspaceError(f"unknown provenance {provenance!r}; use 'propagated' or user:{{{','.join(USER_KINDS)}}}.")


def _clear_dir(folder: Path) -> None:
    if not folder.exists():
        return
    for path in folder.iterdir():
        if path.is_dir():
            _clear_dir(path)
            path.rmdir()
        else:
            path.unlink()
