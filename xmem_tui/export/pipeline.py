"""The streaming export: decode -> finish + composite -> encode, each stage in its own thread.

Three stages overlap through small bounded queues: a decoder thread (FFmpeg decodes with its own threads
and releases the GIL), a compositing thread (OpenCV, numpy and torch release the GIL in their kernels),
and the caller's thread, which encodes and yields :class:`~xmem_tui.progress.Progress`. No frame touches
the disk between stages. The source is read through :mod:`xmem_tui.media` (the frame reader, the
probe's :class:`~xmem_tui.media.info.VideoInfo`), so the export sees exactly the frames and presentation
times every other reader sees: every frame carries its pts and duration from that timeline end to end,
the encoder writes it at exactly that time, and the self-check compares against the same numbers.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from xmem_tui.export.mattes import MatteStream
from xmem_tui.export.sinks import Sink
from xmem_tui.media.color import ColorTags
from xmem_tui.media.frames import open_frames
from xmem_tui.media.info import VideoInfo
from xmem_tui.progress import Progress

if TYPE_CHECKING:
    from xmem_tui.export.registry import Render

log = logging.getLogger(__name__)

_END = object()
_QUEUE = 6


@dataclass
class SourceTimeline:
    """The frames an export wrote, as the presentation timeline has them: pts and duration (stream time
    base ticks) of each, plus the source's display rotation (counter-clockwise degrees, as a display
    matrix stores it), colour tags and coded size.

    ``shift`` (ticks) is what video sinks add to every timestamp: a source that starts before zero is
    written from zero, since MP4/MOV edit lists drop frames before zero and Matroska muxers shift them
    anyway; audio moves by the same amount, so sync holds.
    """

    time_base: Fraction
    pts: list[int] = field(default_factory=list)
    durations: list[int] = field(default_factory=list)
    rotation: int = 0
    color: ColorTags | None = None
    coded_size: tuple[int, int] = (0, 0)
    shift: int = 0

    @classmethod
    def begin(cls, info: VideoInfo) -> SourceTimeline:
        """An empty record for ``info``'s source; the pipeline appends each frame it writes."""
        return cls(time_base=info.time_base, rotation=(-info.rotation) % 360, color=ColorTags.from_names(info.color),
                   coded_size=info.coded_size, shift=max(0, -info.pts[0]))

    @property
    def shift_s(self) -> Fraction:
        return self.shift * self.time_base


@dataclass
class Stage:
    """The per-frame work of one export kind: ``render(frame, mattes, index) -> one image per sink``."""

    render: Render
    mattes: MatteStream
    needs_pixels: bool
    display: bool
    uses_mattes: bool = True


class ExportPipeline:
    """Runs one export of ``info``'s source; iterate :meth:`run` for progress, then read :attr:`timeline`.

    ``timeline`` is :meth:`SourceTimeline.begin` of ``info`` (the sinks were set up from it); every frame
    written is appended to it.
    """

    def __init__(self, info: VideoInfo, timeline: SourceTimeline, stage: Stage, sinks: list[Sink], total: int,
                 label: str) -> None:
        self.info = info
        self.timeline = timeline
        self.stage = stage
        self.sinks = sinks
        self.total = total
        self.label = label
        self._stop = threading.Event()
        self._errors: list[BaseException] = []

    # ------------------------------------------------------------------ threads
    def _put(self, q: queue.Queue[Any], item: Any) -> bool:
        while not self._stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _frames(self) -> Iterator[tuple[int, np.ndarray | None]]:
        """``(index, pixels or None)`` of every source frame: RGB, upright when the stage writes upright."""
        info, want = self.info, self.stage.needs_pixels
        with open_frames(info.path, info=info, cache_bytes=0) as reader:
            if info.kind != "video":
                for index, image in reader.iter():
                    yield index, image if want else None
                return
            turn = info.rotation // 90 if self.stage.display else 0
            for index, frame in reader.video_frames():
                pixels = None
                if want:
                    pixels = frame.to_ndarray(format="rgb24")
                    if turn:
                        pixels = np.ascontiguousarray(np.rot90(pixels, k=-turn))
                yield index, pixels

    def _decode(self, out: queue.Queue[Any]) -> None:
        timeline, pts, durations = self.timeline, self.info.pts, self.info.durations
        try:
            for index, pixels in self._frames():
                if self._stop.is_set():
                    return
                timeline.pts.append(pts[index])
                timeline.durations.append(durations[index])
                if not self._put(out, (index, pts[index], durations[index], pixels)):
                    return
        except BaseException as exc:  # handed to the caller's thread
            self._errors.append(exc)
        finally:
            self._put(out, _END)

    def _composite(self, inp: queue.Queue[Any], out: queue.Queue[Any]) -> None:
        try:
            while not self._stop.is_set():
                try:
                    item = inp.get(timeout=0.1)
                except queue.Empty:
                    continue
                if item is _END:
                    break
                index, pts, duration, pixels = item
                if self.stage.uses_mattes and index < self.total:
                    mattes = self.stage.mattes.get(index)
                else:
                    mattes = np.zeros((self.stage.mattes.channels, *self._matte_shape()), np.uint8)
                images = [sink.prepare(image)
                          for sink, image in zip(self.sinks, self.stage.render(pixels, mattes, index), strict=True)]
                if not self._put(out, (index, pts, duration, images)):
                    return
        except BaseException as exc:
            self._errors.append(exc)
        finally:
            self._put(out, _END)

    def _matte_shape(self) -> tuple[int, int]:
        h, w = self.stage.mattes.shape
        return (w, h) if self.stage.mattes.rot_k % 2 else (h, w)

    # ------------------------------------------------------------------ driver
    def run(self) -> Iterator[Progress]:
        """Stream the whole source; yields progress after every written frame. Closing the generator
        (cancel) stops the threads and aborts the sinks."""
        decoded: queue.Queue[Any] = queue.Queue(maxsize=_QUEUE)
        composited: queue.Queue[Any] = queue.Queue(maxsize=_QUEUE)
        threads = [threading.Thread(target=self._decode, args=(decoded,), name="export-decode", daemon=True),
                   threading.Thread(target=self._composite, args=(decoded, composited), name="export-composite",
                                    daemon=True)]
        for thread in threads:
            thread.start()
        started = time.monotonic()
        done = 0
        finished = False
        try:
            while True:
                item = composited.get()
                if item is _END:
                    break
                index, pts, duration, images = item
                for sink, image in zip(self.sinks, images, strict=True):
                    sink.write(image, pts, duration)
                done += 1
                elapsed = max(time.monotonic() - started, 1e-6)
                fps = done / elapsed
                left = max(self.total - done, 0)
                yield Progress(done=done, total=self.total, frame=index, fps=fps, eta_s=left / fps if fps else None,
                               message=f"exporting {self.label}")
            if self._errors:
                raise self._errors[0]
            for sink in self.sinks:
                sink.close()
            finished = True
        finally:
            self._stop.set()
            for q in (decoded, composited):
                while not q.empty():
                    q.get_nowait()
            for thread in threads:
                thread.join(timeout=5)
            if not finished:
                for sink in self.sinks:
                    sink.abort()
