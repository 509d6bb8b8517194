"""The self-check's view of a written video: decoded timing and tags, exactly as they come out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from xmem_tui.errors import MediaError
from xmem_tui.media.decoded import decode_timing
from xmem_tui.media.probe import probe
from xmem_tui.media.synthetic import SceneSpec, write_clip


def test_decoded_timing_of_a_vfr_file_keeps_every_written_pts(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "v.mkv", SceneSpec(height=48, width=64, n_frames=12), vfr=True, rotation=90)
    got = decode_timing(tmp_path / "v.mkv")
    assert got.time_base == clip.time_base
    assert got.pts == clip.pts
    assert len(got.durations) == len(clip.pts)
    # the display matrix's counter-clockwise degrees; the probe reports the clockwise turn that shows it upright
    assert got.rotation % 360 == -probe(tmp_path / "v.mkv").rotation % 360 == 270
    assert (got.codec, got.pixel_format) == ("h264", "yuv420p") and got.color is not None
    assert not got.has_audio


def test_a_file_that_is_not_a_video_is_a_media_error(tmp_path: Path) -> None:
    bad = tmp_path / "x.mp4"
    bad.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(MediaError, match=r"x\.mp4 is not a video"):
        decode_timing(bad)
