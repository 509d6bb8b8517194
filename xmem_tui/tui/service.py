"""The dashboard's one door to the core: sources, workspaces, jobs, the worker and the annotation window.

Screens call this facade from thread workers and get plain dataclasses back, so (1) no screen knows
how the workspace or the queue store things, and (2) tests can swap in a fake service and drive the
whole UI without videos, torch or a worker. Heavy modules (PyAV, OpenCV, torch) are imported inside the
methods, never at import time, so the dashboard paints before they load.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from xmem_tui.errors import ConfigError, UserError
from xmem_tui.export.request import ExportRequest
from xmem_tui.tui.contract import EngineChoice, JobRow, ReviewEntry, SourceSummary, VideoDetail, WorkerInfo
from xmem_tui.tui.mask_stats import MaskStats

if TYPE_CHECKING:
    from xmem_tui.config import Settings
    from xmem_tui.jobs.model import Job
    from xmem_tui.progress import Progress

log = logging.getLogger(__name__)



class DashboardService:
    """The real :class:`~xmem_tui.tui.contract.Service`, over the project's files (see module docstring)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._mask_stats: dict[Path, MaskStats] = {}

    # ------------------------------------------------------------------ sources
    def list_sources(self) -> list[Path]:
        """Videos and image folders in the source folder, sorted by name."""
        from xmem_tui.media.sources import list_sources

        return list_sources(self.settings.source_dir)

    def summarize(self, path: Path) -> SourceSummary:
        """Probe ``path`` (cached in its workspace) and count its workspace state; never raises."""
        try:
            ws = self._workspace(path)
            return self._summary(ws)
        except UserError as exc:
            return SourceSummary(path=path, name=path.name, error=str(exc))

    def detail(self, path: Path) -> VideoDetail:
        """The video view's data for ``path``: frame states, the objects the masks hold (an object whose
        masks were all replaced is gone), their areas over time, quality scores and the review list."""
        from xmem_tui.inference.quality import load_signals, rank_frames, score_frame
        from xmem_tui.progress import read_progress

        ws = self._workspace(path)
        records = ws.records()
        stats = self._mask_stats.setdefault(ws.video_path, MaskStats())
        areas = stats.update(ws, sorted(records))
        present = {k for frame_areas in areas.values() for k in frame_areas}
        stale = set(ws.stale_frames())
        states = []
        for index in range(ws.frame_count):
            record = records.get(index)
            if record is None:
                states.append("")
            elif record.user:
                states.append("user")
            else:
                states.append("stale" if index in stale else "propagated")
        keyframes = tuple(ws.user_frames())
        user = set(keyframes)
        signals = load_signals(ws.quality_path)
        review = tuple(ReviewEntry(frame, score, tuple(reasons))
                       for frame, score, reasons in rank_frames(signals, top=20, exclude=keyframes))
        # Until every mask has been read once, an object not seen yet may still be in the unread ones.
        objects = tuple((o.id, o.name, o.color) for o in ws.objects.values() if o.id in present or not stats.complete)
        series = tuple(tuple(areas[i].get(k, 0.0) if i in areas else -1.0 for i in range(ws.frame_count))
                       for k, _name, _color in objects)
        scores = tuple(score_frame(signals[i])[0] if i in signals and i not in user else -1.0
                       for i in range(ws.frame_count))
        return VideoDetail(summary=self._summary(ws, len(objects)), states=tuple(states), objects=objects,
                           keyframes=keyframes, review=review, timestamps_s=tuple(ws.info.timestamps_s), areas=series,
                           scores=scores, progress=read_progress(ws.progress_path))

    def preview(self, path: Path, frame: int, width: int, height: int) -> np.ndarray:
        """uint8 RGB (height, width, 3) of ``frame`` with its masks blended in, fitted into width x height."""
        import cv2

        from xmem_tui.media.frames import open_frames

        ws = self._workspace(path)
        with open_frames(path, info=ws.info, cache_bytes=64 << 20) as reader:
            image = reader.get(min(max(frame, 0), ws.frame_count - 1))
        scale = min(width / image.shape[1], height / image.shape[0])
        size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
        small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        mask = ws.read_mask(frame)
        if mask is not None:
            mask = cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST)
            colors = np.zeros((256, 3), np.float32)
            for obj in ws.objects.values():
                colors[obj.id] = obj.color
            tint = colors[mask]
            alpha = (mask > 0)[..., None] * 0.55
            small = (small * (1 - alpha) + tint * alpha).astype(np.uint8)
        return small

    def progress(self, path: Path) -> Progress | None:
        """The last propagation progress published for ``path``'s workspace, by whichever process ran it.

        Propagations write it next to the masks (not only to a job's progress file), so a run queued from
        the shell or the annotation window shows up exactly like one started here.
        """
        from xmem_tui.progress import read_progress

        return read_progress(self._workspace(path).progress_path)

    def rename_object(self, path: Path, object_id: int, name: str) -> None:
        self._workspace(path).set_object(object_id, name=name)

    # ------------------------------------------------------------------ jobs
    def propagate(self, path: Path, frame: int, backward: bool = False, one_frame: bool = False,
                  clear_memory: bool = False) -> str:
        """Queue a propagation from ``frame`` (one frame only with ``one_frame``); returns the job id."""
        from xmem_tui.inference.request import PropagationRequest

        end = (frame - 1 if backward else frame + 1) if one_frame else None
        request = PropagationRequest(start=frame, end=end, backward=backward, clear_memory=clear_memory)
        job = self._queue().submit("propagate", self._relative(path), request.to_params())
        self.ensure_worker()
        return job.id

    def validate_export(self, path: Path, request: ExportRequest) -> None:
        """Check ``request`` as the export job will, so the dialog can refuse it before anything is queued.

        Raises:
            UserError: a bad parameter (from :func:`xmem_tui.export.options.resolve`), or an object the
                workspace does not have.
        """
        from xmem_tui.export.errors import ExportError
        from xmem_tui.export.options import resolve

        options = resolve(request, self.settings)
        if options.objects:
            known = self._workspace(path).objects
            unknown = [k for k in options.objects if k not in known]
            if unknown:
                names = ", ".join(map(str, sorted(known))) or "none"
                raise ExportError(f"object {unknown[0]} is not in {Path(path).name} (objects: {names}); "
                                  "fix the objects field.")

    def export(self, path: Path, request: ExportRequest) -> str:
        """Queue an export of ``path``; returns the job id."""
        job = self._queue().submit("export", self._relative(path), request.to_params())
        self.ensure_worker()
        return job.id

    def export_all(self, paths: list[Path], request: ExportRequest) -> str:
        """Queue the same export of each of ``paths`` (see :mod:`xmem_tui.export.batch`); returns the ids."""
        from xmem_tui.export.batch import request_for

        queue = self._queue()
        ids = [queue.submit("export", self._relative(p), request_for(request, self.settings, p).to_params()).id
               for p in paths]
        self.ensure_worker()
        return ", ".join(ids)

    def jobs(self) -> list[JobRow]:
        """Every job, newest first, with its progress."""
        queue = self._queue()
        rows = [self._row(job, queue.progress(job.id) if job.state == "running" else None)
                for job in queue.list()]
        return sorted(rows, key=lambda r: r.id, reverse=True)

    def cancel(self, job_id: str) -> None:
        self._queue().cancel(job_id)

    def retry(self, job_id: str) -> None:
        self._queue().retry(job_id)
        self.ensure_worker()

    def job_log(self, job_id: str) -> str:
        path = self._queue().log_path(job_id)
        return path.read_text(encoding="utf-8", errors="replace")[-20_000:] if path.exists() else "(no log yet)"

    def worker(self) -> WorkerInfo:
        from xmem_tui.jobs.pidfile import worker_status

        status = worker_status(self.settings)
        return WorkerInfo(alive=status.alive, pid=status.pid, state=status.state, job=status.job)

    def ensure_worker(self) -> int:
        """Start a detached worker when none is alive (it outlives the dashboard and the SSH session)."""
        from xmem_tui.jobs.pidfile import ensure_worker

        return ensure_worker(self.settings)

    # ------------------------------------------------------------------ engines and the window
    def engine_label(self) -> str:
        """The label of the engine the next propagation will use ("XMem", "weight-free (optical flow)")."""
        from xmem_tui.inference.registry import resolve_engine

        return resolve_engine(self.settings, check=False).label

    def engines(self, path: Path) -> list[EngineChoice]:
        """The project default, "auto" and every registered engine, with what each still lacks."""
        from xmem_tui.inference.registry import AUTO, ENGINES, resolve_engine

        current = self._workspace(path).engine or ""

        def settles_on(name: str | None) -> str:
            try:
                return resolve_engine(self.settings, name, check=False).label
            except UserError:  # "auto" with no automatic engine ready
                return "no engine ready"

        default = f"project default: processing.engine = {self.settings.processing.engine}"
        choices = [EngineChoice("", f"{default} -> {settles_on(None)}", current=current == ""),
                   EngineChoice(AUTO, f"auto -> {settles_on(AUTO)}", current=current == AUTO)]
        for spec in ENGINES:
            missing = ", ".join(p.name for p in spec.missing(self.settings))
            choices.append(EngineChoice(spec.name, spec.label, missing=missing, current=current == spec.name))
        return choices

    def set_engine(self, path: Path, name: str) -> str:
        """Store the video's engine ("" clears it); later propagations of the video (dashboard, window,
        shell without --engine) run it.

        Raises:
            ConfigError: not an engine name.
        """
        from xmem_tui.inference.registry import engine_choices
        from xmem_tui.inference.service import video_engine_label

        if name and name not in engine_choices():
            raise ConfigError(f"engine {name!r} is not known; use one of: {', '.join(engine_choices())}.")
        ws = self._workspace(path)
        ws.set_engine(name or None)
        return video_engine_label(self.settings, ws)

    def annotate(self, path: Path, frame: int) -> subprocess.Popen[bytes]:
        """Open the OpenCV annotation window on ``frame`` as its own process (it needs $DISPLAY).

        The display is checked here too: the window's own error would only reach its log file, while
        this one is shown in the dashboard.

        Raises:
            UserError: no X (or Wayland) display.
        """
        from xmem_tui.workspace.naming import workspace_root

        if sys.platform.startswith("linux") and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
            raise UserError("no display for the annotation window: DISPLAY is not set; reconnect with `ssh -X` "
                            "(or -Y), or review masks here in the preview.")
        command = [sys.executable, "-m", "xmem_tui"]
        if self.settings.config_file is not None:
            command += ["--config", str(self.settings.config_file)]
        command += ["annotate", str(path), "--frame", str(frame)]
        log_path = workspace_root(self.settings.workspace_dir, path) / "annotate.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as log_file:
            return subprocess.Popen(command, cwd=self.settings.project_dir, stdin=subprocess.DEVNULL,
                                    stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)

    # ------------------------------------------------------------------ internals
    def _workspace(self, path: Path) -> Any:
        from xmem_tui.workspace import Workspace

        return Workspace.for_video(self.settings, path)

    def _queue(self) -> Any:
        from xmem_tui.jobs.queue import JobQueue

        return JobQueue.for_settings(self.settings)

    def _relative(self, path: Path) -> str:
        try:
            return str(Path(path).resolve().relative_to(self.settings.project_dir))
        except ValueError:
            return str(path)

    def _engine_label(self, ws: Any) -> str:
        from xmem_tui.inference.service import video_engine_label

        try:
            return video_engine_label(self.settings, ws)
        except UserError as exc:  # a stored engine that is gone: the label says so, the run refuses it
            return f"unknown engine {ws.engine!r}" if ws.engine else str(exc)

    def _summary(self, ws: Any, objects: int | None = None) -> SourceSummary:
        """The sources row of ``ws``; ``objects`` when the caller has just counted them from the masks."""
        info = ws.info
        records = ws.records()
        check = self._last_export(ws.video_path)
        return SourceSummary(
            path=ws.video_path, name=ws.video_path.name, width=info.width, height=info.height,
            fps=info.avg_fps, vfr=info.vfr, duration_s=info.duration_s, frames=info.frame_count,
            objects=self._object_count(ws) if objects is None else objects,
            keyframes=sum(1 for r in records.values() if r.user),
            masked_pct=100.0 * len(records) / max(info.frame_count, 1), stale=len(ws.stale_frames()),
            last_export=check[0], last_check=check[1], engine=self._engine_label(ws))

    def _object_count(self, ws: Any) -> int:
        """Objects the masks hold, once the video view has read them (until then: objects ever named)."""
        stats = self._mask_stats.get(ws.video_path)
        if stats is None or not stats.complete:
            return len(ws.objects)
        return len({k for areas in stats.update(ws, sorted(ws.records())).values() for k in areas})

    def _last_export(self, video: Path) -> tuple[str, str]:
        """(output path, "passed"/"failed") of the newest finished export job of ``video``."""
        try:
            jobs = [j for j in self._queue().list(("done", "failed"))
                    if j.kind == "export" and Path(self.settings.resolve(j.video)) == video]
        except Exception:  # a broken queue must not hide the sources table
            log.exception("reading the job queue failed")
            return "", ""
        if not jobs:
            return "", ""
        job = max(jobs, key=lambda j: j.finished or 0)
        row = self._row(job, None)
        return row.output or job.id, row.check or ("failed" if job.error else "")

    @staticmethod
    def _row(job: Job, progress: Progress | None) -> JobRow:
        from xmem_tui.jobs.runners import result_of

        result = result_of(job)
        done = progress.done if progress else result.done
        total = progress.total if progress else result.total
        return JobRow(id=job.id, kind=job.kind, video=job.video, state=job.state, done=done, total=total,
                      message=progress.message if progress else "", output=result.output, error=job.error,
                      check=result.check(), progress=progress)
