"""bench/davis.py runs end to end and prints its table (a few frames at a small size, about 2 s)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_davis_bench_prints_the_table_with_floor_speed_and_review_count(shared_dir: Path) -> None:
    out = subprocess.run([sys.executable, str(REPO / "bench" / "davis.py"), "--root",
                          str(shared_dir / "media" / "davis16"), "--sequences", "car-shadow,dog", "--stop", "8",
                          "--size", "120"], capture_output=True, text=True, timeout=300, check=True).stdout
    lines = out.splitlines()
    assert "J&F" in lines[1] and "floor" in lines[1] and "CPU s/f" in lines[1] and "in top 5" in lines[1]
    assert lines[3].split()[:2] == ["car-shadow", "8"] and lines[4].split()[:2] == ["dog", "8"]
    assert lines[6].startswith("mean")
    assert "worst-J frame in review's top 5:" in out and "of 2" in out and "ms a frame" in out and "load average" in out
