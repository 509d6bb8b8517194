"""VideoEncoder: exact timestamps in the source time base, rotation, colour tags and audio in sync."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from xmem_tui.errors import MediaError
from xmem_tui.media.encode import ColorTags, VideoEncoder, VideoSpec, container_format
from xmem_tui.media.synthetic import SceneSpec, write_clip
from xmem_tui.media.timeline import rescale

TB = Fraction(1, 90000)
PTS = [3003, 6006, 7507, 12012, 13513, 15015, 21021, 24024, 25525, 30030]  # irregular, starts late


def _write(path: Path, codec: str = "libx264", pix_fmt: str = "yuv420p", fmt: str = "rgb24", **kw: object
           ) -> VideoEncoder:
    spec = VideoSpec(codec=codec, pix_fmt=pix_fmt, width=64, height=48, time_base=TB, input_format=fmt,
                     options={"preset": "ultrafast"} if codec == "libx264" else {}, **kw)  # type: ignore[arg-type]
    channels = {"rgb24": 3, "rgba": 4, "gray": 1}[fmt]
    with VideoEncoder(path, spec) as enc:
        for p in PTS:
            image = np.full((48, 64, channels), p % 251, np.uint8).squeeze()
            enc.write(image, p, 750)
    return enc


def _read(path: Path) -> tuple[Fraction, list[int], av.VideoFrame]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))
        return stream.time_base, [f.pts for f in frames], frames[0]


@pytest.mark.parametrize(("name", "codec", "pix_fmt", "fmt"), [
    ("a.mp4", "libx264", "yuv420p", "rgb24"),
    ("a.mov", "prores_ks", "yuva444p10le", "rgba"),
])
def test_exact_vfr_timestamps_in_the_source_time_base(tmp_path: Path, name: str, codec: str, pix_fmt: str,
                                                      fmt: str) -> None:
    _write(tmp_path / name, codec, pix_fmt, fmt)
    tb, pts, _ = _read(tmp_path / name)
    assert tb == TB and pts == PTS  # including the late start, which MP4's edit list would otherwise round


@pytest.mark.parametrize("name", ["a.mkv", "a.webm"])
def test_matroska_rounds_to_milliseconds(tmp_path: Path, name: str) -> None:
    codec, pix_fmt, fmt = ("ffv1", "gray", "gray") if name.endswith("mkv") else ("libvpx-vp9", "yuva420p", "rgba")
    _write(tmp_path / name, codec, pix_fmt, fmt)
    tb, pts, _ = _read(tmp_path / name)
    assert tb == Fraction(1, 1000)
    assert pts == [round(Fraction(p) * TB * 1000) for p in PTS]


def test_rotation_and_colour_tags_are_carried(tmp_path: Path) -> None:
    color = ColorTags(range=1, primaries=1, trc=1, space=1)
    _write(tmp_path / "r.mp4", rotation=-90, color=color)
    _, _, first = _read(tmp_path / "r.mp4")
    assert first.rotation == -90
    assert ColorTags.of_frame(first) == color


def test_rescale_rounds_like_ffmpeg() -> None:
    assert rescale(1, Fraction(1, 2), Fraction(1, 1)) == 1  # half away from zero
    assert rescale(-1, Fraction(1, 2), Fraction(1, 1)) == -1
    assert rescale(3003, TB, Fraction(1, 1000)) == 33
    with pytest.raises(MediaError):
        container_format(Path("x.avi"))


@pytest.fixture(scope="module")
def with_audio(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[int], Fraction]:
    path = tmp_path_factory.mktemp("enc") / "audio.mp4"
    clip = write_clip(path, SceneSpec(height=48, width=64, n_frames=12), vfr=True, audio=True)
    return path, clip.pts, clip.time_base


def _first_audio(path: Path) -> Fraction:
    with av.open(str(path)) as container:
        frame = next(container.decode(container.streams.audio[0]))
        return frame.pts * frame.time_base


@pytest.mark.parametrize(("name", "mode", "codec"), [("o.mp4", "copy", "aac"), ("o.mov", "copy", "aac"),
                                                     ("o.webm", "encode", "opus"), ("o.mkv", "encode", "flac")])
def test_audio_copied_or_reencoded_in_sync(tmp_path: Path, with_audio: tuple[Path, list[int], Fraction],
                                           name: str, mode: str, codec: str) -> None:
    source, pts, tb = with_audio
    encoder, pix_fmt, fmt = {".mp4": ("libx264", "yuv420p", "rgb24"), ".mov": ("prores_ks", "yuva444p10le", "rgba"),
                             ".webm": ("libvpx-vp9", "yuva420p", "rgba"), ".mkv": ("ffv1", "gray", "gray")}[
        Path(name).suffix]
    spec = VideoSpec(codec=encoder, pix_fmt=pix_fmt, width=64, height=48, time_base=tb, input_format=fmt)
    channels = {"rgb24": 3, "rgba": 4, "gray": 1}[fmt]
    with VideoEncoder(tmp_path / name, spec, audio_from=source) as enc:
        for p in pts:
            enc.write(np.zeros((48, 64, channels), np.uint8).squeeze(), p)
    assert enc.audio_mode == mode
    out_tb, out_pts, _ = _read(tmp_path / name)
    assert [p * out_tb for p in out_pts] == [rescale(p, tb, out_tb) * out_tb for p in pts]  # video never shifted
    with av.open(str(tmp_path / name)) as container:
        assert container.streams.audio[0].codec_context.name == codec
    assert abs(_first_audio(tmp_path / name) - _first_audio(source)) <= Fraction(1, 1000)
