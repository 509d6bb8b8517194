from __future__ import annotations

import os
import shutil
from fractions import Fraction

import av
import numpy as np
import pytest

from tests.media_faults import audio_only, zero_frames
from xmem_tui.errors import MediaError
from xmem_tui.media import probe_video as probe_video_module
from xmem_tui.media.frames import open_frames
from xmem_tui.media.info import VideoInfo
from xmem_tui.media.probe import is_cached, probe
from xmem_tui.media.synthetic import SceneSpec, render_scene, write_clip

REQUIRED_JSON = {"frame_count", "width", "height", "avg_fps", "vfr", "duration_s", "has_audio", "timestamps_s",
                 "pts", "time_base", "rotation", "nominal_fps", "audio", "codec", "container", "keyframes"}


def test_probed_timestamps_equal_written(clip, clip_spec):
    kind, path, written = clip
    info = probe(path)
    assert info.kind == "video" and info.codec == "h264"
    assert list(info.pts) == written.pts
    assert info.time_base == written.time_base
    assert info.timestamps_s == pytest.approx(written.timestamps_s, abs=0)
    assert info.frame_count == clip_spec.n_frames
    assert (info.width, info.height) == (clip_spec.width, clip_spec.height)  # displayed size, rotation applied
    assert info.rotation == {"rot90": 90, "rot270_vfr": 270}.get(kind, 0)
    assert info.vfr == ("vfr" in kind)
    assert info.has_audio == (kind == "audio")
    assert info.keyframes[0] == 0 and len(info.keyframes) >= 3  # gop 8 over 30 frames
    assert info.pix_fmt == "yuv420p"


def test_cfr_rates_and_duration(clips):
    info = probe(clips["cfr"][0])
    assert info.avg_fps == pytest.approx(24.0)
    assert info.nominal_fps == pytest.approx(24.0)
    assert info.duration_s == pytest.approx(30 / 24)


def test_vfr_rates_come_from_timestamps(clips):
    path, written = clips["vfr"]
    info = probe(path)
    span = written.timestamps_s[-1] - written.timestamps_s[0]
    assert info.duration_s > span
    assert info.avg_fps == pytest.approx(info.frame_count / info.duration_s)
    deltas = np.diff(info.timestamps_s)
    assert deltas.min() == pytest.approx(1 / 60) and np.isclose(deltas, 1 / 24).any()


def test_audio_stream_described(clips):
    info = probe(clips["audio"][0])
    (audio,) = info.audio
    assert audio.codec == "aac" and audio.sample_rate == 48000 and audio.channels == 2
    assert audio.start_time_s is not None and abs(audio.start_time_s) < 0.1


def test_to_json_roundtrip(clips, clip_spec):
    info = probe(clips["rot270_vfr"][0])
    data = info.to_json()
    assert set(data) >= REQUIRED_JSON
    assert data["vfr"] is True and data["frame_count"] == len(data["timestamps_s"]) == clip_spec.n_frames
    assert VideoInfo.from_json(data) == info


def test_cache_avoids_second_decode_and_notices_changes(clips, tmp_path, monkeypatch):
    src = tmp_path / "v.mp4"
    shutil.copy(clips["cfr"][0], src)
    cache = tmp_path / "ws"
    first = probe(src, cache_dir=cache)
    assert (cache / "probe.json").is_file() and is_cached(src, cache)

    def no_decode(path):
        raise AssertionError("decoded again although cached")

    monkeypatch.setattr(probe_video_module, "probe_video", no_decode)
    assert probe(src, cache_dir=cache) == first
    stat = src.stat()
    os.utime(src, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert not is_cached(src, cache)
    with pytest.raises(AssertionError, match="decoded again"):
        probe(src, cache_dir=cache)


def test_damaged_cache_is_ignored(clips, tmp_path, clip_spec):
    cache = tmp_path / "ws"
    cache.mkdir()
    (cache / "probe.json").write_text("{not json")
    assert probe(clips["cfr"][0], cache_dir=cache).frame_count == clip_spec.n_frames


def test_other_container_mkv(tmp_path):
    written = write_clip(tmp_path / "c.mkv", SceneSpec(n_frames=12), vfr=True)
    info = probe(tmp_path / "c.mkv")
    assert info.time_base == Fraction(1, 1000) and list(info.pts) == written.pts and info.vfr


# ------------------------------------------------------------------ image folders
def test_image_folder_natural_sort(tmp_path):
    frames, _ = render_scene(SceneSpec(n_frames=12, seed=2))
    folder = tmp_path / "frames"
    folder.mkdir()
    import cv2

    for i, frame in enumerate(frames):
        cv2.imwrite(str(folder / f"{i + 1}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    (folder / "notes.txt").write_text("ignored")
    info = probe(folder, image_fps=10)
    assert info.kind == "images" and info.frame_count == 12
    assert info.files[:3] == ("1.png", "2.png", "3.png") and info.files[-1] == "12.png"
    assert info.timestamps_s[5] == pytest.approx(0.5) and info.avg_fps == pytest.approx(10)
    assert (info.width, info.height) == (160, 96) and not info.vfr and not info.has_audio


def test_real_judo_folder(media_dir):
    info = probe(media_dir / "judo" / "JPEGImages")
    assert (info.frame_count, info.width, info.height) == (16, 854, 480)
    assert info.nominal_fps == 24 and info.files[0] == "00000.jpg" and info.files[-1] == "00015.jpg"


def test_real_bigbuckbunny(media_dir):
    info = probe(media_dir / "bigbuckbunny_720p_25fps_aac.mp4")
    assert (info.frame_count, info.width, info.height) == (132, 1280, 720)
    assert info.avg_fps == pytest.approx(25.0) and not info.vfr and info.has_audio
    assert info.audio[0].codec == "aac"
    assert info.timestamps_s[1] == pytest.approx(0.04)


# ------------------------------------------------------------------ bad inputs
def test_missing_file(tmp_path):
    with pytest.raises(MediaError, match="does not exist"):
        probe(tmp_path / "nope.mp4")


def test_text_file_named_mp4(tmp_path):
    path = tmp_path / "fake.mp4"
    path.write_text("this is not a video\n" * 50)
    with pytest.raises(MediaError) as err:
        probe(path)
    assert "fake.mp4" in str(err.value) and "\n" not in str(err.value)


def test_truncated_mp4_without_index(clips, tmp_path):
    data = clips["cfr"][0].read_bytes()
    path = tmp_path / "cut.mp4"
    path.write_bytes(data[: len(data) // 2])  # the index (moov) is written last: it is gone
    with pytest.raises(MediaError, match=r"cut\.mp4"):
        probe(path)


def test_truncated_mkv_keeps_what_decodes(tmp_path):
    full = tmp_path / "full.mkv"
    write_clip(full, SceneSpec(n_frames=30), gop=5)
    data = full.read_bytes()
    path = tmp_path / "cut.mkv"
    path.write_bytes(data[: int(len(data) * 0.6)])
    info = probe(path)
    assert 5 <= info.frame_count < 30
    assert list(info.pts) == list(probe(full).pts[: info.frame_count])


def test_zero_frame_video(tmp_path):
    path = zero_frames(tmp_path / "empty.mp4")
    with pytest.raises(MediaError, match=r"empty\.mp4"):
        probe(path)


def test_audio_only_file(tmp_path):
    path = audio_only(tmp_path / "sound.m4a")
    with pytest.raises(MediaError, match="no video stream"):
        probe(path)


def test_folder_without_images(tmp_path):
    (tmp_path / "readme.txt").write_text("x")
    with pytest.raises(MediaError, match="no JPEG or PNG"):
        probe(tmp_path)


def test_folder_with_mixed_sizes(tmp_path):
    import cv2

    cv2.imwrite(str(tmp_path / "0.png"), np.zeros((10, 12, 3), np.uint8))
    cv2.imwrite(str(tmp_path / "1.png"), np.zeros((10, 14, 3), np.uint8))
    with pytest.raises(MediaError, match=r"1\.png"):
        probe(tmp_path)


def test_vfr_derived_from_real_clip(media_dir, tmp_path):
    """Drop frames of a real clip irregularly, keep each kept frame's timestamp: the probe sees VFR."""
    src = media_dir / "bigbuckbunny_720p_25fps_aac.mp4"
    keep = [i for i in range(132) if i % 7 not in (2, 3) and i % 11 != 5]
    kept_pts = []
    out_path = tmp_path / "dropped.mp4"
    with av.open(str(src)) as source, av.open(str(out_path), "w") as out:
        vin = source.streams.video[0]
        vout = out.add_stream("libx264", rate=25)
        vout.width, vout.height, vout.pix_fmt = 320, 180, "yuv420p"
        vout.time_base = vout.codec_context.time_base = vin.time_base
        for i, frame in enumerate(source.decode(vin)):
            if i in keep:
                small = frame.reformat(width=320, height=180, format="yuv420p")
                small.pts, small.time_base = frame.pts, vin.time_base
                kept_pts.append(frame.pts)
                out.mux(vout.encode(small))
        out.mux(vout.encode(None))
    info = probe(out_path)
    assert info.frame_count == len(keep) and info.vfr
    src_tb = probe(src).time_base
    expected = [float(p * src_tb) for p in kept_pts]
    assert info.timestamps_s == pytest.approx(expected, abs=1e-9)
    assert info.avg_fps < 25


def test_truncated_faststart_mp4_header_claims_more(clips, tmp_path):
    """Index up front, data cut off: the header promises 30 frames, fewer decode, and they are used."""
    fast = tmp_path / "fast.mp4"
    with av.open(str(clips["cfr"][0])) as src, av.open(str(fast), "w", options={"movflags": "faststart"}) as out:
        vin = src.streams.video[0]
        vout = out.add_stream_from_template(vin)
        for packet in src.demux(vin):
            if packet.dts is None:
                continue
            packet.stream = vout
            out.mux(packet)
    data = fast.read_bytes()
    cut = tmp_path / "cut_fast.mp4"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    info = probe(cut)
    assert 3 <= info.frame_count < 30
    assert list(info.pts) == list(probe(fast).pts[: info.frame_count])
    assert any("claims 30 frames" in w for w in info.warnings)
    with open_frames(cut, info, cache_bytes=0) as reader:
        seq = [f.copy() for _, f in reader.iter()]
        last = info.frame_count - 1
        np.testing.assert_array_equal(reader.get(last), seq[last])
        np.testing.assert_array_equal(reader.get(1), seq[1])


def test_colour_tags(tmp_path):
    path = tmp_path / "tagged.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        ctx = stream.codec_context
        ctx.color_primaries, ctx.color_trc, ctx.colorspace, ctx.color_range = 1, 1, 1, 1  # BT.709, limited
        for i in range(3):
            frame = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 24)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    assert probe(path).color == {"range": "tv", "primaries": "bt709", "trc": "bt709", "space": "bt709"}
    assert probe(tmp_path / "tagged.mp4").to_json()["color"]["space"] == "bt709"
