"""Where composited frames go: a video file (exact timestamps, audio) or a folder of PNGs.

Sinks write to the temporary path the job gives them; the job renames the result only after the self-check.
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

import av
import cv2
import numpy as np

from xmem_tui.export.codecs import Codec
from xmem_tui.media.color import ColorTags
from xmem_tui.media.encode import VideoEncoder, VideoSpec, to_frame


class Sink(Protocol):
    path: Path

    def prepare(self, image: np.ndarray) -> Any:
        """Turn a composited image into what ``write`` takes (runs on the compositing thread)."""

    def write(self, prepared: Any, pts: int, duration: int | None) -> None: ...

    def close(self) -> None: ...

    def abort(self) -> None: ...


class VideoSink:
    """One video file, created at the first frame (its size, rotation and colour come from the source).

    ``shift`` ticks are added to every timestamp (and the audio moved with them): see
    :class:`~xmem_tui.export.pipeline.SourceTimeline`.
    """

    def __init__(self, path: Path, codec: Codec, input_format: str, options: dict[str, str], *,
                 time_base: Fraction, rotation: int, color: ColorTags | None, rate_hint: Fraction | None,
                 audio_from: Path | None, audio: str, audio_tracks: tuple[int, ...] = (), shift: int = 0) -> None:
        self.path = path
        self._args = (codec, input_format, options, time_base, rotation, color, rate_hint)
        self._audio_from = audio_from
        self._audio = audio
        self._audio_tracks = audio_tracks
        self._shift = shift
        self.encoder: VideoEncoder | None = None
        self.spec: VideoSpec | None = None

    def _spec(self, image: np.ndarray) -> VideoSpec:
        codec, input_format, options, time_base, rotation, color, rate_hint = self._args
        pix_fmt = codec.pix_fmt
        if codec.encoder == "ffv1" and input_format != "gray":
            pix_fmt = "yuv444p"
        if pix_fmt == "gray" and color is not None:
            color = dataclasses.replace(color, range=2)  # a matte is full range (0 and 255), whatever the source
        elif codec.encoder == "prores_ks" and color is not None:
            color = dataclasses.replace(color, range=1)  # ProRes is video range only: convert to it, say so
        return VideoSpec(codec=codec.encoder, pix_fmt=pix_fmt, width=image.shape[1], height=image.shape[0],
                         time_base=time_base, input_format=input_format, options=options, rotation=rotation,
                         color=color, rate_hint=rate_hint, codec_tag=codec.codec_tag)

    def prepare(self, image: np.ndarray) -> av.VideoFrame:
        if self.spec is None:
            self.spec = self._spec(image)
        return to_frame(self.spec, image)

    def write(self, prepared: av.VideoFrame, pts: int, duration: int | None) -> None:
        time_base = self._args[3]
        if self.encoder is None:
            assert self.spec is not None, "prepare() comes first"
            self.encoder = VideoEncoder(self.path, self.spec, audio_from=self._audio_from, audio=self._audio,
                                        audio_tracks=self._audio_tracks, audio_shift=self._shift * time_base)
        self.encoder.write_frame(prepared, pts + self._shift, duration)

    def close(self) -> None:
        if self.encoder is not None:
            self.encoder.close()

    def abort(self) -> None:
        if self.encoder is not None:
            self.encoder.abort()

    @property
    def audio_mode(self) -> str | None:
        return self.encoder.audio_mode if self.encoder else None


class PngSink:
    """A folder of ``00000.png``... (DAVIS layout): RGBA images, or palette index masks when ``palette``.

    Images have no timestamps, so the folder also gets ``timestamps.csv`` (``frame,pts_seconds``: each
    image's presentation time in the source) and a variable frame rate survives the trip to an editor.
    """

    def __init__(self, path: Path, palette: bool, time_base: Fraction = Fraction(1)) -> None:
        self.path = path
        self.palette = palette
        self.time_base = time_base
        self.count = 0
        self.times: list[Fraction] = []
        path.mkdir(parents=True, exist_ok=True)
        self.audio_mode: str | None = None

    def prepare(self, image: np.ndarray) -> np.ndarray:
        return image

    def write(self, image: np.ndarray, pts: int, duration: int | None) -> None:
        target = self.path / f"{self.count:05d}.png"
        if self.palette:
            from xmem_tui.media.masks import write_index_mask

            write_index_mask(target, image)
        else:
            bgra = cv2.cvtColor(image, cv2.COLOR_RGBA2BGRA)
            if not cv2.imwrite(str(target), bgra, [cv2.IMWRITE_PNG_COMPRESSION, 1]):
                raise OSError(f"could not write {target}")
        self.times.append(pts * self.time_base)
        self.count += 1

    def close(self) -> None:
        """Every PNG is complete when ``write`` returns; what is left is the list of their times."""
        lines = ["frame,pts_seconds"] + [f"{i},{format_seconds(t)}" for i, t in enumerate(self.times)]
        (self.path / TIMESTAMPS).write_text("\n".join(lines) + "\n", encoding="utf-8")

    def abort(self) -> None:
        """The job removes the temporary folder."""


TIMESTAMPS = "timestamps.csv"


def format_seconds(t: Fraction) -> str:
    """Seconds with nanosecond precision (exact for every common time base up to 1/1000000)."""
    return f"{float(t):.9f}"
