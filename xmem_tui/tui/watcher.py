"""Watches the source folder with watchdog and tells the app when it changes.

A plain class (not a widget): the app starts it in ``on_mount`` and stops and joins it in
``on_unmount``. Its callback runs on watchdog's thread, so it only posts a message; the message
replaces any pending one, so a burst of file events (a copy in progress) causes one rescan.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class SourceWatcher:
    """Calls ``on_change()`` (from a background thread) when anything under ``folder`` changes."""

    def __init__(self, folder: Path, on_change: Callable[[], None]) -> None:
        self.folder = Path(folder)
        self.on_change = on_change
        self._observer: Any = None

    def start(self) -> None:
        from watchdog.events import FileSystemEvent, FileSystemEventHandler
        from watchdog.observers import Observer

        watcher = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                if event.event_type in ("created", "deleted", "moved", "closed"):
                    watcher.on_change()

        self.folder.mkdir(parents=True, exist_ok=True)
        self._observer = Observer()
        self._observer.schedule(Handler(), str(self.folder), recursive=False)
        self._observer.daemon = True
        self._observer.start()

    def stop(self) -> None:
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=2)
            self._observer = None
