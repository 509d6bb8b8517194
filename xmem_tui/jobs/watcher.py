"""Turns file-system events in queue folders into a callback, so a new job starts within milliseconds.

The worker (and the dashboard) would otherwise have to poll. watchdog delivers inotify events on Linux;
only the final rename of an atomic write matters (a visible ``*.toml`` appearing or changing), so
temporary and hidden files are ignored. Events can be lost (a full inotify queue, a network file
system), which is why the worker also rescans every few seconds: this class is an accelerator, not the
source of truth. watchdog is imported in :meth:`QueueWatcher.start`, keeping the import of this module
free for clients that never watch.

The whole queue folder is watched recursively even when only ``queued/`` matters: watchdog holds back
an inotify "moved from" event for up to half a second waiting for its "moved to" partner, and delays
every later event meanwhile. A claim (``queued/`` -> ``running/``) would be such an unpaired move if
only ``queued/`` were watched, and the next job would be noticed ~0.1-0.5 s late.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class QueueWatcher:
    """Calls ``on_change()`` (from watchdog's thread) when a matching file appears, changes or moves in.

    Args:
        root: the queue folder (watched recursively; created if missing).
        on_change: cheap, thread-safe callback, typically ``threading.Event.set``.
        folders: names of the sub-folders whose files matter (e.g. ``("queued",)``; all job states for a view).
        suffixes: file name endings that matter (hidden files never match).
    """

    def __init__(self, root: Path, on_change: Callable[[], None], folders: Iterable[str] = ("queued",),
                 suffixes: tuple[str, ...] = (".toml",)) -> None:
        self.root = Path(root)
        self.on_change = on_change
        self.folders = frozenset(folders)
        self.suffixes = suffixes
        self._observer: Any = None

    def start(self) -> None:
        from watchdog.observers import Observer

        self.root.mkdir(parents=True, exist_ok=True)
        for name in self.folders:
            (self.root / name).mkdir(parents=True, exist_ok=True)
        observer = Observer()
        observer.schedule(self, os.fspath(self.root), recursive=True)
        observer.daemon = True
        observer.start()
        self._observer = observer
        log.debug("watching %s (%s)", self.root, ", ".join(sorted(self.folders)))

    def stop(self) -> None:
        if self._observer is not None:
            self._observer.stop()

    def join(self, timeout: float | None = None) -> None:
        if self._observer is not None:
            self._observer.join(timeout)
            self._observer = None

    def dispatch(self, event: Any) -> None:
        """watchdog's event-handler entry point (duck-typed, so watchdog is not needed at import time)."""
        if getattr(event, "is_directory", False):
            return
        for raw in (getattr(event, "dest_path", ""), getattr(event, "src_path", "")):
            if not raw:
                continue
            path = os.fsdecode(raw)
            name = os.path.basename(path)
            folder = os.path.basename(os.path.dirname(path))
            if folder in self.folders and not name.startswith(".") and name.endswith(self.suffixes):
                self.on_change()
                return
