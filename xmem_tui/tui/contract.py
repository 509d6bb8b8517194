"""What the dashboard's screens get from the core: plain rows, and the :class:`Service` that makes them.

Screens call the service from thread workers and get these frozen dataclasses back, so no screen knows
how the workspace or the queue store things. :class:`~xmem_tui.tui.service.DashboardService` is the
real service; tests drive the whole UI with a fake one, checked against :class:`Service` by a test so
the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np

    from xmem_tui.export.request import ExportRequest
    from xmem_tui.progress import Progress


@dataclass(frozen=True)
class SourceSummary:
    """One row of the sources table."""

    path: Path
    name: str
    width: int = 0
    height: int = 0
    fps: float = 0.0
    vfr: bool = False
    duration_s: float = 0.0
    frames: int = 0
    objects: int = 0
    keyframes: int = 0
    masked_pct: float = 0.0
    stale: int = 0
    last_export: str = ""
    last_check: str = ""
    #: label of the engine this video's next propagation runs ("Cutie", "XMem" ...)
    engine: str = ""
    error: str = ""


@dataclass(frozen=True)
class EngineChoice:
    """One line of a video's engine dialog.

    Attributes:
        name: the engine name or "auto"; "" follows the project's ``processing.engine``.
        label: what the UIs call it ("Cutie"; for "auto" and "", the engine it settles on now).
        missing: checkpoint files it needs that are not in the models folder ("" when ready).
        current: it is the video's choice now.
    """

    name: str
    label: str
    missing: str = ""
    current: bool = False


@dataclass(frozen=True)
class ReviewEntry:
    """A frame worth a look, with why."""

    frame: int
    score: float
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class VideoDetail:
    """Everything the video view shows about one source.

    Attributes:
        states: per frame, one of "user", "propagated", "stale" or "" (no mask).
        objects: (id, name, (r, g, b)) per object present in at least one mask.
        areas: per object (in ``objects`` order), its area per frame as a fraction of the frame; -1 where
            the frame has no mask.
        scores: per frame, how much it deserves a look (``inference.quality.score_frame``: 0 = nothing odd,
            about 1 = clearly suspicious); -1 where no quality signals were recorded.
        progress: the last published propagation progress of this video, if any.
    """

    summary: SourceSummary
    states: tuple[str, ...] = ()
    objects: tuple[tuple[int, str, tuple[int, int, int]], ...] = ()
    keyframes: tuple[int, ...] = ()
    review: tuple[ReviewEntry, ...] = ()
    timestamps_s: tuple[float, ...] = ()
    areas: tuple[tuple[float, ...], ...] = ()
    scores: tuple[float, ...] = ()
    progress: Progress | None = None


@dataclass(frozen=True)
class JobRow:
    """One row of the jobs table."""

    id: str
    kind: str
    video: str
    state: str
    done: int = 0
    total: int = 0
    message: str = ""
    output: str = ""
    error: str = ""
    check: str = ""
    progress: Progress | None = None


@dataclass(frozen=True)
class WorkerInfo:
    """What the footer says about the worker."""

    alive: bool
    pid: int | None = None
    state: str = "stopped"
    job: str | None = None


class Service(Protocol):
    """Everything the dashboard asks of the project; each call may block (screens call it off the UI thread)."""

    def list_sources(self) -> list[Path]:
        """Videos and image folders in the source folder, sorted by name."""

    def summarize(self, path: Path) -> SourceSummary:
        """One row of the sources table; never raises (a bad video gives a row with its error)."""

    def detail(self, path: Path) -> VideoDetail:
        """The video view's data."""

    def preview(self, path: Path, frame: int, width: int, height: int) -> np.ndarray:
        """uint8 RGB (height, width, 3) of ``frame`` with its masks blended in."""

    def progress(self, path: Path) -> Progress | None:
        """The last propagation progress published for the video."""

    def rename_object(self, path: Path, object_id: int, name: str) -> None: ...

    def propagate(self, path: Path, frame: int, backward: bool = False, one_frame: bool = False,
                  clear_memory: bool = False) -> str:
        """Queue a propagation; returns the job id."""

    def validate_export(self, path: Path, request: ExportRequest) -> None:
        """Raise the UserError the export job would raise for ``request``."""

    def export(self, path: Path, request: ExportRequest) -> str:
        """Queue an export; returns the job id."""

    def export_all(self, paths: list[Path], request: ExportRequest) -> str:
        """Queue the same export of each video (``request.out`` names a folder); returns the job ids."""

    def jobs(self) -> list[JobRow]:
        """Every job, newest first."""

    def cancel(self, job_id: str) -> None: ...

    def retry(self, job_id: str) -> None: ...

    def job_log(self, job_id: str) -> str: ...

    def worker(self) -> WorkerInfo: ...

    def ensure_worker(self) -> int:
        """Start a detached worker when none is alive; returns its pid."""

    def engine_label(self) -> str:
        """What the next propagation will run with, for videos without an engine of their own."""

    def engines(self, path: Path) -> list[EngineChoice]:
        """The engines the video can be given (the project default first), its choice marked."""

    def set_engine(self, path: Path, name: str) -> str:
        """Give the video engine ``name`` ("" = the project default); returns the label it now runs with."""

    def annotate(self, path: Path, frame: int) -> object:
        """Open the annotation window on ``frame`` as its own process."""
