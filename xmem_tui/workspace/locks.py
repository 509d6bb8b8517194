"""The flocks of a workspace, in ``locks/``: ``write`` (one save), ``propagate`` and ``annotate`` (a session).

Several processes use one workspace at once (the worker writes propagated frames while the window writes
user edits), so every mutation holds the short ``write`` lock. A role lock keeps a second propagation or
a second annotation window off the workspace for as long as the first runs; its holder writes who it is
beside the lock so the refusal can name it. flock locks vanish with their process, so a crashed holder
never leaves one stuck.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from xmem_tui.errors import WorkspaceError
from xmem_tui.fsutil import atomic_write_json, flock_held, try_flock

#: What a held role lock means, for the refusal message.
_BUSY = {"propagate": "a propagation is already running", "annotate": "it is open in another window"}


class WorkspaceBusy(WorkspaceError):
    """Another process holds the role lock (a second propagation or a second annotation window)."""


class Locks:
    """The lock files of one workspace; ``name`` is what refusals call it (the video's file name)."""

    def __init__(self, folder: Path, name: str) -> None:
        self.folder = Path(folder)
        self.name = name
        self.folder.mkdir(parents=True, exist_ok=True)

    @contextlib.contextmanager
    def write(self) -> Iterator[None]:
        """Hold the write lock (blocking) for one mutation."""
        with open(self.folder / "write.lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def exclusive(self, role: str, wait: float = 0.0) -> Iterator[None]:
        """Hold the ``role`` lock ("propagate", "annotate") for the duration of a run or window session.

        Raises:
            WorkspaceBusy: another live process holds it (after waiting up to ``wait`` seconds).
        """
        holder_path = self.folder / f"{role}.json"
        handle = open(self.folder / f"{role}.lock", "a+")  # noqa: SIM115 - held until the context exits
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
        if not flock_held(self.folder / f"{role}.lock"):
            return None
        try:
            return json.loads((self.folder / f"{role}.json").read_text())
        except (OSError, ValueError):
            return {"pid": None}

    def _busy_message(self, role: str, holder_path: Path) -> str:
        try:
            holder = json.loads(holder_path.read_text())
            who = f"pid {holder['pid']} on {holder['host']} since {holder['since']}"
        except (OSError, ValueError, KeyError):
            who = "another process"
        return (f"{self.name}: {_BUSY.get(role, role + ' is locked')} ({who}); wait for it to finish "
                "or close it first.")
