"""Exports of the real Big Buck Bunny clip (H.264 with B-frames, AAC): a remuxed 12-frame cut for every
kind, and the full clip for the cheapest kind."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from xmem_tui.config import Settings, load_settings

from .export_helpers import audio_start, decode, run

BBB = "bigbuckbunny_720p_25fps_aac.mp4"
CUT = 12


def _cut(source: Path, target: Path, packets: int) -> None:
    """Stream-copy the first ``packets`` video packets (decode order; the clip has one keyframe, so every
    kept packet's references are kept) and the audio up to the same time: real pictures and timestamps."""
    with av.open(str(source)) as src, av.open(str(target), "w") as dst:
        v_in, a_in = src.streams.video[0], src.streams.audio[0]
        v_out, a_out = dst.add_stream_from_template(v_in), dst.add_stream_from_template(a_in)
        end = None
        kept = 0
        for packet in src.demux(v_in, a_in):
            if packet.dts is None:
                continue
            if packet.stream is v_in:
                if kept == packets:
                    continue
                kept += 1
                end = max(end or 0, float((packet.pts + packet.duration) * v_in.time_base))
                packet.stream = v_out
            else:
                if end is not None and kept == packets and float(packet.pts * a_in.time_base) > end:
                    continue
                packet.stream = a_out
            dst.mux(packet)


@pytest.fixture(scope="module")
def real(media_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Path, Path]:
    """Settings of a project holding the cut and the full clip, with masks in both workspaces."""
    from xmem_tui.workspace import Workspace

    project = tmp_path_factory.mktemp("real_project")
    settings = load_settings(None, {"processing.size": 120}, project_dir=project)
    (project / "source").mkdir()
    cut = project / "source" / "bbb_cut.mp4"
    _cut(media_dir / BBB, cut, CUT)
    full = project / "source" / "bbb.mp4"
    full.symlink_to(media_dir / BBB)
    for video in (cut, full):
        ws = Workspace.for_video(settings, video)
        h, w = ws.shape
        for i in range(0, ws.frame_count, 2):  # every other frame: missing masks are part of the test
            mask = np.zeros((h, w), np.uint8)
            mask[30:90, 40 + i % 40:120 + i % 40] = 1
            mask[10:40, 150:200] = 2
            ws.write_frame(i, mask, provenance="user:import")
    return settings, cut, full


def _times(path: Path) -> list[Fraction]:
    return decode(path, "gray")[0]


@pytest.mark.parametrize(("kind", "params", "ext"), [
    ("greenscreen", {"speed": "ultrafast"}, ".mp4"),
    ("mask", {}, ".mkv"),
    ("alpha", {}, ".mov"),
    ("alpha", {"codec": "vp9"}, ".webm"),
    ("alpha", {"codec": "png"}, ""),
    ("overlay", {"speed": "ultrafast"}, ".mp4"),
    ("masks", {}, ""),
    ("reframe", {"size": "360x640", "speed": "ultrafast"}, ".mp4"),
])
def test_every_kind_on_a_real_cut(real: tuple[Settings, Path, Path], kind: str, params: dict[str, Any],
                                  ext: str) -> None:
    settings, cut, _ = real
    name = f"real_{kind}_{params.get('codec', '')}{ext}"
    (out,), report = run(settings, cut, kind=kind, out=f"exports/{name}", **params)
    source_times = _times(cut)
    assert len(source_times) == CUT
    assert report["missing_mask_count"] == CUT // 2
    if not ext:
        assert report["outputs"][0]["timestamps_s"] == [float(t) for t in source_times]
        assert len(list(out.glob("*.png"))) == CUT
        return
    times = _times(out)
    if ext == ".webm":
        source_times = [Fraction(round(t * 1000), 1000) for t in source_times]
    assert times == source_times
    src_audio, out_audio = audio_start(cut), audio_start(out)
    assert src_audio is not None and out_audio is not None
    assert abs((out_audio - times[0]) - (src_audio - source_times[0])) <= Fraction(1, 1000)


def test_full_real_clip_mask_matches_masks(real: tuple[Settings, Path, Path]) -> None:
    settings, _, full = real
    (out,), report = run(settings, full, kind="mask", codec="ffv1", out="exports/bbb_full_mask.mkv")
    times, frames, _ = decode(out, "gray")
    source_times = _times(full)
    assert len(times) == len(source_times) == 132
    assert times == [Fraction(round(t * 1000), 1000) for t in source_times]  # Matroska keeps milliseconds
    scale = 720 / 120
    for i in (0, 64, 130):  # frames with masks: the first object's box, upscaled 6x, is white inside
        x0 = int((40 + i % 40) * scale) + 4
        assert (frames[i][int(30 * scale) + 4:int(90 * scale) - 4, x0:int((120 + i % 40) * scale) - 4] == 255).all()
        assert frames[i][:int(10 * scale) - 4].max() == 0
    assert frames[1].max() == 0  # no masks on odd frames: empty matte
    assert report["outputs"][0]["audio"]["output"]
