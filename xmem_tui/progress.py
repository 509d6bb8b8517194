"""Progress of long work (propagation, export), as yielded by core generators and published to files.

The worker writes these to small JSON files that the dashboard and the annotation window read; the same
dataclass is what core generators yield, so the foreground CLI, the worker and tests all see one shape.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xmem_tui.fsutil import atomic_write_text


@dataclass(frozen=True)
class Progress:
    """One progress report.

    Attributes:
        done: units finished (frames propagated or exported).
        total: units in the whole run.
        frame: index of the frame just finished, if any.
        fps: recent throughput in units per second.
        eta_s: estimated seconds left, None while unknown.
        message: short human text ("propagating forward", "self-check passed").
        stats: engine/memory figures: working_mem, long_term_mem, gpu_mem_used, gpu_mem_peak,
            gpu_mem_total (bytes), engine (name), device, ...
        time: wall-clock time the report was made (for staleness checks).
    """

    done: int
    total: int
    frame: int | None = None
    fps: float = 0.0
    eta_s: float | None = None
    message: str = ""
    stats: dict[str, Any] = field(default_factory=dict)
    time: float = field(default_factory=time.time)

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_dict(cls, data: Any) -> Progress:
        """The report stored as ``data`` (unknown keys ignored), its fields checked like a job's params.

        Raises:
            ValueError: ``data`` is not a report: not an object, ``done``/``total`` missing, or a field of
                the wrong type (a progress file edited or written by something else).
        """
        from xmem_tui.errors import JobError
        from xmem_tui.params import field_names, from_params

        if not isinstance(data, dict):
            raise ValueError("a progress report is a JSON object")
        known = field_names(cls)
        try:
            return from_params(cls, {k: v for k, v in data.items() if k in known}, "progress report")
        except JobError as exc:
            raise ValueError(str(exc)) from None


def write_progress(path: Path, progress: Progress) -> None:
    """Publish ``progress`` atomically, so readers in other processes never see a torn file."""
    atomic_write_text(path, progress.to_json())


def read_progress(path: Path) -> Progress | None:
    """The last published progress, or None if there is none (or it is unreadable)."""
    try:
        return Progress.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


class Throttle:
    """Lets an action through at most every ``interval`` seconds (progress files are written a few times a second)."""

    def __init__(self, interval: float = 0.25) -> None:
        self.interval = interval
        self._last = float("-inf")

    def ready(self, force: bool = False) -> bool:
        now = time.monotonic()
        if force or now - self._last >= self.interval:
            self._last = now
            return True
        return False
