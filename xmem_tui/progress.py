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
        """The report stored as ``data`` (unknown keys ignored).

        Raises:
            ValueError: ``data`` is not a report: not an object, ``done``/``total`` missing, or a field of
                the wrong type (a progress file edited or written by something else).
        """
        if not isinstance(data, dict):
            raise ValueError("a progress report is a JSON object")
        values = {k: v for k, v in data.items() if k in _FIELD_CHECKS}
        bad = [k for k, v in values.items() if not _FIELD_CHECKS[k](v)]
        if bad or "done" not in values or "total" not in values:
            raise ValueError(f"not a progress report (field {bad[0] if bad else 'done/total'})")
        return cls(**values)


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


#: What each stored field must be for :meth:`Progress.from_dict` to accept it.
_FIELD_CHECKS: dict[str, Any] = {
    "done": _int, "total": _int, "frame": lambda v: v is None or _int(v), "fps": _number,
    "eta_s": lambda v: v is None or _number(v), "message": lambda v: isinstance(v, str),
    "stats": lambda v: isinstance(v, dict), "time": _number,
}


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
