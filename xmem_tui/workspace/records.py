"""The records of a workspace: where each frame's mask came from, propagation runs, objects, stale frames
and the video's propagation engine.

They live in ``state.json`` plus the ``frames.jsonl`` journal (:mod:`xmem_tui.workspace.journal`);
:class:`Records` is the typed view over that state. Every method that changes it expects the caller to
hold the workspace's write lock (:mod:`xmem_tui.workspace.locks`); reads refresh from the journal first,
so they see what other processes wrote.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from xmem_tui.errors import WorkspaceError
from xmem_tui.workspace.journal import StateJournal
from xmem_tui.workspace.schema import record_ok

#: 2: ``files`` records each mask file's (size, mtime_ns) as saved, to notice files changed by other programs.
STATE_VERSION = 2
USER_PREFIX = "user:"
PROPAGATED = "propagated"
#: ``edit``: the mask file was changed by another program (an image editor, a script) and kept as the truth.
USER_KINDS = ("click", "scribble", "free", "lasso", "import", "edit")
#: The provenance of a mask file changed outside the app (:mod:`~xmem_tui.workspace.edits`).
EDIT = "user:edit"


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

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> FrameRecord | None:
        """The record stored as ``data`` (a state entry or a mask's tEXt), or None when it is not one."""
        if not record_ok(data):
            return None
        return cls(**_fields(data))


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


def _fields(entry: dict[str, Any]) -> dict[str, Any]:
    """A checked frame entry's FrameRecord fields (a state edited by hand may carry other keys)."""
    return {"provenance": entry["provenance"], "run": entry.get("run"), "time": float(entry.get("time", 0.0))}


def check_provenance(provenance: str) -> None:
    if provenance == PROPAGATED:
        return
    if provenance.startswith(USER_PREFIX) and provenance[len(USER_PREFIX):] in USER_KINDS:
        return
    raise WorkspaceError(f"unknown provenance {provenance!r}; use 'propagated' or user:{{{','.join(USER_KINDS)}}}.")


class Records:
    """Frames, runs and objects of one workspace, over its snapshot and journal."""

    def __init__(self, journal: StateJournal) -> None:
        self.journal = journal

    @property
    def state(self) -> dict[str, Any]:
        return self.journal.state

    def create(self, fingerprint: dict[str, Any], shape: tuple[int, int]) -> None:
        """Start the state of a new workspace (caller saves it)."""
        self.journal.state = {"version": STATE_VERSION, "fingerprint": fingerprint, "shape": list(shape),
                              "objects": {}, "runs": {}, "frames": {}, "files": {}}

    def upgrade(self, stats: Callable[[], dict[int, tuple[int, int]]]) -> bool:
        """Bring a state made by an earlier version up to date (caller saves it when this returns True).

        Its mask files were saved before their pixels carried a checksum: their current file stats
        (``stats()``, only scanned when an upgrade is due) are taken as those of this app's saves, so they
        are trusted until another program changes them.
        """
        if self.state.get("version", 1) >= STATE_VERSION and "files" in self.state:
            return False
        self.state["files"] = {str(i): list(st) for i, st in stats().items()}
        self.state["version"] = STATE_VERSION
        return True

    # ------------------------------------------------------------------ frames
    def frames(self) -> dict[int, FrameRecord]:
        """Every frame that has a mask, with its provenance (refreshed from disk)."""
        self.journal.refresh()
        return {int(k): FrameRecord(**_fields(v)) for k, v in self.state["frames"].items()}  # checked on load

    def frame(self, index: int) -> FrameRecord | None:
        """Frame ``index``'s record as last read (no refresh: the caller refreshed under the lock)."""
        entry = self.state["frames"].get(str(index))
        return FrameRecord(**_fields(entry)) if entry else None

    def record_frame(self, index: int, record: FrameRecord, stat: tuple[int, int] | None = None) -> None:
        """Record frame ``index``'s save; ``stat`` is its mask file's (size, mtime_ns) as this app saw it."""
        self.journal.append({"f": index, **record.to_json(), "stat": list(stat) if stat else None})

    def file_stat(self, index: int) -> tuple[int, int] | None:
        """Frame ``index``'s mask file (size, mtime_ns) as last saved or checked (no refresh)."""
        stat = self.state.get("files", {}).get(str(index))
        return (int(stat[0]), int(stat[1])) if stat else None

    def file_stats(self) -> dict[int, tuple[int, int]]:
        """Every recorded mask file's (size, mtime_ns), by frame (no refresh)."""
        return {int(k): (int(v[0]), int(v[1])) for k, v in self.state.get("files", {}).items()}

    def record_clear(self, index: int) -> None:
        self.journal.append({"f": index, "clear": True})

    def replace_frames(self, frames: dict[int, FrameRecord], labels: Iterable[int],
                       stats: dict[int, tuple[int, int]]) -> None:
        """Set every frame record at once (a rebuild from the mask files; caller saves the state)."""
        self.state["frames"] = {str(i): r.to_json() for i, r in frames.items()}
        self.state["files"] = {str(i): list(st) for i, st in stats.items()}
        self.ensure_objects(labels, journal=False)

    def user_frames(self) -> list[int]:
        """Frames annotated by the user, sorted."""
        return sorted(i for i, r in self.frames().items() if r.user)

    # ------------------------------------------------------------------ runs
    def runs(self) -> dict[str, RunInfo]:
        self.journal.refresh()
        return {k: RunInfo(id=k, **v) for k, v in self.state.get("runs", {}).items()}

    def begin_run(self, start: int, backward: bool) -> str:
        """Register a propagation run starting at ``start``; returns its id (stored in each frame it writes)."""
        run_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        self.journal.append({"run": run_id, "start": start, "backward": backward, "time": time.time()})
        return run_id

    def stale_frames(self) -> list[int]:
        """Propagated frames made before a later user edit upstream of them (in the run's direction).

        Such a mask was derived from an annotation that has since changed, so it should be propagated again.
        """
        records = self.frames()
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

    # ------------------------------------------------------------------ engine
    def engine(self) -> str | None:
        """The propagation engine chosen for this video, or None (the project's ``processing.engine``)."""
        self.journal.refresh()
        return self.state.get("engine")

    def set_engine(self, name: str | None) -> None:
        """Choose the video's engine (a name the caller checked against the engine registry), or None."""
        self.journal.append({"engine": name})

    # ------------------------------------------------------------------ objects
    def objects(self) -> dict[int, ObjectInfo]:
        """Objects seen in this workspace, with names and colours."""
        self.journal.refresh()
        return {int(k): ObjectInfo(id=int(k), name=v["name"], color=tuple(v["color"]))
                for k, v in sorted(self.state["objects"].items(), key=lambda kv: int(kv[0]))}

    def ensure_objects(self, ids: Iterable[Any], journal: bool = True) -> None:
        """Give every new object id a default name and colour."""
        from xmem_tui.media.palette import object_color

        for object_id in (int(i) for i in ids):
            if object_id and str(object_id) not in self.state["objects"]:
                entry = {"object": object_id, "name": f"object {object_id}", "color": list(object_color(object_id))}
                if journal:
                    self.journal.append(entry)
                else:
                    self.journal.apply(entry)

    def set_object(self, object_id: int, name: str | None, color: tuple[int, int, int] | None) -> None:
        """Rename or recolour object ``object_id`` (1-255), creating it if new."""
        if not 1 <= object_id <= 255:
            raise WorkspaceError(f"object id {object_id} is out of range; use 1-255.")
        self.journal.refresh()
        self.ensure_objects([object_id])
        entry = dict(self.state["objects"][str(object_id)])
        if name is not None:
            entry["name"] = name.strip() or entry["name"]
        if color is not None:
            entry["color"] = [int(c) for c in color]
        self.journal.append({"object": object_id, **entry})
