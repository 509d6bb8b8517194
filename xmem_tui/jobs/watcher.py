"""Turns file-system events in queue folders into a callback, so a new job starts within milliseconds.

The worker (and the dashboard) would otherwise have to poll. watchdog delivers inotify events on Linux;
only the final rename of an atomic write matters (a visible ``*.toml`` appearing or changing), so
temporary and hidden files are ignored. Events can be lost (a full inotify queue, a network file
system), which is why the worker also rescans every few seconds: this class is an accelerator, not the
source of truth. watchdog is imported in :meth:`QueueWatcher.start`, keeping the import of this module
free for clients that never watch.
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
        folders: folders to watch (not recursive); missing ones are created.
        on_change: cheap, thread-safe callback, typically ``threading.Event.set``.
        suffixes: file name endings that matter (hidden files never match).
    """

    def __init__(self, folders: Iterable[Path], on_change: Callable[[], None],
                 suffixes: tuple[str, ...] = (".toml",)) -> None:
        self.folders = [Path(f) for f in folders]
        self.on_change = on_change
        self.suffixes = suffixes
        self._observer: Any = None

    def start(self) -> None:
        from watchdog.observers import Observer

        observer = Observer()
        for folder in self.folders:
            folder.mkdir(parents=True, exist_ok=True)
            observer.schedule(self, os.fspath(folder), recursive=False)
        observer.daemon = True
        observer.start()
        self._observer = observer
        log.debug("watching %s", ", ".join(map(str, self.folders)))

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
            name = os.path.basename(os.fsdecode(raw)) if raw else ""
            if name and not name.startswith(".") and name.endswith(self.suffixes):
                self.on_change()
                return
