"""Real footage end to end: DAVIS-2016 sequences (../shared/media/davis16, JPEG frames with ground truth)
encoded into MP4, MKV and AVI here, then info, random access, import, propagation and exports.

The first frame's ground-truth mask (DAVIS greyscale: 0 background, 255 the object) is imported as
object 1; the weight-free engine propagates a few frames; every export passes its self-check, every
frame within 1 ms of the presentation timeline, the sound (a tone added when encoding) in sync.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from xmem_tui.media.conformance import Case

from .conformance import EXPORTS, run_case

FRAMES = 10
CASES = [
    ("dog", Case("dog_h264_bframes_aac", ".mp4", "libx264", audio=("aac",), bframes=2, frames=FRAMES)),
    ("camel", Case("camel_hevc10_opus_vfr", ".mkv", "libx265", "yuv420p10le", audio=("libopus",), vfr=True,
                   bframes=2, frames=FRAMES)),
    ("car-shadow", Case("car-shadow_divx_ac3", ".avi", "mpeg4", audio=("ac3",), bframes=1, packed=True,
                        fps=Fraction(2997, 125), frames=FRAMES)),
]


def _sequence(media_dir: Path, name: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
    root = media_dir / "davis16" / name
    frames = [np.asarray(Image.open(p).convert("RGB")) for p in sorted((root / "JPEGImages").glob("*.jpg"))[:FRAMES]]
    masks = [(np.asarray(Image.open(p).convert("L")) > 127).astype(np.uint8)
             for p in sorted((root / "Annotations").glob("*.png"))[:FRAMES]]
    return frames, masks


@pytest.mark.parametrize(("sequence", "case"), CASES, ids=[c.name for _, c in CASES])
def test_real_footage_end_to_end(media_dir: Path, tmp_path: Path, sequence: str, case: Case) -> None:
    footage = _sequence(media_dir, sequence)
    assert footage[0][0].shape == (480, 854, 3) and footage[1][0].max() == 1
    exports = {k: EXPORTS[k] for k in ("greenscreen", "mask", "masks")}
    result = run_case(case, tmp_path, exports=exports, footage=footage, size=120)
    assert result.ok, f"{case.name}: {result.problems or result.checks}"
    assert result.frames == FRAMES and {"export greenscreen", "export mask", "export masks"} <= set(result.checks)
