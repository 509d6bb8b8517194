"""Every message the dashboard's workers and watcher post to the UI (workers never touch widgets)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from textual.message import Message

from xmem_tui.tui.contract import JobRow, SourceSummary, VideoDetail, WorkerInfo


@dataclass
class SourcesChanged(Message):
    """Files appeared, vanished or were renamed in the source folder (from the watchdog thread)."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SourcesChanged)


@dataclass
class SourcesScanned(Message):
    """Summaries of every source, in table order."""

    summaries: list[SourceSummary]


@dataclass
class DetailLoaded(Message):
    """The video view's data for one source."""

    detail: VideoDetail


@dataclass
class PreviewLoaded(Message):
    """A small RGB rendering of one frame with its masks, for the in-terminal preview."""

    path: Path
    frame: int
    image: np.ndarray


@dataclass
class JobsRefreshed(Message):
    """The queue and the worker's status, read from their files."""

    rows: list[JobRow]
    worker: WorkerInfo

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, JobsRefreshed)


@dataclass
class LogRecorded(Message):
    """A log record, formatted, from any thread while the dashboard runs (see :mod:`xmem_tui.tui.logs`)."""

    line: str
    level: int
    logger: str
