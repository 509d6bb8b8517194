"""Priming a run's memory with the video's other annotated frames, and "clear memory" (keyframe_memory=False)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from xmem_tui.inference.propagation import propagate, resume_point
from xmem_tui.inference.quality import load_signals
from xmem_tui.inference.request import PropagationRequest
from xmem_tui.workspace import Workspace

from .test_propagate import MASK_A, MASK_B, N_FRAMES, FakeEngine, user_mask

MASK_C = user_mask((20, 40, 40, 70), second=True)


class SwitchEngine(FakeEngine):
    """A fake with XMem's ``permanent_masks`` switch; records the switch at every masked step."""

    def __init__(self) -> None:
        super().__init__()
        self.permanent_masks = True
        self.switch: list[tuple[int, bool]] = []

    def step(self, frame: np.ndarray, mask: np.ndarray | None = None, *, end: bool = False) -> np.ndarray:
        if mask is not None:
            self.switch.append((int(frame[0, 0, 0]) // 6, self.permanent_masks))
        return super().step(frame, mask, end=end)


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    from .test_propagate import make_clip

    clip = make_clip(tmp_path / "source" / "clip")
    ws = Workspace.open(tmp_path / "workspace" / "clip", clip, processing_size=48)
    ws.write_frame(2, MASK_C, provenance="user:click")
    ws.write_frame(6, MASK_A, provenance="user:click")
    ws.write_frame(9, MASK_B, provenance="user:scribble")
    return ws


def test_other_user_frames_are_fed_first_farthest_first_then_the_start(ws: Workspace) -> None:
    engine = FakeEngine()
    results = list(propagate(ws, engine, PropagationRequest(6)))
    assert engine.calls[:3] == [(2, True, False), (9, True, False), (6, True, False)]
    assert engine.calls[3:] == [(i, i == 9, i == N_FRAMES - 1) for i in range(7, N_FRAMES)]
    assert [r.frame for r in results] == list(range(7, N_FRAMES))
    np.testing.assert_array_equal(ws.read_mask(7), MASK_A)  # the start frame drives the run, not the primed
    np.testing.assert_array_equal(ws.read_mask(10), MASK_B)
    assert ws.records()[9].user and ws.records()[2].user


def test_progress_says_memory_is_being_loaded(ws: Workspace) -> None:
    from xmem_tui.progress import read_progress

    seen: list[str] = []

    class Watching(FakeEngine):
        def step(self, frame: np.ndarray, mask: np.ndarray | None = None, *, end: bool = False) -> np.ndarray:
            if len(self.calls) == 1:  # the second primed frame: the progress file was published before
                seen.append(read_progress(ws.progress_path).message)
            return super().step(frame, mask, end=end)

    list(propagate(ws, Watching(), PropagationRequest(6, end=8)))
    assert seen == ["loading 2 annotated frames into memory"]


def test_clear_memory_feeds_only_the_start_frame(ws: Workspace) -> None:
    engine = FakeEngine()
    list(propagate(ws, engine, PropagationRequest(6, clear_memory=True)))
    assert engine.calls[0] == (6, True, False)
    assert engine.calls[1:] == [(i, i == 9, i == N_FRAMES - 1) for i in range(7, N_FRAMES)]


def test_backward_until_keyframe_primes_the_keyframe_it_stops_before(ws: Workspace) -> None:
    engine = FakeEngine()
    results = list(propagate(ws, engine, PropagationRequest(6, backward=True, until_keyframe=True)))
    assert [r.frame for r in results] == [5, 4, 3]
    assert engine.calls == [(2, True, False), (9, True, False), (6, True, False), (5, False, False),
                            (4, False, False), (3, False, True)]


def test_a_primed_frame_that_is_the_run_end_is_still_memorised(ws: Workspace) -> None:
    engine = FakeEngine()
    list(propagate(ws, engine, PropagationRequest(6, end=9)))
    assert engine.calls[1] == (9, True, False)  # primed: not the "end" step, so it is memorised
    assert engine.calls[-1] == (9, True, True)


def test_labels_include_objects_only_on_primed_frames(ws: Workspace) -> None:
    mask = MASK_C.copy()
    mask[0:4, 0:4] = 3
    ws.write_frame(2, mask, provenance="user:click")
    engine = FakeEngine()
    list(propagate(ws, engine, PropagationRequest(6, end=8)))
    assert engine.resets == [[1, 2, 3]]


@pytest.mark.parametrize("keyframe_memory", [True, False])
def test_resume_covers_the_same_frames_as_an_uninterrupted_run(ws: Workspace, keyframe_memory: bool) -> None:
    run = ws.begin_run(2, False)
    gen = propagate(ws, FakeEngine(), PropagationRequest(2, clear_memory=not keyframe_memory), run_id=run)
    for result in gen:
        if result.frame == 7:
            gen.close()  # stopped mid-run (as a crash after frame 7 landed)
            break
    assert resume_point(ws, run, 2) == 7
    engine = SwitchEngine()
    request = PropagationRequest(2, clear_memory=not keyframe_memory)
    results = list(propagate(ws, engine, request, run_id=run, resume_from=7))
    assert [r.frame for r in results] == list(range(8, N_FRAMES))
    records = ws.records()
    assert sorted(records) == list(range(2, N_FRAMES))
    assert all(records[i].run == run for i in range(3, N_FRAMES) if i not in (6, 9))
    primed = [(9, True), (6, True), (2, True)] if keyframe_memory else [(2, True), (6, True)]
    # the last written frame seeds the engine but is not the user's, so it is not kept permanently
    assert engine.switch[:len(primed) + 1] == [*primed, (7, False)]
    assert engine.permanent_masks  # the switch is restored
    np.testing.assert_array_equal(ws.read_mask(8), MASK_A)
    np.testing.assert_array_equal(ws.read_mask(10), MASK_B)
    # quality signals go on as if uninterrupted: colours against the user frame last passed (6, then 9)
    signals = load_signals(ws.quality_path)
    assert [signals[i].anchor for i in (8, 10, 11)] == [6, 9, 9] and signals[8].prev == 7


def test_flow_engine_fed_non_adjacent_masks_follows_the_last_one() -> None:
    """Priming the flow engine with other keyframes: the last mask replaces its state, so propagation
    from the start frame matches an engine that only saw the start frame."""
    from xmem_tui.inference.flow_engine import FlowEngine
    from xmem_tui.media.synthetic import SceneSpec, render_scene

    frames, masks = render_scene(SceneSpec(height=72, width=120, n_frames=12, n_objects=2, seed=4))
    labels = sorted(int(v) for v in np.unique(np.concatenate([m.ravel() for m in masks])) if v)
    primed, fresh = FlowEngine(), FlowEngine()
    primed.reset(labels)
    fresh.reset(labels)
    for i in (11, 8):
        primed.step(frames[i], masks[i])
    out_primed = primed.step(frames[0], masks[0])
    out_fresh = fresh.step(frames[0], masks[0])
    np.testing.assert_array_equal(out_primed, out_fresh)  # the given mask replaces the state
    lut = np.array([0, *labels], np.uint8)
    for i in (1, 2, 3):
        a, b = lut[primed.step(frames[i]).argmax(0)], lut[fresh.step(frames[i]).argmax(0)]
        agree = float((a == b).mean())
        assert agree > 0.97, (i, agree)  # only the colour models (used for disocclusions) differ
    assert primed.memory_stats().working == 3 and fresh.memory_stats().working == 1
