"""Export names say what is in them, never replace each other silently, fit the file system's name
limit, and PNG sequences carry their frame times in ``timestamps.csv``."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from xmem_tui.config import load_settings
from xmem_tui.export.options import export_stem, name_max, output_paths, report_path, resolve, temporary
from xmem_tui.export.request import ExportRequest
from xmem_tui.media.probe import probe

from .export_helpers import run


@pytest.fixture
def cfg(tmp_path: Path) -> Any:
    return load_settings(None, {}, project_dir=tmp_path)


@pytest.mark.parametrize(("params", "name"), [
    ({"kind": "alpha"}, "clip_alpha_prores.mov"),
    ({"kind": "greenscreen"}, "clip_greenscreen_h264.mp4"),
    ({"kind": "greenscreen", "codec": "h265"}, "clip_greenscreen_h265.mp4"),
    ({"kind": "alpha", "codec": "vp9"}, "clip_alpha_vp9.webm"),
    ({"kind": "alpha", "codec": "png"}, "clip_alpha_png"),
    ({"kind": "mask"}, "clip_mask_ffv1.mkv"),
    ({"kind": "masks"}, "clip_masks_png"),
    ({"preset": "resolve"}, "clip_alpha_resolve.mov"),
    ({"preset": "premiere"}, "clip_alpha_premiere.mov"),
    ({"preset": "capcut"}, "clip_greenscreen_capcut.mp4"),
])
def test_default_names_carry_kind_and_codec_or_preset(cfg: Any, params: dict[str, Any], name: str) -> None:
    (path,) = output_paths(resolve(ExportRequest(**params), cfg), cfg, "clip", [1])
    assert path == cfg.exports_dir / name


def test_derived_names_of_a_long_video_name_fit_the_file_system(cfg: Any) -> None:
    limit = name_max(cfg.exports_dir)
    long_a, long_b = "a" * 300, "a" * 299 + "b"
    opts = resolve(ExportRequest(kind="mask", per_object=True), cfg)
    paths = output_paths(opts, cfg, long_a, [1, 255]) + output_paths(opts, cfg, long_b, [1, 255])
    derived = paths + [temporary(p) for p in paths] + [report_path(p) for p in paths]
    assert all(len(p.name.encode()) <= limit for p in derived)
    assert len({p.name for p in derived}) == len(derived)  # cut names stay distinct (a hash of the whole)
    assert all(p.name.endswith("_mask_ffv1_obj1.mkv") or p.name.endswith("_mask_ffv1_obj255.mkv") for p in paths)
    accents = output_paths(resolve(ExportRequest(kind="alpha"), cfg), cfg, "é" * 200, [1])[0]
    assert len(report_path(accents).name.encode()) <= limit and accents.name.endswith("_alpha_prores.mov")


def test_a_video_with_a_long_name_exports(settings: Any, clips: dict, tmp_path: Path) -> None:
    """End to end: the source's stem is near the limit, every file the export writes is shortened."""
    from xmem_tui.workspace import Workspace

    source, _ = clips["audio"]
    video = settings.source_dir / ("long" * 55 + ".mp4")  # 220 + 4 bytes: the derived names would not fit
    video.parent.mkdir(parents=True, exist_ok=True)
    video.write_bytes(source.read_bytes())
    ws = Workspace.for_video(settings, video)
    ws.write_frame(0, (ws.read_mask(0) if ws.read_mask(0) is not None else _square(ws.shape)), provenance="user:import")
    (out,), report = run(settings, video, kind="greenscreen", speed="ultrafast")
    assert report["ok"] and out.is_file() and report_path(out).is_file()
    assert len(out.name.encode()) <= name_max(out.parent) and out.name.endswith("_greenscreen_h264.mp4")


def _square(shape: tuple[int, int]) -> Any:
    import numpy as np

    mask = np.zeros(shape, np.uint8)
    mask[shape[0] // 4:shape[0] // 2, shape[1] // 4:shape[1] // 2] = 1
    return mask


def test_png_sequences_list_every_frame_time(clips: dict, settings: Any) -> None:
    video, _ = clips["vfr"]
    (out,), report = run(settings, video, kind="alpha", codec="png", out="exports/vfr_times_png")
    with (out / "timestamps.csv").open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["frame", "pts_seconds"]
    info = probe(video)
    assert [int(r[0]) for r in rows[1:]] == list(range(info.frame_count))
    assert [float(r[1]) for r in rows[1:]] == pytest.approx(list(info.timestamps_s), abs=1e-9)
    assert len({round(b - a, 6) for a, b in zip(info.timestamps_s, info.timestamps_s[1:], strict=False)}) > 1  # VFR
    assert report["ok"]


def test_h265_refuses_frames_narrower_than_x265_can_take(settings: Any, tmp_path: Path) -> None:
    """libx265 corrupts the heap on frames under 64 pixels wide: a one-line error instead of a crash."""
    from xmem_tui.export.errors import ExportError
    from xmem_tui.media.synthetic import SceneSpec, write_clip
    from xmem_tui.workspace import Workspace

    video = settings.source_dir / "narrow.mp4"
    clip = write_clip(video, SceneSpec(height=64, width=48, n_frames=3))
    ws = Workspace.for_video(settings, video)
    ws.write_frame(0, clip.masks[0], provenance="user:import")
    with pytest.raises(ExportError, match=r"too narrow for h265 \(at least 64\); use --codec h264"):
        run(settings, video, kind="greenscreen", codec="h265")


def test_sources_of_one_stem_get_exports_of_their_own(tmp_path: Path) -> None:
    source = tmp_path / "source"
    (source / "clip").mkdir(parents=True)
    for name in ("clip.mp4", "clip.AVI", "other.mp4", ".clip.mp4.probe"):
        (source / name).write_bytes(b"")
    assert export_stem(source / "other.mp4") == "other"
    assert export_stem(source / "clip.mp4") == "clip_mp4"
    assert export_stem(source / "clip.AVI") == "clip_avi"
    assert export_stem(source / "clip") == "clip_folder"
    (source / "clip.AVI").unlink()
    (source / "clip").rmdir()
    assert export_stem(source / "clip.mp4") == "clip"
