"""The files of issue 13: a DivX-style AVI (MPEG-4 Part 2 with packed B-frames, AC-3 audio, 2997/125 fps)
exports green screen, the resolve preset and a mask video, every frame at its presentation time and the
sound in sync; a damaged AC-3 packet costs one warning, not the export."""

from __future__ import annotations

import logging
from fractions import Fraction
from itertools import pairwise
from pathlib import Path
from typing import Any

import av
import pytest

from xmem_tui.config import Settings, load_settings
from xmem_tui.media.audio import audio_span
from xmem_tui.media.conformance import case, write_case
from xmem_tui.media.resize import mask_to_shape

from .export_helpers import decode, run


def _project(root: Path, name: str) -> tuple[Settings, Path, Any]:
    from xmem_tui.workspace import Workspace

    settings = load_settings(None, {"processing.size": 64}, project_dir=root)
    written = write_case(case(name), root / "source")
    ws = Workspace.for_video(settings, written.path)
    for i, mask in enumerate(written.masks):
        ws.write_frame(i, mask_to_shape(mask, ws.shape), provenance="user:import")
    return settings, written.path, ws.info


@pytest.fixture(scope="module")
def avi(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Path, Any]:
    return _project(tmp_path_factory.mktemp("avi"), "avi_mpeg4_packed_ac3")


@pytest.fixture(scope="module")
def damaged(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Path, Any]:
    return _project(tmp_path_factory.mktemp("damaged"), "avi_mpeg4_packed_ac3_damaged")


def _onset_offset(path: Path) -> Fraction:
    """Where the sound starts, from the first video frame."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        first = next(container.decode(stream))
        video = first.pts * stream.time_base
    (track,) = audio_span(path)
    assert track.onset is not None
    return track.onset - video


@pytest.mark.parametrize(("params", "ext", "audio_codec"), [
    ({"kind": "greenscreen", "speed": "ultrafast"}, ".mp4", "ac3"),
    ({"preset": "resolve"}, ".mov", "pcm_s16le"),
    ({"kind": "mask", "codec": "h264", "speed": "ultrafast"}, ".mp4", "ac3"),
    ({"kind": "mask"}, ".mkv", "ac3"),
])
def test_b_frame_avi_exports_frame_exact_with_the_sound_in_sync(avi, params: dict[str, Any], ext: str,
                                                                 audio_codec: str) -> None:
    settings, video, info = avi
    assert info.decoded_pts  # the probe did correct a permuted labelling
    (out,), report = run(settings, video, **params)
    assert out.suffix == ext and report["ok"]
    times, _, _ = decode(out, "gray")
    expected = [Fraction(p) * info.time_base for p in info.pts]
    assert len(times) == len(expected) == 16
    assert max(abs(a - b) for a, b in zip(times, expected, strict=True)) <= Fraction(1, 1000)
    assert all(b > a for a, b in pairwise(times))
    with av.open(str(out)) as container:
        assert container.streams.audio[0].codec_context.name == audio_codec
    assert abs(_onset_offset(out) - _onset_offset(video)) <= Fraction(1, 1000)


@pytest.mark.parametrize(("params", "audio_codec"), [
    ({"preset": "resolve"}, "pcm_s16le"),
    ({"kind": "alpha", "codec": "vp9"}, "opus"),
])
def test_a_damaged_ac3_packet_is_skipped_with_one_warning_and_silence(damaged, params: dict[str, Any],
                                                                      audio_codec: str,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    settings, video, _ = damaged
    (source_track,) = audio_span(video)
    assert source_track.damaged == 1  # the zeroed packet really does not decode
    with caplog.at_level(logging.WARNING, logger="xmem_tui.media.audio"):
        (out,), report = run(settings, video, **params)
    warnings = [r.getMessage() for r in caplog.records if "damaged packet" in r.getMessage()]
    assert len(warnings) == 1 and "silence fills the gap" in warnings[0]
    (check,) = report["outputs"][0]["audio"]["track_checks"]
    assert check["source_damaged_packets"] == 1
    # Silence took the damaged frame's place (32 ms): the sound after it, and the end, did not move.
    assert abs(check["output_duration_s"] - check["source_duration_s"]) <= 0.002
    assert abs(check["output_offset_s"] - check["source_offset_s"]) <= 0.001
    (out_track,) = audio_span(out)
    assert out_track.damaged == 0
    with av.open(str(out)) as container:
        assert container.streams.audio[0].codec_context.name == audio_codec
