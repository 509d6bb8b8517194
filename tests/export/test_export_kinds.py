"""Every export kind on CFR, VFR, rotated and with-audio clips: exact timestamps, audio, pixels vs masks."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from PIL import Image

from xmem_tui.media.resize import mask_to_shape

from .export_helpers import CLIPS, SPEC, audio_start, decode, interior, run, seconds, upright

FAST = {"speed": "ultrafast"}
GREEN = np.array([0, 255, 0])


def _expected_times(clip: Any, path: Path) -> list[Fraction]:
    """Source times, rounded to whole milliseconds (half away from zero) for Matroska/WebM outputs."""
    times = seconds(clip)
    if path.suffix in (".mkv", ".webm"):
        return [Fraction(int(t * 1000 + Fraction(1, 2)), 1000) for t in times]
    return times


def _check_video(path: Path, video: Path, clip: Any, *, fmt: str = "rgb24", decoder: str | None = None,
                 rotated: bool = True) -> list[np.ndarray]:
    """Timing, rotation and audio checks shared by every video kind; returns the upright frames."""
    times, images, rotation = decode(path, fmt, decoder)
    assert times == _expected_times(clip, path)
    _, _, src_rotation = decode(video, "gray")
    assert rotation == (src_rotation if rotated else 0)
    src_audio = audio_start(video)
    if src_audio is None:
        assert audio_start(path) is None
    else:
        out_audio = audio_start(path)
        assert out_audio is not None, "the source has audio, the export must too"
        assert abs((out_audio - times[0]) - (src_audio - seconds(clip)[0])) <= Fraction(1, 1000)
    return [upright(im, rotation) for im in images]


def _source_frames(video: Path) -> list[np.ndarray]:
    _, images, rotation = decode(video)
    return [upright(im, rotation) for im in images]


@pytest.mark.parametrize("clip_name", list(CLIPS))
def test_greenscreen(clips: dict, settings: Any, clip_name: str) -> None:
    video, clip = clips[clip_name]
    (out,), report = run(settings, video, kind="greenscreen", out=f"exports/{clip_name}_gs.mp4", **FAST)
    frames = _check_video(out, video, clip)
    source = _source_frames(video)
    for i in (0, len(frames) // 2, len(frames) - 1):
        inside, outside = interior(clip.masks[i])
        assert np.abs(frames[i][outside].astype(int) - GREEN).mean() < 8
        assert np.abs(frames[i][inside].astype(int) - source[i][inside].astype(int)).mean() < 8
    assert report["ok"] and report["missing_mask_count"] == 0


@pytest.mark.parametrize("clip_name", list(CLIPS))
@pytest.mark.parametrize("codec", ["ffv1", "h264"])
def test_mask(clips: dict, settings: Any, clip_name: str, codec: str) -> None:
    video, clip = clips[clip_name]
    ext = ".mkv" if codec == "ffv1" else ".mp4"
    (out,), _ = run(settings, video, kind="mask", codec=codec, out=f"exports/{clip_name}_mask{ext}", **FAST)
    frames = _check_video(out, video, clip, fmt="gray")
    for i, frame in enumerate(frames):
        inside, outside = interior(clip.masks[i])
        if codec == "ffv1":  # lossless: the matte is exact away from the upscaled edge
            assert (frame[inside] == 255).all() and (frame[outside] == 0).all()
        else:
            assert frame[inside].min() >= 225 and frame[outside].max() <= 30


def test_mask_per_object(clips: dict, settings: Any) -> None:
    video, clip = clips["rotated"]
    outs, _ = run(settings, video, kind="mask", per_object=True, out="exports/per_object.mkv")
    assert [p.name for p in outs] == ["per_object_obj1.mkv", "per_object_obj2.mkv"]
    for label, out in enumerate(outs, start=1):
        frames = _check_video(out, video, clip, fmt="gray")
        other = 2 if label == 1 else 1
        for i in (0, len(frames) - 1):
            mine, _ = interior(clip.masks[i], label)
            theirs, _ = interior(clip.masks[i], other)
            assert (frames[i][mine] == 255).all() and (frames[i][theirs] == 0).all()


@pytest.mark.parametrize("clip_name", list(CLIPS))
@pytest.mark.parametrize("codec", ["prores4444", "vp9"])
def test_alpha_video(clips: dict, settings: Any, clip_name: str, codec: str) -> None:
    video, clip = clips[clip_name]
    ext, decoder, tol = (".mov", None, 3) if codec == "prores4444" else (".webm", "libvpx-vp9", 20)
    (out,), _ = run(settings, video, kind="alpha", codec=codec, out=f"exports/{clip_name}_alpha{ext}")
    frames = _check_video(out, video, clip, fmt="rgba", decoder=decoder)
    source = _source_frames(video)
    for i in (0, len(frames) - 1):
        inside, outside = interior(clip.masks[i])
        assert frames[i][..., 3][inside].min() >= 255 - tol and frames[i][..., 3][outside].max() <= tol
        assert np.abs(frames[i][..., :3][inside].astype(int) - source[i][inside].astype(int)).mean() < 8


@pytest.mark.parametrize("clip_name", ["rotated", "audio"])
def test_alpha_png_sequence(clips: dict, settings: Any, clip_name: str) -> None:
    video, clip = clips[clip_name]
    (out,), report = run(settings, video, kind="alpha", codec="png", out=f"exports/{clip_name}_rgba")
    files = sorted(out.glob("*.png"))
    assert [f.name for f in files] == [f"{i:05d}.png" for i in range(len(clip.masks))]
    assert report["outputs"][0]["timestamps_s"] == [float(t) for t in seconds(clip)]
    for i in (0, len(files) - 1):
        bgra = cv2.imread(str(files[i]), cv2.IMREAD_UNCHANGED)
        assert bgra.shape[:2] == clip.masks[i].shape  # upright, source resolution
        inside, outside = interior(clip.masks[i])
        assert (bgra[..., 3][inside] == 255).all() and (bgra[..., 3][outside] == 0).all()


@pytest.mark.parametrize("clip_name", list(CLIPS))
def test_overlay(clips: dict, settings: Any, clip_name: str) -> None:
    video, clip = clips[clip_name]
    (out,), _ = run(settings, video, kind="overlay", out=f"exports/{clip_name}_overlay.mp4", **FAST)
    frames = _check_video(out, video, clip)
    source = _source_frames(video)
    color = np.array([128, 0, 0])  # the workspace's colour of object 1 (DAVIS palette)
    i = len(frames) // 2
    inside, outside = interior(clip.masks[i], 1)
    expected = 0.5 * source[i][inside].astype(float) + 0.5 * color
    assert np.abs(frames[i][inside] - expected).mean() < 8
    both, _ = interior(clip.masks[i])
    assert np.abs(frames[i][outside & ~both].astype(int) - source[i][outside & ~both].astype(int)).mean() < 8


@pytest.mark.parametrize("clip_name", list(CLIPS))
def test_palette_masks(clips: dict, settings: Any, clip_name: str) -> None:
    video, clip = clips[clip_name]
    (out,), report = run(settings, video, kind="masks", out=f"exports/{clip_name}_masks")
    files = sorted(out.glob("*.png"))
    assert len(files) == len(clip.masks)
    assert report["outputs"][0]["timestamps_s"] == [float(t) for t in seconds(clip)]
    for i, f in enumerate(files):
        with Image.open(f) as image:
            assert image.mode == "P"
            labels = np.array(image)
        assert labels.shape == clip.masks[i].shape
        for label in (1, 2):
            core, _ = interior(clip.masks[i], label)
            assert (labels[core] == label).all()
        _, outside = interior(clip.masks[i])
        assert (labels[outside] == 0).all()


@pytest.mark.parametrize("clip_name", list(CLIPS))
def test_reframe(clips: dict, settings: Any, clip_name: str) -> None:
    video, clip = clips[clip_name]
    (out,), _ = run(settings, video, kind="reframe", aspect="9:16", size="54x96",
                    out=f"exports/{clip_name}_reframe.mp4", **FAST)
    frames = _check_video(out, video, clip, rotated=False)
    assert all(f.shape == (96, 54, 3) for f in frames)


def test_missing_masks_give_empty_matte_and_a_warning(clips: dict, settings: Any) -> None:
    from xmem_tui.workspace import Workspace

    video, clip = clips["cfr"]
    path = video.with_name("gaps.mp4")
    path.write_bytes(video.read_bytes())
    ws = Workspace.for_video(settings, path)
    for i in range(0, len(clip.masks), 2):  # odd frames have no masks
        ws.write_frame(i, mask_to_shape(clip.masks[i], ws.shape), provenance="user:import")
    (out,), report = run(settings, path, kind="mask", out="exports/gaps.mkv")
    assert report["missing_mask_count"] == len(clip.masks) // 2
    assert any("no masks" in w for w in report["warnings"])
    _, frames, _ = decode(out, "gray")
    assert frames[1].max() == 0 and frames[0].max() == 255


def test_image_folder_source(settings: Any) -> None:
    from xmem_tui.media.synthetic import write_image_folder
    from xmem_tui.workspace import Workspace

    folder = settings.project_dir / "source" / "frames"
    masks = write_image_folder(folder, SPEC)
    ws = Workspace.for_video(settings, folder)
    for i, mask in enumerate(masks):
        ws.write_frame(i, mask_to_shape(mask, ws.shape), provenance="user:import")
    (out,), report = run(settings, folder, kind="greenscreen", out="exports/folder_gs.mp4", **FAST)
    times, frames, _ = decode(out)
    assert times == [i * ws.info.time_base for i in range(len(masks))]
    _, outside = interior(masks[3])
    assert np.abs(frames[3][outside].astype(int) - GREEN).mean() < 8
    assert not report["outputs"][0]["audio"]["output"]


@pytest.fixture(scope="module")
def tagged(settings: Any) -> tuple[Path, list[np.ndarray]]:
    """A clip whose stream says BT.709 / limited range, with masks in its workspace."""
    from xmem_tui.media.encode import ColorTags, VideoEncoder, VideoSpec
    from xmem_tui.media.synthetic import render_scene
    from xmem_tui.workspace import Workspace

    frames, masks = render_scene(SPEC)
    path = settings.project_dir / "source" / "bt709.mp4"
    spec = VideoSpec(codec="libx264", pix_fmt="yuv420p", width=SPEC.width, height=SPEC.height,
                     time_base=Fraction(1, 24), color=ColorTags(range=1, primaries=1, trc=1, space=1))
    with VideoEncoder(path, spec) as enc:
        for i, frame in enumerate(frames):
            enc.write(frame, i, 1)
    ws = Workspace.for_video(settings, path)
    for i, mask in enumerate(masks):
        ws.write_frame(i, mask_to_shape(mask, ws.shape), provenance="user:import")
    return path, masks


@pytest.mark.parametrize(("kind", "codec", "ext"), [("greenscreen", "h264", ".mp4"), ("alpha", "prores4444", ".mov"),
                                                    ("alpha", "vp9", ".webm"), ("mask", "h264", ".mp4")])
def test_colour_tags_are_carried(tagged: tuple[Path, list[np.ndarray]], settings: Any, kind: str, codec: str,
                                 ext: str) -> None:
    import av

    from xmem_tui.media.encode import ColorTags

    video, _ = tagged
    (out,), report = run(settings, video, kind=kind, codec=codec, out=f"exports/bt709_{kind}{ext}", **FAST)
    with av.open(str(out)) as container:
        tags = ColorTags.of_frame(next(container.decode(video=0)))
    assert (tags.primaries, tags.trc, tags.space, tags.range) == (1, 1, 1, 1)
    assert report["outputs"][0]["color"]["source"]["primaries"] == 1


def test_grey_matte_of_a_tagged_source_is_full_range(tagged: tuple[Path, list[np.ndarray]], settings: Any) -> None:
    import av

    video, masks = tagged
    (out,), _ = run(settings, video, kind="mask", codec="ffv1", out="exports/bt709_mask.mkv")
    with av.open(str(out)) as container:
        first = next(container.decode(video=0))
    assert first.format.name == "gray" and first.color_range == 2
    inside, outside = interior(masks[0])
    assert (first.to_ndarray()[inside] == 255).all() and (first.to_ndarray()[outside] == 0).all()


def test_greenscreen_over_an_image_in_h265(clips: dict, settings: Any) -> None:
    video, clip = clips["rotated"]
    backdrop = np.zeros((50, 50, 3), np.uint8)
    backdrop[:] = (40, 80, 200)  # BGR on disk: RGB (200, 80, 40)
    image = settings.project_dir / "backdrop.png"
    cv2.imwrite(str(image), backdrop)
    (out,), _ = run(settings, video, kind="greenscreen", codec="h265", background=str(image),
                    out="exports/image_bg.mp4", **FAST)
    frames = _check_video(out, video, clip)
    _, outside = interior(clip.masks[5])
    assert np.abs(frames[5][outside].astype(int) - np.array([200, 80, 40])).mean() < 8


@pytest.mark.parametrize(("preset", "audio_codec", "ext"), [
    ("premiere", "aac", ".mov"), ("resolve", "pcm_s16le", ".mov"), ("capcut", "aac", ".mp4")])
def test_presets_write_what_their_editor_reads(clips: dict, settings: Any, preset: str, audio_codec: str,
                                               ext: str) -> None:
    import av

    video, clip = clips["audio"]
    (out,), report = run(settings, video, preset=preset, out=f"exports/{preset}{ext}")
    _check_video(out, video, clip, fmt="rgba" if ext == ".mov" else "rgb24")
    with av.open(str(out)) as container:
        assert container.streams.audio[0].codec_context.name == audio_codec
        assert container.streams.video[0].codec_context.name == ("prores" if ext == ".mov" else "h264")
    assert report["finishing"]["upscale"] == "guided"
