"""Quality signals: what they measure on hand-made masks, the JSON-lines log, and the ranking."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from xmem_tui.inference.quality import FrameSignals, QualityLog, frame_signals, load_signals, rank_frames

H, W = 40, 60


def box(y0: int, y1: int, x0: int, x1: int, label: int = 1, mask: np.ndarray | None = None) -> np.ndarray:
    out = np.zeros((H, W), dtype=np.uint8) if mask is None else mask.copy()
    out[y0:y1, x0:x1] = label
    return out


def test_area_iou_centroid_and_change() -> None:
    prev = box(0, 10, 0, 10)  # 100 px at centroid (4.5, 4.5)
    cur = box(0, 10, 5, 15)   # 100 px at (4.5, 9.5): overlap 50 px
    s = frame_signals(7, cur, None, [1], prev, prev=6, run="r")
    obj = s.objects[1]
    assert obj.area == pytest.approx(100 / (H * W))
    assert obj.area_change == pytest.approx(0.0)
    assert obj.iou_prev == pytest.approx(50 / 150)
    assert obj.centroid_shift == pytest.approx(5 / np.hypot(H, W))
    assert obj.uncertainty is None
    assert (s.frame, s.prev, s.run, s.vanished, s.appeared) == (7, 6, "r", (), ())


def test_vanished_and_appeared_objects() -> None:
    prev = box(0, 10, 0, 10, 1)
    cur = box(20, 30, 20, 30, 2)
    s = frame_signals(1, cur, None, [1, 2], prev, prev=0)
    assert s.vanished == (1,) and s.appeared == (2,)
    assert s.objects[1].area == 0 and s.objects[1].centroid_shift is None
    assert s.objects[2].area_change is None  # no previous area to compare with


def test_uncertainty_is_high_for_undecided_soft_masks() -> None:
    mask = box(0, 20, 0, 20)
    sure = np.zeros((1, H, W), dtype=np.uint8)
    sure[0][mask == 1] = 255
    unsure = np.zeros((1, H, W), dtype=np.uint8)
    unsure[0][mask == 1] = 128
    a = frame_signals(1, mask, sure, [1], mask).objects[1].uncertainty
    b = frame_signals(1, mask, unsure, [1], mask).objects[1].uncertainty
    assert a == pytest.approx(0.0) and b == pytest.approx(1.0, abs=0.01)


def test_first_frame_has_no_relative_signals() -> None:
    s = frame_signals(0, box(0, 5, 0, 5), None, [1], None)
    assert s.objects[1].iou_prev is None and s.vanished == ()


def test_log_round_trip_last_line_wins_and_torn_line_is_skipped(tmp_path: Path) -> None:
    log = QualityLog(tmp_path / "q.jsonl")
    m = box(0, 10, 0, 10)
    log.append(frame_signals(3, m, None, [1], m, prev=2, run="a"))
    log.append(frame_signals(4, m, None, [1], m, prev=3, run="a"))
    log.append(frame_signals(3, box(0, 10, 0, 20), None, [1], m, prev=2, run="b"))
    with open(log.path, "a") as handle:
        handle.write('{"frame": 9, "objects": {"1": {"are')  # a writer caught mid-append
    signals = load_signals(log.path)
    assert sorted(signals) == [3, 4]
    assert signals[3].run == "b" and signals[3].objects[1].area_change == pytest.approx(1.0)
    assert FrameSignals.from_dict(json.loads(json.dumps(signals[4].to_dict()))) == signals[4]
    log.forget([4])
    assert sorted(load_signals(log.path)) == [3]
    assert load_signals(tmp_path / "missing.jsonl") == {}


def test_compact_keeps_only_the_latest_line_per_frame(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import xmem_tui.inference.quality as quality

    monkeypatch.setattr(quality, "_COMPACT_SLACK", 3)
    log = QualityLog(tmp_path / "q.jsonl")
    m = box(0, 10, 0, 10)
    for run in "abc":
        for f in (1, 2):
            log.append(frame_signals(f, m, None, [1], m, run=run))
    log.compact()
    assert len(log.path.read_text().splitlines()) == 2
    assert {s.run for s in load_signals(log.path).values()} == {"c"}


def test_ranking_puts_the_worst_frames_first_with_reasons() -> None:
    still = box(10, 20, 10, 20)
    signals = [
        frame_signals(1, still, None, [1], still, prev=0),                            # nothing happens
        frame_signals(2, box(10, 20, 12, 22), None, [1], still, prev=1),             # small shift
        frame_signals(3, np.zeros((H, W), np.uint8), None, [1], still, prev=2),      # object lost
        frame_signals(4, box(10, 20, 10, 26), None, [1], still, prev=3),             # object grows
    ]
    ranked = rank_frames(signals)
    assert [f for f, _, _ in ranked] == [3, 4, 2]
    assert ranked[0][2] == ["object 1 vanished"]
    assert any("area +" in r for r in ranked[1][2]) and any("IoU" in r for r in ranked[1][2])
    assert ranked[0][1] > ranked[1][1] > ranked[2][1] > 0
    assert [f for f, _, _ in rank_frames(signals, top=1)] == [3]
    assert [f for f, _, _ in rank_frames({s.frame: s for s in signals}, exclude=[3])] == [4, 2]


def test_reading_quality_signals_does_not_import_torch() -> None:
    """The dashboard reads quality.jsonl; its first paint must not wait for torch."""
    import subprocess
    import sys

    code = "import sys, xmem_tui.inference.quality; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr[-500:]


def test_files_written_before_colour_signals_still_load_and_rank(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    old = {"frame": 5, "prev": 4, "run": "r", "vanished": [], "appeared": [],
           "objects": {"1": {"area": 0.1, "area_change": 0.5, "centroid_shift": 0.0, "iou_prev": 0.6,
                             "uncertainty": None}}}
    path.write_text(json.dumps(old) + "\n")
    signals = load_signals(path)
    assert signals[5].anchor is None and signals[5].objects[1].colour is None
    assert [f for f, _, _ in rank_frames(signals)] == [5]
