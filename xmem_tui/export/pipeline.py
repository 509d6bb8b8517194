"""The streaming export: decode -> finish + composite -> encode, each stage in its own thread.

Three stages overlap through small bounded queues: a decoder thread (FFmpeg decodes with its own threads
and releases the GIL), a compositing thread (OpenCV, numpy and torch release the GIL in their kernels),
and the caller's thread, which encodes and yields :class:`~xmem_tui.progress.Progress`. No frame touches
the disk between stages. Every frame carries its source pts and duration end to end, so the encoder
writes it at exactly the source time; the pts seen here are what the self-check compares against.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import av
import numpy as np

from xmem_tui.errors import MediaError
from xmem_tui.export.mattes import MatteStream
from xmem_tui.export.sinks import Sink
from xmem_tui.media.encode import ColorTags
from xmem_tui.progress import Progress

if TYPE_CHECKING:
    from xmem_tui.export.registry import Render

log = logging.getLogger(__name__)

_END = object()
_QUEUE = 6


@dataclass
class SourceTimeline:
    """What the decoder saw: every frame's pts and duration in the stream time base, plus its tags."""

    time_base: Fraction
    pts: list[int] = field(default_factory=list)
    durations: list[int] = field(default_factory=list)
    rotation: int = 0
    color: ColorTags | None = None
    coded_size: tuple[int, int] = (0, 0)


def first_frame(path: Path) -> tuple[av.VideoFrame, Fraction, Fraction | None]:
    """The first decoded frame of ``path``, its stream time base and average rate (for sizes and tags).

    An image folder is a video at the probe's nominal rate (its frames have no times of their own).
    """
    if Path(path).is_dir():
        from xmem_tui.media.frames import open_frames

        with open_frames(Path(path)) as reader:
            frame = av.VideoFrame.from_ndarray(reader.get(0), format="rgb24")
            time_base = reader.info.time_base
        return frame, time_base, 1 / time_base
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            for frame in container.decode(stream):
                return frame, stream.time_base, stream.average_rate
    except (av.FFmpegError, IndexError) as exc:
        raise MediaError(f"{path}: cannot decode video ({exc}); check the file plays.") from exc
    raise MediaError(f"{path}: no video frames decode; re-encode or re-download it.")


@dataclass
class Stage:
    """The per-frame work of one export kind: ``render(frame, mattes, index) -> one image per sink``."""

    render: Render
    mattes: MatteStream
    needs_pixels: bool
    display: bool
    uses_mattes: bool = True


class ExportPipeline:
    """Runs one export; iterate :meth:`run` for progress, then read :attr:`timeline`."""

    def __init__(self, source: Path, stage: Stage, sinks: list[Sink], total: int, label: str) -> None:
        self.source = Path(source)
        self.stage = stage
        self.sinks = sinks
        self.total = total
        self.label = label
        self.timeline: SourceTimeline | None = None
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

    def _decode(self, out: queue.Queue[Any]) -> None:
        if self.source.is_dir():
            self._read_images(out)
            return
        try:
            with av.open(str(self.source)) as container:
                stream = container.streams.video[0]
                stream.thread_type = "AUTO"
                timeline = SourceTimeline(time_base=stream.time_base)
                self.timeline = timeline
                for frame in container.decode(stream):
                    if self._stop.is_set():
                        return
                    if frame.pts is None:
                        raise MediaError(f"{self.source}: frame {len(timeline.pts)} has no timestamp; "
                                         "remux the file (e.g. to MKV) before exporting.")
                    if not timeline.pts:
                        timeline.rotation = int(frame.rotation or 0)
                        timeline.color = ColorTags.of_frame(frame)
                        timeline.coded_size = (frame.width, frame.height)
                    timeline.pts.append(int(frame.pts))
                    timeline.durations.append(int(frame.duration or 0))
                    pixels = None
                    if self.stage.needs_pixels:
                        pixels = frame.to_ndarray(format="rgb24")
                        if self.stage.display and timeline.rotation % 360:
                            pixels = np.ascontiguousarray(np.rot90(pixels, k=timeline.rotation // 90))
                    if not self._put(out, (len(timeline.pts) - 1, int(frame.pts), int(frame.duration or 0), pixels)):
                        return
        except BaseException as exc:  # handed to the caller's thread
            self._errors.append(exc)
        finally:
            self._put(out, _END)

    def _read_images(self, out: queue.Queue[Any]) -> None:
        """An image folder: frame i is shown at pts i in the probe's time base, for one tick."""
        from xmem_tui.media.frames import open_frames

        try:
            with open_frames(self.source, cache_bytes=0) as reader:
                timeline = SourceTimeline(time_base=reader.info.time_base, color=ColorTags())
                self.timeline = timeline
                for index, image in reader.iter():
                    if self._stop.is_set():
                        return
                    if not timeline.pts:
                        timeline.coded_size = (image.shape[1], image.shape[0])
                    pts = int(reader.info.pts[index])
                    timeline.pts.append(pts)
                    timeline.durations.append(1)
                    if not self._put(out, (index, pts, 1, image if self.stage.needs_pixels else None)):
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
