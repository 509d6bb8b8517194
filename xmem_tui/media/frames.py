"""Frame-exact access to the frames of a video or image folder, as RGB uint8 in display orientation.

Frames are identified by the decoder's own stamps, never by counting from wherever a seek landed: to
read frame ``i`` the reader seeks (with the container's index) to the keyframe at or before it (known
from the probe), decodes forward and names each frame by its stamp
(:class:`~xmem_tui.media.timeline.FrameFinder`: a stamp the probe saw once names its frame; frames
without a unique stamp are counted on from the last named one). That works whatever the presentation
timeline rule had to correct, a permuted labelling included, so random access never decodes from the
start while the file has an index. Frames decoded before the first keyframe after a seek are ignored
(they may reference frames that were never decoded). Decoding from the very start (a file without any
timestamps) counts frames. Sequential reads continue the current decode without seeking; backward
iteration decodes keyframe-to-target chunks and yields them in reverse, with chunks bounded in bytes.
Random reads are kept in an LRU cache bounded in bytes. Random reads have their own decoder with slice
threads only: frame threads make the decoder hold back each frame until as many more are in flight as it
has threads (3x the time of one ProRes frame here, worse with more cores); iteration keeps frame threads.

Not thread-safe: a reader holds one demuxer and decoder. Use one reader per thread.
"""

from __future__ import annotations

import bisect
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType

import av
import numpy as np

from xmem_tui.errors import MediaError
from xmem_tui.media.decode import decode_video, open_container, video_stream
from xmem_tui.media.images import read_image_rgb
from xmem_tui.media.info import VideoInfo
from xmem_tui.media.probe import probe
from xmem_tui.media.timeline import FrameFinder

log = logging.getLogger(__name__)

DEFAULT_CACHE_BYTES = 512 << 20
_MIN_CHUNK_BYTES = 64 << 20
KEEP_BEHIND = 8
"""Frames before a randomly read frame that are kept in the cache when a seek decoded them anyway."""


class _ByteLRU:
    """Least-recently-used cache of frames whose total ``nbytes`` never exceeds ``capacity``."""

    def __init__(self, capacity: int) -> None:
        self.capacity = max(0, int(capacity))
        self.nbytes = 0
        self._items: OrderedDict[int, np.ndarray] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: int) -> np.ndarray | None:
        item = self._items.get(key)
        if item is not None:
            self._items.move_to_end(key)
        return item

    def put(self, key: int, value: np.ndarray) -> None:
        if value.nbytes > self.capacity:
            return
        old = self._items.pop(key, None)
        if old is not None:
            self.nbytes -= old.nbytes
        while self._items and self.nbytes + value.nbytes > self.capacity:
            _, evicted = self._items.popitem(last=False)
            self.nbytes -= evicted.nbytes
        self._items[key] = value
        self.nbytes += value.nbytes


class _VideoDecoder:
    """Positions one PyAV decoder on any frame; remembers where sequential decoding stands."""

    def __init__(self, info: VideoInfo, finder: FrameFinder, thread_type: str = "AUTO") -> None:
        self.info = info
        self._thread_type = thread_type
        self._container: av.container.InputContainer | None = None
        self._stream: av.video.stream.VideoStream | None = None
        self._frames: Iterator[tuple[int, av.VideoFrame]] | None = None
        self._next: int | None = None  # index the current decode will produce next (at the earliest)
        self._keyframes = sorted(set(info.keyframes))
        self._finder = finder

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
        self._container, self._stream, self._frames, self._next = None, None, None, None

    def frame(self, i: int, passed: Callable[[int, av.VideoFrame], None] | None = None) -> av.VideoFrame:
        """The decoded frame ``i``; continues the current decode when that is cheaper than seeking.

        ``passed`` is called with every earlier frame decoded on the way after a seek (frames the caller
        may want to keep, e.g. for stepping backward without seeking again).
        """
        ahead = self._frames is not None and self._next is not None and self._next <= i
        if ahead and (not self.info.seekable or self.keyframe_before(i) <= self._next):
            found = self._decode_to(i)
            if found is not None:
                return found
        for start in self._seek_candidates(i):
            self._start_at(start)
            found = self._decode_to(i, passed)
            if found is not None:
                return found
        raise MediaError(f"frame {i} of {self.info.path} did not decode although the probe saw it: the file "
                         "changed since it was probed; delete the workspace's probe.json and retry")

    def keyframe_before(self, i: int) -> int:
        pos = bisect.bisect_right(self._keyframes, i)
        return self._keyframes[pos - 1] if pos else 0

    def _seek_candidates(self, i: int) -> list[int]:
        """Keyframes at or before ``i``, nearest first, then 0 (= decode from the very start)."""
        if not self.info.seekable:
            return [0]
        pos = bisect.bisect_right(self._keyframes, i)
        nearest = self._keyframes[max(0, pos - 3):pos][::-1]
        return [k for k in nearest if k > 0] + [0]

    def _start_at(self, start: int) -> None:
        """Seek to keyframe ``start`` (0: reopen and decode from the beginning)."""
        if start == 0 or self._container is None or self._stream is None:
            self.close()
            self._container = open_container(self.info.path)
            self._stream = video_stream(self._container, self.info.path, self._thread_type)
            if start == 0:
                self._frames, self._next = self._counted(self._stream), 0
                return
        stream = self._stream
        target = self.info.stamps[start]
        try:  # the container's index knows frames by the decoder's stamps, not by corrected ones
            self._container.seek(self.info.pts[start] if target is None else target, stream=stream, backward=True)
        except av.error.FFmpegError as exc:
            log.debug("seek to frame %d failed (%s); decoding from the start", start, exc)
            self._start_at(0)
            return
        self._frames, self._next = self._found(stream), 0

    def _counted(self, stream: av.video.stream.VideoStream) -> Iterator[tuple[int, av.VideoFrame]]:
        """Decoded frames from the very start, named by counting (the probe saw them in this order)."""
        assert self._container is not None
        yield from enumerate(decode_video(self._container, stream))

    def _found(self, stream: av.video.stream.VideoStream) -> Iterator[tuple[int, av.VideoFrame]]:
        """Decoded frames after a seek with their display index, from the first keyframe recognised on."""
        assert self._container is not None
        keyset = set(self._keyframes)
        index: int | None = None
        for frame in decode_video(self._container, stream):
            stamp = frame.pts if frame.pts is not None else frame.dts
            named = self._finder.anchor(None if stamp is None else int(stamp))
            if index is None:
                if named is None or not (frame.key_frame or named in keyset):
                    continue
                index = named
            else:
                index = named if named is not None else index + 1
            yield index, frame

    def _decode_to(self, i: int, passed: Callable[[int, av.VideoFrame], None] | None = None
                   ) -> av.VideoFrame | None:
        """Decode forward to frame ``i``; None if the decode passed or ended without producing it."""
        assert self._frames is not None
        for index, frame in self._frames:
            self._next = index + 1
            if index == i:
                return frame
            if index > i:
                break
            if passed is not None:
                passed(index, frame)
        self._frames, self._next = None, None
        return None


class FrameReader:
    """Frames of one video or image folder by display index. See the module docstring.

    Returned arrays are read-only (they may be shared with the cache): copy before drawing on them.
    """

    def __init__(self, path: Path, info: VideoInfo | None = None, cache_bytes: int = DEFAULT_CACHE_BYTES):
        self.info = info if info is not None else probe(Path(path))
        self._cache = _ByteLRU(cache_bytes)
        self._decoder: _VideoDecoder | None = None
        self._random: _VideoDecoder | None = None
        if self.info.kind == "video":  # one finder for both: building it walks every frame's stamp
            finder = FrameFinder(self.info.stamps)
            self._decoder = _VideoDecoder(self.info, finder)
            self._random = _VideoDecoder(self.info, finder, "SLICE")

    def __len__(self) -> int:
        return self.info.frame_count

    def __enter__(self) -> FrameReader:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Release the decoder and the cache."""
        for decoder in (self._decoder, self._random):
            if decoder is not None:
                decoder.close()
        self._cache = _ByteLRU(self._cache.capacity)

    @property
    def cache_nbytes(self) -> int:
        """Bytes currently held by the frame cache (never more than ``cache_bytes``)."""
        return self._cache.nbytes

    @property
    def cache_len(self) -> int:
        return len(self._cache)

    def video_frames(self, start: int = 0, stop: int | None = None) -> Iterator[tuple[int, av.VideoFrame]]:
        """``(i, decoded frame)`` in display order, as stored (not rotated), for ``start <= i < stop``.

        For consumers that convert frames themselves (the export keeps the coded orientation and writes
        the display matrix). Videos only; frames read here are not cached.
        """
        if self._decoder is None:
            raise TypeError(f"{self.info.path} is an image folder: read it with iter()")
        stop = len(self) if stop is None else min(stop, len(self))
        for i in range(start, stop):
            yield i, self._decoder.frame(self._check(i))

    def get(self, i: int) -> np.ndarray:
        """Frame ``i`` as read-only uint8 RGB (H, W, 3); cached."""
        i = self._check(i)
        frame = self._cache.get(i)
        if frame is None:
            frame = self._read(i, keep_behind=True)
            self._cache.put(i, frame)
        return frame

    def iter(self, start: int | None = None, stop: int | None = None, step: int = 1
             ) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(i, frame)`` for ``i`` in ``range(start, stop, step)`` (no negative indexing).

        Defaults cover the whole video in the direction of ``step``: forward from 0, or (step < 0)
        backward from the last frame down to frame 0. Frames read here are not added to the cache.
        """
        if step == 0:
            raise ValueError("step must not be 0")
        n = len(self)
        if start is None:
            start = 0 if step > 0 else n - 1
        if stop is None:
            stop = n if step > 0 else -1
        indices = range(start, max(-1, min(stop, n)) if step < 0 else min(stop, n), step)
        if indices:
            self._check(indices[0])
        if step > 0 or self._decoder is None:
            for i in indices:
                cached = self._cache.get(i)
                yield i, cached if cached is not None else self._read(i)
            return
        yield from self._backward(list(indices))

    def _backward(self, indices: list[int]) -> Iterator[tuple[int, np.ndarray]]:
        """Descending ``indices`` in chunks: decode keyframe -> chunk top once, yield in reverse."""
        frame_bytes = self.info.width * self.info.height * 3
        per_chunk = max(1, max(self._cache.capacity // 2, _MIN_CHUNK_BYTES) // frame_bytes)
        pos = 0
        while pos < len(indices):
            floor = self._decoder.keyframe_before(indices[pos]) if self._decoder is not None else 0
            chunk = [i for i in indices[pos:pos + per_chunk] if i >= floor]  # descending, one GOP at most
            frames = {}
            for i in reversed(chunk):  # ascending: sequential decode from the keyframe before chunk[-1]
                cached = self._cache.get(i)
                frames[i] = cached if cached is not None else self._read(i)
            for i in chunk:
                yield i, frames.pop(i)
            pos += len(chunk)

    def _check(self, i: int) -> int:
        if not isinstance(i, (int, np.integer)) or not 0 <= i < len(self):
            raise IndexError(f"frame {i} is out of range: {self.info.path} has frames 0-{len(self) - 1}")
        return int(i)

    def _read(self, i: int, keep_behind: bool = False) -> np.ndarray:
        """Decode frame ``i``; with ``keep_behind``, cache the few frames before it decoded after a seek.

        Stepping backward one frame at a time (scrubbing) would otherwise decode from the keyframe on
        every step; caching the last :data:`KEEP_BEHIND` frames passed makes most of those steps free.
        """
        if self._decoder is None:
            frame = read_image_rgb(Path(self.info.path) / self.info.files[i])
            if frame.shape[:2] != (self.info.height, self.info.width):
                raise MediaError(f"frame image {self.info.files[i]} in {self.info.path} changed size since "
                                 "the folder was probed: all frames must have the same size")
            frame.setflags(write=False)
        else:
            def keep(index: int, passed: av.VideoFrame) -> None:
                if index >= i - KEEP_BEHIND and self._cache.get(index) is None:
                    self._cache.put(index, self._to_rgb(passed))

            if keep_behind:  # a random read (get)
                assert self._random is not None
                frame = self._to_rgb(self._random.frame(i, keep))
            else:
                frame = self._to_rgb(self._decoder.frame(i))
        return frame

    def _to_rgb(self, frame: av.VideoFrame) -> np.ndarray:
        """RGB uint8 in display orientation, read-only (it may be shared with the cache)."""
        rgb = frame.to_ndarray(format="rgb24")
        if self.info.rotation:
            rgb = np.ascontiguousarray(np.rot90(rgb, k=-self.info.rotation // 90))
        rgb.setflags(write=False)
        return rgb


def open_frames(path: Path, info: VideoInfo | None = None, cache_bytes: int = DEFAULT_CACHE_BYTES
                ) -> FrameReader:
    """A :class:`FrameReader` for ``path`` (probed now unless ``info`` is given); use it as a context manager."""
    return FrameReader(path, info=info, cache_bytes=cache_bytes)
