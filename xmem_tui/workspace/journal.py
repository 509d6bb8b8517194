"""A workspace's records (frames, runs, objects) as a JSON snapshot plus an append-only journal.

Writing ``state.json`` for every propagated frame would cost O(frames) per frame; appending one journal
line is cheap. Other processes (the worker, the window, the dashboard) see each other's writes by
re-reading only the journal bytes they have not seen; a changed ``state.json`` (a compaction) makes
them reload everything. Every mutation happens under the workspace's write lock, held by the caller.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from xmem_tui.errors import WorkspaceError
from xmem_tui.fsutil import atomic_write_json
from xmem_tui.workspace.schema import entry_ok, state_problem

log = logging.getLogger(__name__)

#: Fold the journal into the snapshot once it holds roughly this many bytes (a few hundred entries).
COMPACT_BYTES = 256 * 96


class StateJournal:
    """``state`` is the merged view: the snapshot with every journal entry applied in order."""

    def __init__(self, state_path: Path, journal_path: Path, repair: str = "xmem-tui repair VIDEO") -> None:
        self.state_path = Path(state_path)
        self.journal_path = Path(journal_path)
        self.repair = repair
        self.state: dict[str, Any] = {}
        self._offset = 0
        self._state_mtime = -1

    def load(self) -> None:
        """Read state.json, then replay the whole journal."""
        self.state = {}
        self._state_mtime = -1
        try:
            stat = self.state_path.stat()
            self.state = json.loads(self.state_path.read_text(encoding="utf-8"))
            self._state_mtime = stat.st_mtime_ns
        except FileNotFoundError:
            pass
        except ValueError as exc:
            raise WorkspaceError(f"{self.state_path} is corrupt ({exc}); run `{self.repair}` to "
                                 "rebuild it from the masks.") from exc
        problem = state_problem(self.state) if self.state != {} else None
        if problem:
            raise WorkspaceError(f"{self.state_path} is not a workspace state ({problem}); run `{self.repair}` "
                                 "to rebuild it from the masks.")
        self._offset = 0
        if self.state:
            self._replay()

    def refresh(self) -> None:
        """Pick up writes made by other processes since we last looked."""
        try:
            mtime = self.state_path.stat().st_mtime_ns
            size = self.journal_path.stat().st_size if self.journal_path.exists() else 0
        except FileNotFoundError:
            return
        if mtime != self._state_mtime or size < self._offset:
            self.load()
        elif size > self._offset:
            self._replay()

    def apply(self, entry: dict[str, Any]) -> None:
        """Merge one entry (a frame write or clear, a run, an object, the engine choice) into ``state``."""
        if "f" in entry:
            key = str(entry["f"])
            files = self.state.setdefault("files", {})
            if entry.get("clear"):
                self.state["frames"].pop(key, None)
                files.pop(key, None)
            else:
                self.state["frames"][key] = {k: entry.get(k) for k in ("provenance", "run", "time")}
                if entry.get("stat") is None:
                    files.pop(key, None)
                else:
                    files[key] = list(entry["stat"])
        elif "run" in entry and "start" in entry:
            self.state.setdefault("runs", {})[entry["run"]] = {k: entry[k] for k in ("start", "backward", "time")}
        elif "object" in entry:
            self.state["objects"][str(entry["object"])] = {"name": entry["name"], "color": entry["color"]}
        elif "engine" in entry:
            self.state["engine"] = entry["engine"]

    def append(self, entry: dict[str, Any]) -> None:
        """Apply ``entry`` and append it durably to the journal (caller holds the write lock)."""
        self.refresh()
        self.apply(entry)
        line = (json.dumps(entry, sort_keys=True) + "\n").encode()
        with open(self.journal_path, "ab") as handle:
            if handle.tell() > self._offset:
                # Bytes past the last complete line under the write lock are a line torn by a writer that
                # died: end it, or this entry would be glued to it and lost for every reader.
                line = b"\n" + line
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
            self._offset = handle.tell()
        if self._offset > COMPACT_BYTES:
            self.save()

    def save(self) -> None:
        """Write state.json with everything and empty the journal (caller holds the write lock)."""
        atomic_write_json(self.state_path, self.state)
        with open(self.journal_path, "wb"):
            pass
        self._offset = 0
        self._state_mtime = self.state_path.stat().st_mtime_ns

    def _replay(self) -> None:
        if not self.journal_path.exists():
            return
        with open(self.journal_path, "rb") as handle:
            handle.seek(self._offset)
            data = handle.read()
        end = data.rfind(b"\n") + 1  # a torn last line (crash mid-append) is skipped; the next append ends it
        for line in data[:end].splitlines():
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                entry = None
            if entry_ok(entry):
                self.apply(entry)
            else:
                log.warning("%s: skipping unreadable journal line %r", self.journal_path, line[:80])
        self._offset += end
