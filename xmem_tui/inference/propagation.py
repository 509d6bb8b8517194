"""The propagation loop: masks from annotated frames carried through the video, frame by frame.

``propagate`` is a generator so whoever drives it (the foreground CLI, the worker, a test) owns
cancelling and displaying; the loop itself owns correctness on disk:

* it holds ``ws.exclusive("propagate")`` for the whole run, so two propagations never write one workspace;
* before the start frame, every other user-annotated frame of the video is fed to the engine with its
  mask, farthest from the start first, so all annotations are in memory for the whole run (XMem keeps
  them permanently); a request with ``clear_memory`` (the dashboard's "clear memory") feeds the start frame only;
* every user-annotated frame it reaches is given to the engine as input (the official demo's
  behaviour) and is never overwritten; with ``until_keyframe`` the run stops just before the next one;
* each propagated frame's index and soft masks are written atomically as soon as they exist, tagged
  with the run id, so a crash loses at most the two frames in flight and :func:`resume_point` can find
  where the run got to (a resumed run re-primes the engine as the run began, plus the user frames it
  passed and its last written frame, then continues after that frame: no frame lost, none written twice);
* progress is published, throttled, to ``ws.progress_path`` for other processes, ending with the final
  state (``stats["state"]``: done, cancelled or failed);
* quality signals of each written frame are appended to ``ws.quality_path``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from xmem_tui.errors import WorkspaceError
from xmem_tui.inference.engine import Engine, MemoryStats, PermanentMemory, index_from_probs, soft_from_probs
from xmem_tui.inference.gpu import DeviceMemory, device_memory, gpu_lock, reset_peak
from xmem_tui.inference.quality import QualityLog
from xmem_tui.inference.quality_meter import QualityMeter
from xmem_tui.progress import Progress, Throttle, write_progress

if TYPE_CHECKING:
    from xmem_tui.inference.request import PropagationRequest
    from xmem_tui.workspace import Workspace

log = logging.getLogger(__name__)

Cancel = Callable[[], bool] | threading.Event | None

#: Weight of the newest frame time in the smoothed frames/s (about the last ten frames count).
_FPS_ALPHA = 0.1
#: Progress files are rewritten at most this often (seconds): ~4 per second.
PROGRESS_INTERVAL = 0.25


@dataclass(frozen=True)
class FrameResult:
    """What one step of a propagation produced.

    Attributes:
        frame: index of the frame just processed.
        done: frames of the run processed so far (the start frame not counted).
        total: frames the run processes in all.
        fps: smoothed frames per second.
        eta_s: estimated seconds left (None before the first timing).
        memory: the engine's memory sizes.
        gpu: device memory (current / peak / total).
        engine: engine name; ``weight_free`` says whether it is the classical fallback.
        run: run id (stored in every mask the run writes).
        input: True when the frame was a user-annotated frame fed as input (nothing written).
        direction: "forward" or "backward".
    """

    frame: int
    done: int
    total: int
    fps: float
    eta_s: float | None
    memory: MemoryStats
    gpu: DeviceMemory
    engine: str
    weight_free: bool
    run: str
    input: bool
    direction: str

    def stats(self, state: str = "running") -> dict[str, Any]:
        return {"working_mem": self.memory.working, "long_term_mem": self.memory.long_term,
                **self.gpu.as_stats(), "engine": self.engine, "weight_free": self.weight_free, "run": self.run,
                "direction": self.direction, "state": state}

    def to_progress(self, message: str | None = None, state: str = "running") -> Progress:
        """The same report as a :class:`xmem_tui.progress.Progress` (what files and job runners carry)."""
        text = message if message is not None else f"propagating {self.direction}: frame {self.frame}"
        return Progress(done=self.done, total=self.total, frame=self.frame, fps=round(self.fps, 3),
                        eta_s=None if self.eta_s is None else round(self.eta_s, 1), message=text,
                        stats=self.stats(state))


@dataclass(frozen=True)
class Plan:
    """The frames a run visits: ``start`` (input) then ``start + step`` ... ``end`` inclusive."""

    start: int
    end: int
    step: int
    user: frozenset[int]

    @property
    def total(self) -> int:
        return abs(self.end - self.start)

    def frames(self, after: int) -> range:
        """Frames still to process after ``after`` (exclusive), in propagation order."""
        return range(after + self.step, self.end + self.step, self.step)


def plan_run(ws: Workspace, request: PropagationRequest) -> Plan:
    """Check the request against the workspace and work out the frames to visit.

    Raises:
        WorkspaceError: the start or end frame is out of range or on the wrong side, or the start frame
            has no mask (the user has to annotate it first).
    """
    n = ws.frame_count
    name = ws.video_path.name
    start, end, backward = request.start, request.end, request.backward
    step = -1 if backward else 1
    if not 0 <= start < n:
        raise WorkspaceError(f"--from {start} is out of range: {name} has frames 0-{n - 1}.")
    last = 0 if backward else n - 1
    end = last if end is None else end
    if not 0 <= end < n:
        raise WorkspaceError(f"--to {end} is out of range: {name} has frames 0-{n - 1}.")
    if (end - start) * step < 0:
        which = "--backward needs --to <= --from" if backward else "--to must be >= --from (or add --backward)"
        raise WorkspaceError(f"cannot propagate from frame {start} to frame {end}: {which}.")
    if ws.read_mask(start) is None:
        raise WorkspaceError(f"frame {start} of {name} has no mask: annotate frame {start} first "
                             "(xmem-tui annotate), or start from an annotated frame.")
    user = frozenset(ws.user_frames())
    if request.until_keyframe:
        ahead = [u for u in user if (u - start) * step > 0 and (u - end) * step <= 0]
        if ahead:
            nearest = min(ahead, key=lambda u: abs(u - start))
            end = nearest - step
    return Plan(start=start, end=end, step=step, user=user)


def labels_for(ws: Workspace, masks: list[np.ndarray]) -> list[int]:
    """Object labels to track: every object the workspace knows plus any present in the input masks."""
    labels = set(ws.objects)
    for mask in masks:
        labels.update(int(v) for v in np.unique(mask) if v)
    return sorted(labels)


def resume_point(ws: Workspace, run_id: str, start: int, backward: bool = False) -> int:
    """The last frame run ``run_id`` wrote (in its direction from ``start``), or ``start`` if none.

    Pass it as ``resume_from`` to :func:`propagate` (same ``start``, ``end`` and run id) to finish a run
    that crashed: frames up to it are kept, the next one is the first written again.
    """
    step = -1 if backward else 1
    written = [i for i, r in ws.records().items() if r.run == run_id and not r.user and (i - start) * step >= 0]
    if not written:
        return start
    return max(written, key=lambda i: (i - start) * step)


def _is_cancelled(cancel: Cancel) -> bool:
    if cancel is None:
        return False
    if isinstance(cancel, threading.Event):
        return cancel.is_set()
    return bool(cancel())


class _Frames:
    """Frames of the video at the workspace's processing resolution, sequentially or at random."""

    def __init__(self, ws: Workspace) -> None:
        from xmem_tui.media.frames import open_frames

        self.shape = ws.shape
        self._cm = open_frames(ws.video_path, info=ws.info)
        self.reader = self._cm.__enter__()

    def close(self) -> None:
        self._cm.__exit__(None, None, None)

    def _fit(self, frame: np.ndarray) -> np.ndarray:
        from xmem_tui.media.resize import to_processing

        # min(shape) as the size reproduces processing_shape() for the workspace's own size setting.
        out = to_processing(frame, min(self.shape))
        if out.shape[:2] != self.shape:
            import cv2

            out = cv2.resize(frame, (self.shape[1], self.shape[0]), interpolation=cv2.INTER_AREA)
        return np.ascontiguousarray(out)

    def get(self, index: int) -> np.ndarray:
        return self._fit(self.reader.get(index))

    def iter(self, frames: range) -> Iterator[tuple[int, np.ndarray]]:
        if not frames:
            return
        stop = frames.stop if frames.stop >= 0 else None
        for index, frame in self.reader.iter(start=frames.start, stop=stop, step=frames.step):
            yield index, self._fit(frame)


@contextlib.contextmanager
def _not_permanent(engine: Engine, active: bool) -> Iterator[None]:
    """Feed a mask that is not the user's (a resumed run's last written frame) as ordinary memory.

    Engines with permanent memory (XMem) have a ``permanent_masks`` switch
    (:class:`~xmem_tui.inference.engine.PermanentMemory`); others have nothing to switch.
    """
    if not active or not isinstance(engine, PermanentMemory):
        yield
        return
    before = engine.permanent_masks
    engine.permanent_masks = False
    try:
        yield
    finally:
        engine.permanent_masks = before


def propagate(ws: Workspace, engine: Engine, request: PropagationRequest, *, cancel: Cancel = None,
              run_id: str | None = None, progress_path: Path | None = None, resume_from: int | None = None,
              device: Any = "cpu") -> Iterator[FrameResult]:
    """Propagate the mask of frame ``request.start`` forward or backward, writing masks as it goes.

    Args:
        ws: the video's workspace.
        engine: a fresh or reused engine (it is reset here).
        request: what to propagate; its start frame must have a mask (user-annotated, or an accepted
            propagated one). Unless it clears memory, every other user-annotated frame is first fed to
            the engine as memory.
        cancel: a threading.Event or a callable returning True to stop; checked between frames.
        run_id: id of the run (default: a new one from ``ws.begin_run``); a resumed run passes its own.
        progress_path: where to publish progress (default ``ws.progress_path``).
        resume_from: resume a crashed run after this frame (see :func:`resume_point`).
        device: where the engine runs (its memory is what progress reports show).

    Yields:
        A :class:`FrameResult` per frame after the start frame, in propagation order.

    Raises:
        WorkspaceError: no mask at the start frame, bad range, or another propagation holds the workspace.
    """
    start = request.start
    with ws.exclusive("propagate"):
        plan = plan_run(ws, request)
        run_id = run_id or ws.begin_run(start, request.backward)
        path = Path(progress_path) if progress_path is not None else ws.progress_path
        resume = start if resume_from is None else resume_from
        if (resume - start) * plan.step < 0 or (resume - plan.end) * plan.step > 0:
            raise WorkspaceError(f"cannot resume at frame {resume}: the run goes from {start} to {plan.end}.")
        yield from _Run(ws, engine, plan, run_id, path, cancel, request.keyframe_memory, device).execute(resume)


class _Run:
    """One propagation run: the engine steps on the calling thread, disk work on one writer thread.

    Writing a frame (index/soft PNG encoding, fsyncs, the journal, quality signals, progress) costs
    about as much as an XMem step on a GPU, so it overlaps with the next step: frame i is written while
    frame i+1 is computed. Result i is yielded only once frame i is on disk, so consumers still see
    "masks on disk frame by frame". Only the writer thread touches the workspace's records while the
    loop runs (the Workspace object is not thread-safe); the calling thread only reads mask files.
    """

    def __init__(self, ws: Workspace, engine: Engine, plan: Plan, run_id: str, path: Path, cancel: Cancel,
                 keyframe_memory: bool, device: Any) -> None:
        self.ws, self.engine, self.plan, self.run_id, self.path, self.cancel = ws, engine, plan, run_id, path, cancel
        self.keyframe_memory = keyframe_memory
        self.device = device
        self.direction = "backward" if plan.step < 0 else "forward"
        self.quality = QualityLog(ws.quality_path)
        self.throttle = Throttle(PROGRESS_INTERVAL)
        self.labels: list[int] = []
        self.meter: QualityMeter | None = None  # quality signals; set up by _prime, then used by the writer
        self.frame_time: float | None = None
        self.last: FrameResult | None = None

    def execute(self, resume: int) -> Iterator[FrameResult]:
        plan, ws = self.plan, self.ws
        log.info("propagating %s %s from frame %d to %d with %s (run %s%s)", ws.video_path.name, self.direction,
                 plan.start, plan.end, self.engine.name, self.run_id,
                 f", resuming after frame {resume}" if resume != plan.start else "")
        state, message = "failed", "failed"
        done = abs(resume - plan.start)
        frames = _Frames(ws)
        writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="propagate-writer")
        pending: tuple[FrameResult, Future[None]] | None = None
        try:
            self.quality.compact()
            self.quality.forget(plan.user)
            reset_peak(self.device)
            self._prime(frames, resume)
            self._publish(self._result(plan.start, done, True), "starting", "running", force=True)
            tick = time.perf_counter()
            for index, frame in frames.iter(plan.frames(resume)):
                if _is_cancelled(self.cancel):
                    break
                user_mask = ws.read_mask(index) if index in plan.user else None
                try:
                    with gpu_lock():
                        probs = self.engine.step(frame, user_mask, end=index == plan.end)
                except Exception:
                    if pending is not None:  # the frame before the failure is on disk: report it first
                        landed, pending = self._land(pending), None
                        yield landed
                    raise
                if pending is not None:
                    landed, pending = self._land(pending), None
                    yield landed
                    if _is_cancelled(self.cancel):  # this frame is dropped unwritten: the run ends at the last
                        break
                now = time.perf_counter()
                self._time(now - tick)
                tick = now
                done += 1
                result = self._result(index, done, user_mask is not None)
                pending = (result, writer.submit(self._write, result, probs, user_mask, frame))
            else:
                state, message = "done", f"propagated {plan.total} frames {self.direction}"
            if pending is not None:
                landed, pending = self._land(pending), None
                yield landed
            if state != "done":
                state, message = "cancelled", f"cancelled after frame {self.last.frame if self.last else resume}"
                log.info("%s: propagation %s %s", ws.video_path.name, self.run_id, message)
        except (GeneratorExit, KeyboardInterrupt):
            state, message = "cancelled", "stopped by the caller"
            raise
        except BaseException as exc:
            message = f"failed: {exc}"
            raise
        finally:
            if pending is not None:  # let the frame in flight land, so the workspace stays consistent
                with contextlib.suppress(Exception):
                    pending[1].result()
            writer.shutdown(wait=True)
            frames.close()
            final = self.last or self._result(plan.start, abs(resume - plan.start), True)
            self._publish(final, message, state, force=True)

    def _land(self, pending: tuple[FrameResult, Future[None]]) -> FrameResult:
        """Wait until a frame is on disk (re-raising the writer's error), then hand out its result."""
        result, future = pending
        future.result()
        self.last = result
        return result

    def _prime(self, frames: _Frames, resume: int) -> None:
        """Reset the engine, feed it the input frames up to ``resume`` and set up the quality meter.

        Order: the other user frames (keyframe memory; farthest from the start first, so the nearest
        weigh most where an engine blends its anchors), the start frame, the user frames already passed
        (clear-memory runs; otherwise they were primed), and on resume the last written frame, which is
        not the user's and so is not made permanent. The meter compares colours with the last of these
        that is the user's (or the start frame) and jumps with the last one fed.
        """
        plan, ws = self.plan, self.ws
        between = sorted((u for u in plan.user if (u - plan.start) * plan.step > 0 and (u - resume) * plan.step < 0),
                         key=lambda u: abs(u - plan.start))  # user frames a resumed run already passed
        keyframes: list[tuple[int, np.ndarray]] = []
        if self.keyframe_memory:
            for u in sorted((u for u in plan.user if u != plan.start), key=lambda u: (-abs(u - plan.start), u)):
                mask = ws.read_mask(u)
                if mask is None:  # cleared since the run was planned: nothing to remember
                    log.info("user frame %d lost its mask; not priming memory with it", u)
                else:
                    keyframes.append((u, mask))
            passed: list[int] = []
        else:
            passed = between
        inputs = [plan.start, *passed]
        if resume != plan.start:
            inputs.append(resume)
        masks = [ws.read_mask(i) for i in inputs]
        missing = [i for i, m in zip(inputs, masks, strict=True) if m is None]
        if missing:
            raise WorkspaceError(f"frame {missing[0]} lost its mask during the run; propagate again from it.")
        upcoming = [ws.read_mask(u) for u in plan.user if u in plan.frames(resume)]
        self.labels = labels_for(ws, [m for m in [*masks, *upcoming, *(k for _, k in keyframes)] if m is not None])
        if not self.labels:
            raise WorkspaceError(f"frame {plan.start}'s mask is empty: annotate at least one object first.")
        self.engine.reset(self.labels)
        if keyframes:  # the dashboard shows this while the first frame is delayed
            self._publish(self._result(plan.start, abs(resume - plan.start), True),
                          f"loading {len(keyframes)} annotated frames into memory", "running", force=True)
        tick = time.perf_counter()
        for index, mask in keyframes:
            with gpu_lock():
                self.engine.step(frames.get(index), mask, end=False)
        if keyframes:
            log.info("primed memory with %d annotated frames in %.2f s", len(keyframes), time.perf_counter() - tick)
        self.meter = QualityMeter(self.labels, self.run_id)
        for index, mask in zip(inputs, masks, strict=True):
            transient = index == resume != plan.start
            image = frames.get(index)
            with gpu_lock(), _not_permanent(self.engine, transient):
                self.engine.step(image, mask, end=index == plan.end)
            if not transient:
                self.meter.anchor(index, image, mask)
        if resume != plan.start:  # colours as the run left them: against the user frame it passed last, if any
            if between and between[-1] not in inputs and (kept := ws.read_mask(between[-1])) is not None:
                self.meter.anchor(between[-1], frames.get(between[-1]), kept)
            self.meter.follow(resume, masks[-1])

    def _write(self, result: FrameResult, probs: np.ndarray, user_mask: np.ndarray | None,
               image: np.ndarray) -> None:
        """Writer thread: store a propagated frame (unless the user annotated it), its signals, progress.

        A user's frame (given, or annotated while the run went on) becomes the meter's new anchor.
        """
        assert self.meter is not None, "the run was primed"
        index = result.frame
        if user_mask is None and index in self.ws.user_frames():  # annotated by the user while we ran: theirs wins
            user_mask = self.ws.read_mask(index)
            log.info("frame %d was annotated during the run; keeping the user's mask", index)
            if user_mask is None:  # and cleared again: nothing to compare with
                self._publish(result, None, "running")
                return
        if user_mask is not None:
            self.meter.anchor(index, image, user_mask)
        else:
            mask = index_from_probs(probs, self.labels)
            soft = soft_from_probs(probs)
            self.ws.write_frame(index, mask, soft, provenance="propagated", run=self.run_id)
            self.quality.append(self.meter.measure(index, image, mask, soft))
        self._publish(result, None, "running")

    def _time(self, dt: float) -> None:
        """Smooth the wall time per frame (engine and disk overlapped: the slower one sets the pace)."""
        self.frame_time = dt if self.frame_time is None else (1 - _FPS_ALPHA) * self.frame_time + _FPS_ALPHA * dt

    def _result(self, index: int, done: int, was_input: bool) -> FrameResult:
        fps = 1.0 / self.frame_time if self.frame_time else 0.0
        eta = (self.plan.total - done) / fps if fps > 0 else None
        return FrameResult(frame=index, done=done, total=self.plan.total, fps=fps, eta_s=eta,
                           memory=self.engine.memory_stats(), gpu=device_memory(self.device),
                           engine=self.engine.name, weight_free=bool(self.engine.weight_free), run=self.run_id,
                           input=was_input, direction=self.direction)

    def _publish(self, result: FrameResult, message: str | None, state: str, force: bool = False) -> None:
        if not self.throttle.ready(force):
            return
        try:
            write_progress(self.path, result.to_progress(message, state))
        except OSError as exc:  # a full disk must not kill the run over a progress file
            log.warning("cannot write progress to %s: %s", self.path, exc)
