"""The conformance matrix (issue 13): any file FFmpeg decodes goes through info, random access, import,
propagation and every export kind, frame-exact, with its audio.

The representative cases (``ci=True`` in :data:`~xmem_tui.media.conformance.CASES`) run by default; the
whole matrix runs with ``pytest -m media_matrix`` (also part of ``-m slow``) and in ``bench/media_matrix.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from xmem_tui.media.conformance import CASES, Case

from .conformance import run_case

CI = [c for c in CASES if c.ci]
REST = [c for c in CASES if not c.ci]


def _run(case: Case, tmp_path: Path) -> None:
    result = run_case(case, tmp_path)
    assert result.ok, f"{case.name}: {result.problems or result.checks}"


@pytest.mark.parametrize("case", CI, ids=[c.name for c in CI])
def test_representative_case(case: Case, tmp_path: Path) -> None:
    _run(case, tmp_path)


@pytest.mark.slow
@pytest.mark.media_matrix
@pytest.mark.parametrize("case", REST, ids=[c.name for c in REST])
def test_matrix_case(case: Case, tmp_path: Path) -> None:
    _run(case, tmp_path)


def test_the_ci_set_covers_every_axis() -> None:
    """The default run still meets every container, codec family, audio codec and timing kind."""
    assert {c.ext for c in CI} == {".mp4", ".mov", ".mkv", ".webm", ".avi", ".ts"}
    assert {c.video for c in CI} >= {"libx264", "libx265", "mpeg4", "libvpx-vp9", "prores_ks", "mjpeg", "ffv1"}
    assert {c.pix_fmt for c in CI} >= {"yuv420p", "yuvj420p", "yuv422p10le", "yuv444p", "yuv420p10le"}
    assert {a for c in CI for a in c.audio} >= {"aac", "ac3", "eac3", "libmp3lame", "pcm_s16le", "libopus", "flac",
                                                 "vorbis"}
    assert any(c.vfr for c in CI) and any(c.rotation for c in CI) and any(c.start > 0 for c in CI)
    assert any(c.start < 0 for c in CI) and any(len(c.audio) > 1 for c in CI) and any(c.packed for c in CI)
