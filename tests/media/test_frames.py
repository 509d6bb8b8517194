from __future__ import annotations

import random

import av
import cv2
import numpy as np
import pytest

import xmem_tui.media.frames as frames_module
from xmem_tui.errors import MediaError
from xmem_tui.media.frames import open_frames
from xmem_tui.media.probe import probe
from xmem_tui.media.synthetic import SceneSpec, render_scene, write_clip


def _sequential(path, info=None):
    with open_frames(path, info) as reader:
        return [(i, f.copy()) for i, f in reader.iter()]


def test_random_access_matches_sequential_for_every_frame(clip):
    kind, path, _ = clip
    info = probe(path)
    seq = _sequential(path, info)
    assert [i for i, _ in seq] == list(range(info.frame_count))
    order = list(range(info.frame_count))
    random.Random(kind).shuffle(order)
    with open_frames(path, info, cache_bytes=0) as reader:
        for i in order:
            np.testing.assert_array_equal(reader.get(i), seq[i][1], err_msg=f"{kind} frame {i}")


def test_frames_show_the_scene_upright(clip):
    """Decoded frames resemble the rendered ones (lossy codec) and not a rotated or shifted neighbour."""
    kind, path, written = clip
    with open_frames(path) as reader:
        for i in (0, 13, len(reader) - 1):
            frame = reader.get(i).astype(np.float32)
            assert frame.shape == written.frames[i].shape
            own = np.abs(frame - written.frames[i]).mean()
            other = np.abs(frame - written.frames[(i + 7) % len(reader)]).mean()
            assert own < 12 and own < other / 2, (kind, i, own, other)


def test_backward_and_strided_iteration(clip):
    kind, path, _ = clip
    seq = _sequential(path)
    with open_frames(path, cache_bytes=0) as reader:
        back = list(reader.iter(step=-1))
        assert [i for i, _ in back] == list(range(len(seq) - 1, -1, -1))
        for i, frame in back:
            np.testing.assert_array_equal(frame, seq[i][1], err_msg=f"{kind} backward {i}")
        assert [i for i, _ in reader.iter(20, 3, -3)] == list(range(20, 3, -3))
        for i, frame in reader.iter(2, None, 5):
            np.testing.assert_array_equal(frame, seq[i][1])
        assert list(reader.iter(5, 5)) == []


def test_backward_in_small_chunks_matches(clips, monkeypatch):
    path, _ = clips["vfr"]
    seq = _sequential(path)
    monkeypatch.setattr(frames_module, "_MIN_CHUNK_BYTES", 160 * 96 * 3 * 3)  # 3-frame chunks
    with open_frames(path, cache_bytes=0) as reader:
        back = list(reader.iter(step=-1))
    assert [i for i, _ in back] == list(range(len(seq) - 1, -1, -1))
    for i, frame in back:
        np.testing.assert_array_equal(frame, seq[i][1])


def test_lru_cache_respects_byte_bound(clips):
    path, _ = clips["cfr"]
    frame_bytes = 96 * 160 * 3
    with open_frames(path, cache_bytes=int(frame_bytes * 4.5)) as reader:
        for i in (3, 9, 1, 20, 25, 7, 14):
            reader.get(i)
            assert reader.cache_nbytes <= frame_bytes * 4.5
        assert reader.cache_len == 4
        first = reader.get(14)
        assert reader.get(14) is first  # served from the cache
        assert not first.flags.writeable


def test_index_errors(clips):
    with open_frames(clips["cfr"][0]) as reader:
        with pytest.raises(IndexError):
            reader.get(len(reader))
        with pytest.raises(IndexError):
            reader.get(-1)
        with pytest.raises(ValueError):
            list(reader.iter(step=0))


def test_image_folder_frames_natural_order(tmp_path):
    frames, _ = render_scene(SceneSpec(n_frames=11, seed=9))
    for i, frame in enumerate(frames):  # unpadded names: 10.png must come after 9.png
        cv2.imwrite(str(tmp_path / f"f{i}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    with open_frames(tmp_path) as reader:
        assert len(reader) == 11
        for i in (0, 2, 10):
            np.testing.assert_array_equal(reader.get(i), frames[i])
        assert [i for i, _ in reader.iter(step=-1)] == list(range(10, -1, -1))


def test_image_folder_changed_after_probe(tmp_path):
    cv2.imwrite(str(tmp_path / "0.png"), np.zeros((10, 12, 3), np.uint8))
    info = probe(tmp_path)
    cv2.imwrite(str(tmp_path / "0.png"), np.zeros((11, 12, 3), np.uint8))
    with open_frames(tmp_path, info) as reader, pytest.raises(MediaError, match="changed size"):
        reader.get(0)


def test_real_judo_frames(media_dir):
    folder = media_dir / "judo" / "JPEGImages"
    with open_frames(folder) as reader:
        frame = reader.get(5)
        assert frame.shape == (480, 854, 3) and frame.dtype == np.uint8
        expected = cv2.cvtColor(cv2.imread(str(folder / "00005.jpg")), cv2.COLOR_BGR2RGB)
        np.testing.assert_array_equal(frame, expected)


def test_real_bigbuckbunny_random_access(media_dir):
    path = media_dir / "bigbuckbunny_720p_25fps_aac.mp4"
    info = probe(path)
    with open_frames(path, info, cache_bytes=0) as reader:
        wanted = {0, 1, 37, 64, 100, 131}
        seq = {i: f.copy() for i, f in reader.iter() if i in wanted}
        assert len(seq) == len(wanted) and seq[0].shape == (720, 1280, 3)
        for i in (131, 37, 100, 0, 64, 1):
            np.testing.assert_array_equal(reader.get(i), seq[i])
        back = {i: f for i, f in reader.iter(131, 99, -1)}
        np.testing.assert_array_equal(back[100], seq[100])
        np.testing.assert_array_equal(back[131], seq[131])


@pytest.mark.parametrize(("codec", "options"), [
    ("libx264", {"x264-params": "open-gop=1:bframes=3:b-pyramid=normal:scenecut=0"}),
    ("mpeg4", {"bf": "2"}),
])
def test_frame_exact_with_b_frames_and_open_gop(tmp_path, codec, options):
    path = tmp_path / f"{codec}.mp4"
    written = write_clip(path, SceneSpec(n_frames=26, seed=5), vfr=True, gop=6, codec=codec, options=options)
    info = probe(path)
    assert list(info.pts) == written.pts
    seq = _sequential(path, info)
    with open_frames(path, info, cache_bytes=0) as reader:
        for i in random.Random(1).sample(range(26), 26):
            np.testing.assert_array_equal(reader.get(i), seq[i][1], err_msg=f"{codec} frame {i}")
        for i, frame in reader.iter(step=-1):
            np.testing.assert_array_equal(frame, seq[i][1])


def test_video_stream_after_audio_stream(clips, tmp_path):
    """Stream 0 is audio: the reader must still seek in the video stream."""
    src_path, _ = clips["audio"]
    path = tmp_path / "audio_first.mkv"
    with av.open(str(src_path)) as src, av.open(str(path), "w") as out:
        a_in, v_in = src.streams.audio[0], src.streams.video[0]
        a_out = out.add_stream_from_template(a_in)
        v_out = out.add_stream_from_template(v_in)
        for packet in src.demux(v_in, a_in):
            if packet.dts is None:
                continue
            packet.stream = a_out if packet.stream.type == "audio" else v_out
            out.mux(packet)
    info = probe(path)
    assert info.stream_index == 1 and info.frame_count == 30
    seq = _sequential(path, info)
    with open_frames(path, info, cache_bytes=0) as reader:
        for i in (29, 3, 17, 9):
            np.testing.assert_array_equal(reader.get(i), seq[i][1])


def test_frames_passed_after_a_seek_are_kept_for_scrubbing(clips):
    path, _ = clips["vfr"]
    info = probe(path)
    seq = _sequential(path, info)
    target = 22
    keyframe = max(k for k in info.keyframes if k <= target)
    with open_frames(path, info) as reader:
        reader.get(target)
        kept = target - max(keyframe, target - frames_module.KEEP_BEHIND)
        assert reader.cache_len == 1 + kept
        for i in range(target, target - kept - 1, -1):  # stepping back: served from the cache
            np.testing.assert_array_equal(reader.get(i), seq[i][1])
        assert reader.cache_len == 1 + kept


def test_raw_stream_without_timestamps_is_read_by_counting(tmp_path):
    """A raw H.264 stream has no timestamps: the probe synthesises them and the reader counts frames."""
    path = tmp_path / "raw.h264"
    write_clip(path, SceneSpec(n_frames=20, seed=8), gop=5)
    info = probe(path)
    assert info.frame_count == 20 and not info.seekable
    assert any("no timestamp" in w for w in info.warnings)
    assert not info.vfr and info.avg_fps == pytest.approx(info.nominal_fps)
    seq = _sequential(path, info)
    with open_frames(path, info, cache_bytes=0) as reader:
        for i in (15, 3, 19, 0, 7):
            np.testing.assert_array_equal(reader.get(i), seq[i][1])
        for i, frame in reader.iter(step=-1):
            np.testing.assert_array_equal(frame, seq[i][1])
