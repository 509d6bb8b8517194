"""Files as users bring them: B-frames labelled in storage order (DivX AVI), frames before time zero,
truncated downloads, pipes and devices, and a probe cache someone else wrote."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import av
import numpy as np
import pytest

import xmem_tui.media.frames as frames_module
from xmem_tui.errors import MediaError
from xmem_tui.media.conformance import case, write_case
from xmem_tui.media.frames import open_frames
from xmem_tui.media.probe import CACHE_NAME, probe
from xmem_tui.media.synthetic import SceneSpec, write_clip


@pytest.fixture(scope="module")
def packed(tmp_path_factory: pytest.TempPathFactory):
    """A DivX-style AVI: MPEG-4 Part 2, packed B-frames, AC-3, 2997/125 fps."""
    return write_case(case("avi_mpeg4_packed_ac3"), tmp_path_factory.mktemp("packed"))


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    decoded = [0]
    real = frames_module.decode_video

    def counted(*args, **kwargs):
        for frame in real(*args, **kwargs):
            decoded[0] += 1
            yield frame

    monkeypatch.setattr(frames_module, "decode_video", counted)
    return decoded


def test_storage_order_labels_become_the_presentation_timeline(packed) -> None:
    info = probe(packed.path)
    assert list(info.decoded_pts) != sorted(info.decoded_pts)  # the decoder really hands them out permuted
    assert sorted(info.decoded_pts) == list(info.pts)
    assert info.frame_count == 16 and not info.vfr and info.seekable
    assert info.avg_fps == pytest.approx(2997 / 125, rel=1e-3)
    start = info.timestamps_s[0]
    assert [t - start for t in info.timestamps_s] == pytest.approx([float(t) for t in packed.times], abs=1e-9)
    assert any("out of order" in w for w in info.warnings)


def test_random_access_in_the_permuted_avi_seeks_instead_of_decoding_from_the_start(packed, monkeypatch) -> None:
    info = probe(packed.path)
    with open_frames(packed.path, info, cache_bytes=0) as reader:
        sequential = [frame.copy() for _, frame in reader.iter()]
    for i, frame in enumerate(sequential):  # display order: frame i shows scene frame i
        assert np.abs(frame.astype(int) - packed.frames[i].astype(int)).mean() < 12, i
    decoded = _counting(monkeypatch)
    last = info.frame_count - 1
    with open_frames(packed.path, info, cache_bytes=0) as reader:
        for i in (last, 3, 9, 0, 12):
            np.testing.assert_array_equal(reader.get(i), sequential[i])
        key = max(k for k in info.keyframes if k <= last)
        decoded[0] = 0
        reader.get(last)
        assert key > 0 and decoded[0] <= last - key + 3  # from the keyframe before it, not from frame 0
        for i, frame in reader.iter(step=-1):
            np.testing.assert_array_equal(frame, sequential[i])


def test_frames_before_time_zero_keep_their_place(tmp_path: Path) -> None:
    """Matroska hands frames with negative times out without a timestamp: they count back from zero."""
    written = write_case(case("mkv_h264_negative_start"), tmp_path)
    info = probe(written.path)
    assert info.frame_count == len(written.times)
    assert info.timestamps_s == pytest.approx([float(t) for t in written.times], abs=0.001)
    assert info.timestamps_s[0] < 0 and any("no timestamp" in w for w in info.warnings)


def test_truncated_front_indexed_mp4_with_b_frames_keeps_every_whole_frame(tmp_path: Path) -> None:
    """The cut-off last packet is never decoded, so frame threads lose nothing while draining."""
    full = tmp_path / "full.mp4"
    write_clip(full, SceneSpec(n_frames=48), gop=12)  # x264 veryfast: B-frames
    fast = tmp_path / "fast.mp4"
    with av.open(str(full)) as src, av.open(str(fast), "w", options={"movflags": "faststart"}) as out:
        vin = src.streams.video[0]
        vout = out.add_stream_from_template(vin)
        for packet in src.demux(vin):
            if packet.dts is not None:
                packet.stream = vout
                out.mux(packet)
    data = fast.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    with av.open(str(cut)) as container:
        stream = container.streams.video[0]
        whole = sum(1 for p in container.demux(stream) if p.size and not p.is_corrupt)
    info = probe(cut)
    assert info.frame_count == whole  # one frame per whole packet
    assert info.lost_frames == 48 - whole
    assert any(f"{48 - whole} frames are lost" in w for w in info.warnings)
    assert list(info.pts) == list(probe(fast).pts[:whole])
    with open_frames(cut, info, cache_bytes=0) as reader:
        assert sum(1 for _ in reader.iter()) == whole


@pytest.mark.timeout(20)
def test_a_fifo_is_refused_without_being_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "clip.mp4"
    os.mkfifo(fifo)  # opening it for reading would block until a writer comes
    started = time.monotonic()
    with pytest.raises(MediaError, match=r"clip\.mp4 is a FIFO") as err:
        probe(fifo)
    assert time.monotonic() - started < 5 and "\n" not in str(err.value)
    with pytest.raises(MediaError, match="FIFO"):
        open_frames(fifo, info=None)


def test_a_device_is_refused() -> None:
    with pytest.raises(MediaError, match="character device"):
        probe(Path("/dev/zero"))


@pytest.mark.parametrize("cache", [
    [1, 2, 3],
    {"version": 2, "entries": [1, 2]},
    {"version": 2, "entries": "x"},
    {"version": 2, "entries": {"KEY": [1, 2]}},
    {"version": 2, "entries": {"KEY": "text"}},
    {"version": 2, "entries": {"KEY": {"pts": "abc"}}},
    {"version": 2, "entries": {"KEY": "FULL", "pts": 7}},
    {"version": 2, "entries": {"KEY": "FULL", "time_base": [1, 2]}},
    {"version": 2, "entries": {"KEY": "FULL", "audio": [1]}},
    {"version": 2, "entries": {"KEY": "FULL", "pts": [0, "1"]}},
    {"version": 2, "entries": {"KEY": "FULL", "color": ["bt709"]}},
    {"version": 2, "entries": {"KEY": "FULL", "width": "96"}},
])
def test_a_probe_cache_of_the_wrong_shape_is_a_miss(cache, tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    write_clip(clip, SceneSpec(n_frames=6), gop=3)
    good = probe(clip, cache_dir=tmp_path)
    key = next(iter(json.loads((tmp_path / CACHE_NAME).read_text())["entries"]))
    text = json.dumps(cache)
    if "FULL" in text:
        entry = {**good.to_json(), **{k: v for k, v in cache["entries"].items() if k != "KEY"}}
        text = json.dumps({"version": 2, "entries": {key: entry}})
    (tmp_path / CACHE_NAME).write_text(text.replace('"KEY"', json.dumps(key)))
    again = probe(clip, cache_dir=tmp_path)
    assert again == good  # every field: a bad entry taken as a hit would differ somewhere (colour, width, ...)
    assert probe(clip, cache_dir=tmp_path) == again  # the cache was written anew and now answers
