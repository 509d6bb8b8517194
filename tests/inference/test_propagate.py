"""The propagation loop with a deterministic fake engine (fast) and the real weight-free engine on a clip."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from xmem_tui.errors import WorkspaceError
from xmem_tui.inference.engine import MemoryStats
from xmem_tui.inference.propagation import FrameResult, propagate, resume_point
from xmem_tui.inference.quality import load_signals
from xmem_tui.inference.request import PropagationRequest
from xmem_tui.progress import read_progress
from xmem_tui.workspace import Workspace, WorkspaceBusy

N_FRAMES = 12
SHAPE = (48, 72)  # processing shape of the 64x96 test clip at size 48


class FakeEngine:
    """Deterministic engine: frame i is uniformly grey (6 * i + 3), so the engine knows which frame it got.

    It returns the last mask it was given, one-hot with probability 0.9 (so soft masks are not hard), and
    records every call as (frame index, mask given?, end?).
    """

    name = "fake"
    weight_free = True

    def __init__(self, delay: float = 0.0, fail_at: int | None = None, error: BaseException | None = None) -> None:
        self.delay, self.fail_at, self.error = delay, fail_at, error
        self.calls: list[tuple[int, bool, bool]] = []
        self.resets: list[list[int]] = []
        self.current: np.ndarray | None = None

    def reset(self, labels: list[int]) -> None:
        self.labels = list(labels)
        self.resets.append(list(labels))
        self.current = None

    def step(self, frame: np.ndarray, mask: np.ndarray | None = None, *, end: bool = False) -> np.ndarray:
        index = int(frame[0, 0, 0]) // 6
        self.calls.append((index, mask is not None, end))
        if self.fail_at is not None and index == self.fail_at:
            raise self.error or RuntimeError("engine failure")
        if self.delay:
            time.sleep(self.delay)
        if mask is not None:
            self.current = mask.copy()
        assert self.current is not None, "stepped before any mask"
        k = len(self.labels)
        probs = np.full((k + 1, *frame.shape[:2]), 0.1 / k, dtype=np.float32)
        for c, label in enumerate([0, *self.labels]):
            probs[c][self.current == label] = 0.9
        return probs / probs.sum(axis=0, keepdims=True)

    def memory_stats(self) -> MemoryStats:
        return MemoryStats(working=len(self.calls), long_term=0)


def make_clip(folder: Path, n: int = N_FRAMES) -> Path:
    """Image folder of uniform frames 64x96; frame i has value 6 * i + 3 (survives area resizing)."""
    folder.mkdir(parents=True)
    for i in range(n):
        cv2.imwrite(str(folder / f"{i:05d}.png"), np.full((64, 96, 3), 6 * i + 3, dtype=np.uint8))
    return folder


def user_mask(label_box: tuple[int, int, int, int], label: int = 1, second: bool = False) -> np.ndarray:
    y0, y1, x0, x1 = label_box
    mask = np.zeros(SHAPE, dtype=np.uint8)
    mask[y0:y1, x0:x1] = label
    if second:
        mask[30:40, 50:60] = 2
    return mask


MASK_A = user_mask((5, 20, 5, 25), second=True)
MASK_B = user_mask((10, 30, 20, 50), second=True)


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    clip = make_clip(tmp_path / "source" / "clip")
    return Workspace.open(tmp_path / "workspace" / "clip", clip, processing_size=48)


def journal_writes(ws: Workspace, frame: int) -> int:
    path = ws.root / "frames.jsonl"
    lines = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    return sum(1 for e in lines if e.get("f") == frame and not e.get("clear"))


def test_forward_writes_every_frame_after_the_start(ws: Workspace) -> None:
    ws.write_frame(2, MASK_A, provenance="user:click")
    engine = FakeEngine()
    results = list(propagate(ws, engine, PropagationRequest(2)))
    assert [r.frame for r in results] == list(range(3, N_FRAMES))
    assert [(r.done, r.total) for r in results] == [(i, N_FRAMES - 3) for i in range(1, N_FRAMES - 2)]
    assert engine.resets == [[1, 2]]
    assert engine.calls[0] == (2, True, False)
    assert engine.calls[1:] == [(i, False, i == N_FRAMES - 1) for i in range(3, N_FRAMES)]
    records = ws.records()
    run = results[0].run
    for i in range(3, N_FRAMES):
        assert records[i].provenance == "propagated" and records[i].run == run
        np.testing.assert_array_equal(ws.read_mask(i), MASK_A)
        soft = ws.read_soft(i)
        assert soft.shape == (2, *SHAPE) and soft.max() == 230  # 0.9 after normalisation over 3 channels
    assert 0 not in records and 1 not in records
    assert ws.runs()[run].start == 2 and not ws.runs()[run].backward


def test_backward_to_frame_zero(ws: Workspace) -> None:
    ws.write_frame(7, MASK_A, provenance="user:click")
    engine = FakeEngine()
    results = list(propagate(ws, engine, PropagationRequest(7, backward=True)))
    assert [r.frame for r in results] == [6, 5, 4, 3, 2, 1, 0]
    assert [c[0] for c in engine.calls] == [7, 6, 5, 4, 3, 2, 1, 0]
    assert engine.calls[-1] == (0, False, True)
    assert all(r.direction == "backward" for r in results)
    assert sorted(ws.records()) == list(range(8))
    assert ws.runs()[results[0].run].backward


def test_range_stops_at_end_inclusive(ws: Workspace) -> None:
    ws.write_frame(2, MASK_A, provenance="user:click")
    engine = FakeEngine()
    results = list(propagate(ws, engine, PropagationRequest(2, end=5)))
    assert [r.frame for r in results] == [3, 4, 5]
    assert engine.calls[-1] == (5, False, True)
    assert sorted(ws.records()) == [2, 3, 4, 5]


def test_user_frames_are_inputs_and_never_overwritten(ws: Workspace) -> None:
    ws.write_frame(2, MASK_A, provenance="user:click")
    ws.write_frame(6, MASK_B, provenance="user:scribble")
    before = ws.mask_path(6).read_bytes()
    engine = FakeEngine()
    results = {r.frame: r for r in propagate(ws, engine, PropagationRequest(2))}
    assert (6, True, False) in engine.calls
    assert results[6].input and not results[5].input
    assert ws.mask_path(6).read_bytes() == before
    assert ws.records()[6].provenance == "user:scribble"
    np.testing.assert_array_equal(ws.read_mask(5), MASK_A)
    for i in range(7, N_FRAMES):  # the later annotation drives the frames after it
        np.testing.assert_array_equal(ws.read_mask(i), MASK_B)
    assert journal_writes(ws, 6) == 1


def test_until_keyframe_stops_before_the_next_user_frame(ws: Workspace) -> None:
    ws.write_frame(2, MASK_A, provenance="user:click")
    ws.write_frame(6, MASK_B, provenance="user:click")
    engine = FakeEngine()
    assert [r.frame for r in propagate(ws, engine, PropagationRequest(2, until_keyframe=True))] == [3, 4, 5]
    assert engine.calls[-1] == (5, False, True)
    engine = FakeEngine()
    backward_to_keyframe = PropagationRequest(6, backward=True, until_keyframe=True)
    assert [r.frame for r in propagate(ws, engine, backward_to_keyframe)] == [5, 4, 3]
    assert ws.records()[2].user


def test_objects_added_on_a_later_user_frame_are_tracked_from_the_start(ws: Workspace) -> None:
    only_one = user_mask((5, 20, 5, 25))
    ws.write_frame(0, only_one, provenance="user:click")
    engine = FakeEngine()
    list(propagate(ws, engine, PropagationRequest(0, end=3)))
    assert engine.resets == [[1]]
    three = MASK_B.copy()
    three[0:4, 0:4] = 3
    ws.write_frame(8, three, provenance="user:click")
    engine = FakeEngine()
    list(propagate(ws, engine, PropagationRequest(0)))
    assert engine.resets == [[1, 2, 3]]


def test_start_frame_without_mask_is_a_user_error(ws: Workspace) -> None:
    with pytest.raises(WorkspaceError, match="annotate frame 3 first"):
        list(propagate(ws, FakeEngine(), PropagationRequest(3)))
    ws.write_frame(3, MASK_A, provenance="user:click")
    with pytest.raises(WorkspaceError, match="add --backward"):
        list(propagate(ws, FakeEngine(), PropagationRequest(3, end=1)))
    with pytest.raises(WorkspaceError, match="out of range"):
        list(propagate(ws, FakeEngine(), PropagationRequest(3, end=N_FRAMES)))


def test_masks_appear_on_disk_frame_by_frame(ws: Workspace) -> None:
    ws.write_frame(0, MASK_A, provenance="user:click")
    for result in propagate(ws, FakeEngine(), PropagationRequest(0)):
        assert ws.mask_path(result.frame).exists()
        assert ws.soft_path(result.frame).exists()
        if result.frame + 1 < N_FRAMES:
            assert not ws.mask_path(result.frame + 1).exists()


def test_cancel_between_frames_leaves_a_consistent_workspace(ws: Workspace) -> None:
    ws.write_frame(0, MASK_A, provenance="user:click")
    stop = threading.Event()
    seen = []
    for result in propagate(ws, FakeEngine(), PropagationRequest(0), cancel=stop):
        seen.append(result.frame)
        if len(seen) == 4:
            stop.set()
    assert seen == [1, 2, 3, 4]
    assert sorted(ws.records()) == [0, 1, 2, 3, 4]
    for i in range(1, 5):
        assert ws.read_mask(i) is not None and ws.read_soft(i).shape == (2, *SHAPE)
    final = read_progress(ws.progress_path)
    assert final.stats["state"] == "cancelled" and final.done == 4
    # the lock is free again, and a callable works as a cancel flag too
    calls = iter([False, True])
    assert [r.frame for r in propagate(ws, FakeEngine(), PropagationRequest(4), cancel=lambda: next(calls))] == [5]


def test_closing_the_generator_counts_as_cancel_and_frees_the_lock(ws: Workspace) -> None:
    ws.write_frame(0, MASK_A, provenance="user:click")
    gen = propagate(ws, FakeEngine(), PropagationRequest(0))
    next(gen)
    gen.close()
    assert read_progress(ws.progress_path).stats["state"] == "cancelled"
    with ws.exclusive("propagate"):
        pass


def test_a_second_propagation_is_refused_while_one_runs(ws: Workspace) -> None:
    ws.write_frame(0, MASK_A, provenance="user:click")
    first = propagate(ws, FakeEngine(), PropagationRequest(0))
    next(first)
    with pytest.raises(WorkspaceBusy, match="already running"):
        next(propagate(ws, FakeEngine(), PropagationRequest(0)))
    assert len(list(first)) == N_FRAMES - 2


def test_engine_failure_publishes_failed_state(ws: Workspace) -> None:
    ws.write_frame(0, MASK_A, provenance="user:click")
    with pytest.raises(RuntimeError, match="engine failure"):
        list(propagate(ws, FakeEngine(fail_at=4), PropagationRequest(0)))
    final = read_progress(ws.progress_path)
    assert final.stats["state"] == "failed" and "engine failure" in final.message
    assert sorted(ws.records()) == [0, 1, 2, 3]


def test_frame_result_converts_to_progress(ws: Workspace) -> None:
    ws.write_frame(0, MASK_A, provenance="user:click")
    result: FrameResult = next(propagate(ws, FakeEngine(), PropagationRequest(0)))
    progress = result.to_progress()
    assert (progress.done, progress.total, progress.frame) == (1, N_FRAMES - 1, 1)
    assert progress.stats["engine"] == "fake" and progress.stats["weight_free"] is True
    assert progress.stats["working_mem"] == 2 and progress.stats["device"] == "CPU"
    assert progress.stats["gpu_mem_total"] > 0


_READER = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    path = Path(sys.argv[1]); deadline = time.time() + 30; reads = torn = 0; dones = []
    while time.time() < deadline:
        try:
            text = path.read_text()
        except FileNotFoundError:
            continue
        try:
            data = json.loads(text)
        except ValueError:
            torn += 1
            continue
        reads += 1
        dones.append(data["done"])
        if data["stats"].get("state") in ("done", "failed", "cancelled"):
            break
    print(json.dumps({"reads": reads, "torn": torn, "dones": dones, "state": data["stats"]["state"]}))
""")


def test_progress_file_is_readable_by_another_process_while_written(ws: Workspace, tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "source" / "long", n=40)
    long_ws = Workspace.open(tmp_path / "workspace" / "long", clip, processing_size=48)
    long_ws.write_frame(0, MASK_A, provenance="user:click")
    reader = subprocess.Popen([sys.executable, "-c", _READER, str(long_ws.progress_path)],
                              stdout=subprocess.PIPE, text=True)
    list(propagate(long_ws, FakeEngine(delay=0.03), PropagationRequest(0)))
    out, _ = reader.communicate(timeout=60)
    report = json.loads(out)
    assert report["torn"] == 0 and report["state"] == "done"
    assert report["dones"][-1] == 39
    assert 3 <= len(set(report["dones"])) <= 39  # throttled: several updates, not one per frame
    assert report["dones"] == sorted(report["dones"])


_CRASHER = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    sys.path.insert(0, sys.argv[1])
    from test_propagate import FakeEngine
    from xmem_tui.inference.propagation import propagate
    from xmem_tui.inference.request import PropagationRequest
    from xmem_tui.workspace import Workspace
    ws = Workspace.open(Path(sys.argv[2]), Path(sys.argv[3]), processing_size=48)
    run = ws.begin_run(2, False)
    print(run, flush=True)
    for result in propagate(ws, FakeEngine(), PropagationRequest(2), run_id=run):
        if result.frame == int(sys.argv[4]):
            os.kill(os.getpid(), signal.SIGKILL)  # a crash: no cleanup, no final progress
""")


def test_resume_after_a_crash_loses_and_duplicates_no_frame(ws: Workspace) -> None:
    ws.write_frame(2, MASK_A, provenance="user:click")
    ws.write_frame(5, MASK_B, provenance="user:click")
    proc = subprocess.run([sys.executable, "-c", _CRASHER, str(Path(__file__).parent), str(ws.root),
                           str(ws.video_path), "7"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    run = proc.stdout.split()[0]
    assert resume_point(ws, run, 2) == 7
    before = {i: r.time for i, r in ws.records().items()}
    assert sorted(before) == [2, 3, 4, 5, 6, 7]
    engine = FakeEngine()
    results = list(propagate(ws, engine, PropagationRequest(2), run_id=run, resume_from=7))
    assert [r.frame for r in results] == list(range(8, N_FRAMES))
    assert results[0].done == 6 and results[-1].done == results[-1].total == N_FRAMES - 3
    # re-primed as the run began (the other user frame, then the start frame) and the last written frame
    assert engine.calls[:3] == [(5, True, False), (2, True, False), (7, True, False)]
    records = ws.records()
    assert all(records[i].time == before[i] for i in before)  # nothing before the resume point rewritten
    for i in range(3, N_FRAMES):
        if i != 5:
            assert records[i].run == run and journal_writes(ws, i) == 1, i
    for i in range(8, N_FRAMES):
        np.testing.assert_array_equal(ws.read_mask(i), MASK_B)
    assert resume_point(ws, run, 2) == N_FRAMES - 1


def test_quality_signals_are_recorded_per_written_frame(ws: Workspace) -> None:
    ws.write_frame(0, MASK_A, provenance="user:click")
    ws.write_frame(6, MASK_B, provenance="user:click")
    results = list(propagate(ws, FakeEngine(), PropagationRequest(0)))
    signals = load_signals(ws.quality_path)
    assert sorted(signals) == [1, 2, 3, 4, 5, 7, 8, 9, 10, 11]
    assert signals[1].prev == 0 and signals[7].prev == 6 and signals[7].run == results[0].run
    assert signals[3].objects[1].iou_prev == 1.0
    # the fake's soft masks are 0.9 everywhere an object is: ambiguity |1 - |2*0.9-1|| = 0.2
    assert signals[3].objects[1].uncertainty == pytest.approx(0.2, abs=0.01)
    # colours are compared with the annotated frame the run started from, then with the one it passed
    assert [signals[i].anchor for i in sorted(signals)] == [0] * 5 + [6] * 5
    assert all(o.colour is not None and o.colour_ref is not None for s in signals.values() for o in s.objects.values())


# --------------------------------------------------------------------------- real weight-free engine


@pytest.fixture(scope="module")
def synthetic_clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[np.ndarray]]:
    from xmem_tui.media.synthetic import SceneSpec, write_clip

    path = tmp_path_factory.mktemp("flow") / "scene.mp4"
    written = write_clip(path, SceneSpec(height=96, width=160, n_frames=16, n_objects=2, seed=5))
    return path, written.masks


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


@pytest.mark.parametrize("backward", [False, True])
def test_flow_engine_propagates_a_generated_clip(tmp_path: Path, synthetic_clip: tuple[Path, list[np.ndarray]],
                                                 backward: bool) -> None:
    from xmem_tui.inference.flow_engine import FlowEngine
    from xmem_tui.media.resize import mask_to_shape

    path, truth = synthetic_clip
    ws = Workspace.open(tmp_path / "ws", path, processing_size=96)
    truth = [mask_to_shape(t, ws.shape) for t in truth]
    start = len(truth) - 1 if backward else 0
    ws.write_frame(start, truth[start], provenance="user:import")
    results = list(propagate(ws, FlowEngine(), PropagationRequest(start, backward=backward)))
    assert len(results) == len(truth) - 1
    assert results[0].weight_free and "weight-free" in results[0].engine
    near = [r.frame for r in results[:5]]
    ious = [_iou(ws.read_mask(i) > 0, truth[i] > 0) for i in near]
    assert min(ious) > 0.65, ious
    # the objects move: the masks follow the frames they are stored under, not the start frame
    moved = near[-1]
    assert _iou(ws.read_mask(moved) > 0, truth[moved] > 0) > _iou(ws.read_mask(moved) > 0, truth[start] > 0) + 0.1
    assert len(load_signals(ws.quality_path)) == len(truth) - 1


def test_package_exports_propagate_lazily_and_callable(ws: Workspace) -> None:
    import xmem_tui.inference as inference

    ws.write_frame(0, MASK_A, provenance="user:click")
    results = list(inference.propagate(ws, FakeEngine(), PropagationRequest(0, end=2)))
    assert [r.frame for r in results] == [1, 2]
    fresh = ("import sys; from xmem_tui.inference import propagate; assert callable(propagate); "
             "from xmem_tui.inference import InferenceCore; print(InferenceCore.__name__)")
    out = subprocess.run([sys.executable, "-c", fresh], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "InferenceCore", out.stderr[-500:]


def test_a_failed_write_stops_the_run_with_the_error(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    ws.write_frame(0, MASK_A, provenance="user:click")
    real = ws.write_frame

    def write_frame(index: int, *args: object, **kwargs: object) -> object:
        if index == 4:
            raise OSError(28, "No space left on device")
        return real(index, *args, **kwargs)

    monkeypatch.setattr(ws, "write_frame", write_frame)
    seen = []
    with pytest.raises(OSError, match="No space left"):
        for result in propagate(ws, FakeEngine(), PropagationRequest(0)):
            seen.append(result.frame)
    assert seen == [1, 2, 3]
    assert sorted(ws.records()) == [0, 1, 2, 3]
    final = read_progress(ws.progress_path)
    assert final.stats["state"] == "failed" and "No space left" in final.message
