"""Everything the annotation window does, without the window: events in, state and saved masks out.

:mod:`xmem_tui.annotate.cv_window` turns highgui events into calls on :class:`Controller` (``key``,
``mouse_down/move/up``, ``wheel``, ``seek``, ``tick``) and draws what :mod:`~xmem_tui.annotate.render`
makes of the controller's state whenever :attr:`Controller.dirty` is set; tests drive the same calls
directly, so every key and tool is tested without a display.

Saving rule: each completed edit (a click, a stroke, a lasso, an import, a reset) is written to the
workspace at once, atomically, with its provenance and an undo snapshot, so moving to another frame,
propagating or closing has nothing left to save and a crash loses at most the stroke being drawn.
Slow segmentations are queued in :attr:`Controller.pending` so the window can show "working" first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import numpy as np

from xmem_tui.annotate import actions
from xmem_tui.annotate.actions import VIEWS
from xmem_tui.annotate.editing import FrameEdit, processing_image
from xmem_tui.annotate.segmenters import Segmenters
from xmem_tui.annotate.viewport import Viewport
from xmem_tui.errors import UserError

if TYPE_CHECKING:
    from xmem_tui.annotate.jobs_client import PropagationClient
    from xmem_tui.config import Settings
    from xmem_tui.workspace import ObjectInfo, Workspace

log = logging.getLogger(__name__)

#: Seconds between checks of the current frame's mask file (a propagation job may rewrite it).
POLL_MASK_S = 0.3
#: Seconds between reads of job state and progress.
POLL_JOBS_S = 1.0
MESSAGE_S = 5.0
MAX_RADIUS = 500


class FrameSource(Protocol):
    """Random access to decoded frames (``media.frames.FrameReader`` or a list in tests)."""

    def __len__(self) -> int: ...

    def get(self, index: int) -> np.ndarray: ...


class Controller:
    """State of one annotation session on one video.

    Args:
        ws: the video's workspace (held exclusively for "annotate" by the caller).
        frames: decoded source frames (uint8 RGB, any size; shown at full detail, edited at ``ws.shape``).
        settings: project settings (brush size, display limits, max objects, processing size).
        segmenters: builds the click and scribble segmenters on first use.
        jobs: submits and follows propagation jobs (None: propagation keys only show a message).
        start_frame: frame shown first.
        hover_cursor: redraw on plain mouse moves to show the brush outline (off over ``ssh -X``, where
            each redraw sends the whole image).
    """

    def __init__(self, ws: Workspace, frames: FrameSource, settings: Settings, segmenters: Segmenters,
                 jobs: PropagationClient | None = None, start_frame: int = 0, hover_cursor: bool = True) -> None:
        self.ws = ws
        self.frames = frames
        self.settings = settings
        self.segmenters = segmenters
        self.jobs = jobs
        self.hover_cursor = hover_cursor
        self.count = min(len(frames), ws.frame_count)
        if self.count == 0:
            raise UserError(f"{ws.video_path}: no frames to annotate.")
        first = frames.get(0)
        mask_h, mask_w = ws.shape
        self.viewport = Viewport((first.shape[1], first.shape[0]), (mask_w, mask_h),
                                 (settings.annotate.max_width, settings.annotate.max_height),
                                 (settings.annotate.min_width, settings.annotate.min_height))
        #: The window's width: the image's, or wider so the status bar fits (the image stays at the left,
        #: so window and image coordinates agree).
        self.canvas_width = max(self.viewport.width, min(settings.annotate.min_width, settings.annotate.max_width))
        self.mode = "click"
        self.object = 1
        self.radius = settings.annotate.brush_radius
        self.view = VIEWS[0]
        self.show_help = False
        self.playing = False
        self.closed = False
        self.dirty = True
        self.frame = -1
        self.frame_version = 0
        self.mask_version = 0
        self.objects: dict[int, ObjectInfo] = {}
        self.objects_version = 0
        self.source: np.ndarray = first
        self.edit: FrameEdit
        self.stroke: list[tuple[int, int]] = []  # display points of the stroke being drawn
        self.stroke_button: str | None = None
        self.cursor: tuple[int, int] | None = None
        self.pending: tuple[str, Callable[[], None]] | None = None
        self.clear_memory = False  # the next propagation memorises only its start frame
        self.message = ""
        self.progress_text = ""
        self.saved_frames: set[int] = set()
        self._message_until = 0.0
        self._next_play = 0.0
        self._next_mask_poll = 0.0
        self._next_jobs_poll = 0.0
        self._disk_sig: tuple[int, int, int] | None = None
        self._pan_from: tuple[int, int] | None = None
        self._segmenter_changes = 0
        self.unusable = False  # the shown frame's mask file cannot be read as labels (said in the status line)
        self._refresh_objects()
        self._load(min(max(start_frame, 0), self.count - 1))

    # ------------------------------------------------------------------ frames
    def _load(self, index: int) -> None:
        source = self.source = self.frames.get(index)
        mask = self._disk_mask(index)
        self.frame = index
        self.edit = FrameEdit(lambda: processing_image(source, self.ws.shape, self.settings.processing.size),
                              mask, lambda: None if self.unusable else self.ws.read_soft(index))
        self._disk_sig = self._stat(index)
        self.stroke, self.stroke_button = [], None
        self.frame_version += 1
        self.mask_version += 1
        self.dirty = True

    def goto(self, index: int) -> None:
        """Show frame ``index`` (clamped), after finishing whatever is in progress on this one."""
        index = min(max(index, 0), self.count - 1)
        if index == self.frame:
            return
        self.flush()
        self._load(index)

    def seek(self, index: int) -> None:
        """The trackbar moved."""
        self.goto(index)

    def flush(self) -> None:
        """Finish a stroke in progress and run queued work, so everything the user did is on disk."""
        if self.stroke_button is not None:
            self._finish_stroke()
        self.run_pending()

    def close(self) -> None:
        self.flush()
        self.closed = True

    def _stat(self, index: int) -> tuple[int, int, int] | None:
        try:
            st = self.ws.mask_path(index).stat()
        except FileNotFoundError:
            return None
        return st.st_mtime_ns, st.st_size, st.st_ino

    def _disk_mask(self, index: int) -> np.ndarray:
        """Frame ``index``'s saved mask (empty when it has none); a mask file another program left unusable
        is said in the status line and shown empty, so the user can draw the frame again."""
        try:
            mask = self.ws.read_mask(index)
            self.unusable = False
        except UserError as exc:
            self.say(str(exc))
            mask, self.unusable = None, True
        return mask if mask is not None else np.zeros(self.ws.shape, np.uint8)

    def reload(self) -> None:
        """Re-read the current frame's masks from disk (after undo/redo or a write by a job)."""
        self.edit.replace(self._disk_mask(self.frame), None)
        self._disk_sig = self._stat(self.frame)
        self.mask_version += 1
        self.dirty = True

    # ------------------------------------------------------------------ saving
    def commit(self, result: tuple[np.ndarray, np.ndarray], kind: str, keep_sessions: bool = False) -> None:
        """Save an edit of the current frame (undo snapshot first) and show it."""
        index, soft = result
        self.ws.history_push(self.frame)
        self.ws.write_frame(self.frame, index, soft, provenance=f"user:{kind}")
        self.edit.replace(index, soft, keep_sessions=keep_sessions)
        self._disk_sig = self._stat(self.frame)
        self.saved_frames.add(self.frame)
        self.mask_version += 1
        self.dirty = True
        if int(index.max()) > max(self.objects, default=0):
            self._refresh_objects()

    def _commit_segmentation(self, result: tuple[np.ndarray, np.ndarray], kind: str, label: int) -> None:
        """Save a click's or scribble's result, and say so when the segmenter found nothing.

        GrabCut (and a network on a poor click) can return an empty object; silently saving nothing
        looks like the window ignored the click. An unchanged mask is not saved (no empty keyframe).
        """
        if not np.array_equal(result[0], self.edit.index):
            self.commit(result, kind, keep_sessions=True)
        if label and not (result[0] == label).any():
            self.say(f"{self.segmenters.describe(kind)} found no object {label} there: {kind} inside the "
                     "object, add more, or paint it with the brush (f)")

    def _refresh_objects(self) -> None:
        objects = self.ws.objects
        if objects != self.objects:
            self.objects = objects
            self.objects_version += 1
            self.dirty = True

    # ------------------------------------------------------------------ messages and time
    def say(self, text: str) -> None:
        if text:
            log.info("%s", text)
        self.message = text
        self._message_until = -1.0  # starts at the next tick, whose clock is the window's
        self.dirty = True

    def tick(self, now: float) -> None:
        """Advance time: playback, polling of the mask file and of jobs, message expiry."""
        if self.playing and now >= self._next_play:
            if self.frame >= self.count - 1:
                self.playing = False
                self.dirty = True
            else:
                self.goto(self.frame + 1)
                fps = getattr(self.ws.info, "avg_fps", 0) or 24.0
                self._next_play = now + 1.0 / fps
        if now >= self._next_mask_poll:
            self._next_mask_poll = now + POLL_MASK_S
            if self.stroke_button is None and self.pending is None and self._stat(self.frame) != self._disk_sig:
                self.reload()
        if now >= self._next_jobs_poll:
            self._next_jobs_poll = now + POLL_JOBS_S
            self._poll_jobs()
        if self.message and self._message_until < 0:
            self._message_until = now + MESSAGE_S
        elif self.message and now >= self._message_until:
            self.message = ""
            self.dirty = True

    def _poll_jobs(self) -> None:
        self._refresh_objects()
        if self.segmenters.changes != self._segmenter_changes:  # built (or failed) on the warm-up thread
            self._segmenter_changes = self.segmenters.changes
            self.dirty = True
        for note in self.segmenters.take_notes():
            self.say(note)
        if self.jobs is None:
            return
        try:
            text, outcome = self.jobs.status()
        except (OSError, UserError) as exc:
            text, outcome = "", f"cannot read the job queue: {exc}"
        if text != self.progress_text:
            self.progress_text = text
            self.dirty = True
        if outcome:
            self.say(outcome)

    def run_pending(self) -> None:
        """Run queued slow work (a segmentation); the window calls this after drawing the busy state."""
        pending, self.pending = self.pending, None
        if pending is not None:
            self._guard(pending[1])
            self.dirty = True

    def _guard(self, work: Callable[[], None]) -> None:
        """Run ``work``; a user error becomes a HUD message instead of closing the window."""
        try:
            work()
        except UserError as exc:
            self.say(str(exc))

    # ------------------------------------------------------------------ keys
    def key(self, action: str | None) -> None:
        """Perform a keymap action (see :mod:`xmem_tui.annotate.keymap`)."""
        if action is None:
            return
        self.run_pending()  # earlier work first: keys act on what the user saw it produce
        self.dirty = True
        self._guard(lambda: actions.perform(self, action))

    # ------------------------------------------------------------------ mouse
    def mouse_down(self, button: str, dx: int, dy: int) -> None:
        """``button`` is "left" (positive / paint), "right" (negative / erase) or "middle" (pan)."""
        self.cursor = (dx, dy)
        if button == "middle":
            self._pan_from = (dx, dy)
            return
        if not self.viewport.inside(dx, dy) or self.pending is not None:
            return
        positive = button == "left"
        if self.mode == "click":
            self._queue_click(dx, dy, positive)
            return
        self.stroke, self.stroke_button = [(dx, dy)], button
        self.dirty = True

    def mouse_move(self, dx: int, dy: int) -> None:
        self.cursor = (dx, dy)
        if self._pan_from is not None:
            if self.viewport.pan(dx - self._pan_from[0], dy - self._pan_from[1]):
                self.dirty = True
            self._pan_from = (dx, dy)
        elif self.stroke_button is not None:
            if (dx, dy) != self.stroke[-1]:
                self.stroke.append((dx, dy))
                self.dirty = True
        elif self.hover_cursor and self.mode in ("scribble", "free"):
            self.dirty = True

    def mouse_up(self, button: str, dx: int, dy: int) -> None:
        self.cursor = (dx, dy)
        if button == "middle":
            self._pan_from = None
        elif self.stroke_button == button:
            self.mouse_move(dx, dy)
            self._finish_stroke()

    def wheel(self, delta: int) -> None:
        """Mouse wheel: brush size up (delta > 0) or down."""
        self.step_radius(1 if delta > 0 else -1)

    def step_radius(self, direction: int) -> None:
        """One ``]`` (direction 1) or ``[`` (-1): about 10% a step, at least a pixel.

        Twenty presses take the default 8 px brush to about 50 px, so the size can be dialled in; a
        steeper curve (20% a step reached 217 px) jumps past the size the user wants.
        """
        step = max(1, round(self.radius / (10 if direction > 0 else 11)))
        self.set_radius(self.radius + direction * step)

    def set_radius(self, radius: int) -> None:
        self.radius = min(max(radius, 1), MAX_RADIUS)
        self.dirty = True

    def _queue_click(self, dx: int, dy: int, positive: bool) -> None:
        if self.object == 0:
            self.say("clicks segment an object: press 1-9 to choose one (0 is for brush/lasso erasing)")
            return
        mx, my = self.viewport.to_mask(dx, dy)
        label = self.object

        def work() -> None:
            result = self.edit.add_click(self.segmenters.click(), mx, my, positive, label)
            self._commit_segmentation(result, "click", label if positive else 0)

        self.pending = (f"segmenting ({self.segmenters.describe('click')})", work)
        self.dirty = True

    def _finish_stroke(self) -> None:
        button, points = self.stroke_button, self.stroke
        self.stroke, self.stroke_button = [], None
        self.dirty = True
        if button is None or not points:
            return
        positive = button == "left"
        mask_points = _dedupe([self.viewport.to_mask(x, y) for x, y in points])
        label, mode = self.object, self.mode
        if mode == "free":
            self.commit(self.edit.brush(mask_points, self.radius, label, positive), "free")
        elif mode == "lasso":
            self.commit(self.edit.lasso(mask_points, label, positive), "lasso")
        elif mode == "scribble":
            scribble_label = label if positive else 0
            radius = self.radius

            def work() -> None:
                result = self.edit.add_scribble(self.segmenters.scribble(), mask_points, radius, scribble_label)
                self._commit_segmentation(result, "scribble", scribble_label)

            self.pending = (f"segmenting ({self.segmenters.describe('scribble')})", work)

def _dedupe(points: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for p in points:
        if not out or out[-1] != p:
            out.append(p)
    return out

