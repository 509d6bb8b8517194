"""Pre-flight memory estimate, and out-of-memory retry with a simulated CUDA OOM during a propagation."""

from __future__ import annotations

import dataclasses
import logging
import sys
from pathlib import Path

import pytest
import torch

from xmem_tui.config import Settings, load_settings
from xmem_tui.inference.estimate import (
    OutOfMemory,
    estimate_memory,
    feature_positions,
    is_oom,
    preflight,
    reduced_settings,
    run_with_oom_retry,
)
from xmem_tui.inference.gpu import DeviceMemory
from xmem_tui.inference.propagation import propagate, resume_point
from xmem_tui.inference.request import PropagationRequest
from xmem_tui.workspace import Workspace

sys.path.insert(0, str(Path(__file__).parent))
from test_propagate import MASK_A, N_FRAMES, FakeEngine, make_clip

GiB = 1 << 30


@pytest.fixture
def settings() -> Settings:
    return load_settings(None, project_dir=Path("/nonexistent"))


def test_feature_positions_pad_to_multiples_of_16() -> None:
    assert feature_positions((480, 854)) == 30 * 54
    assert feature_positions((16, 16)) == 1 and feature_positions((17, 16)) == 2


def test_estimate_grows_with_resolution_objects_and_budget(settings: Settings) -> None:
    base = estimate_memory(settings, (480, 854), 1, device="cpu", free=GiB)
    assert estimate_memory(settings, (720, 1280), 1, free=GiB).total > base.total
    assert estimate_memory(settings, (480, 854), 4, free=GiB).total > base.total
    small = dataclasses.replace(settings, xmem=dataclasses.replace(settings.xmem, max_long_term_elements=1000))
    assert estimate_memory(small, (480, 854), 1, free=GiB).total < base.total
    no_lt = dataclasses.replace(settings, xmem=dataclasses.replace(settings.xmem, enable_long_term=False))
    assert estimate_memory(no_lt, (480, 854), 1, free=GiB).parts["long-term memory"] == 0
    # weights alone are 62 M float32 parameters: the estimate can never be below that
    assert base.parts["weights"] == 62_220_354 * 4 and base.total > 250e6
    # an independent count of the long-term store: 10,128 elements x (64+1+64+2 float32 + 512 float32 values)
    assert base.parts["long-term memory"] == (10_000 + 128) * (4 * 131 + 4 * 512)
    flow = estimate_memory(settings, (480, 854), 1, engine="flow", free=GiB)
    assert "weights" not in flow.parts and flow.total < base.total


def test_fits_and_preflight_warning(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    assert estimate_memory(settings, (480, 854), 2, free=64 * GiB).fits is True
    assert estimate_memory(settings, (480, 854), 2, free=1 << 20).fits is False
    assert estimate_memory(settings, (64, 64), 1, device="cpu").free is not None  # /proc/meminfo here
    with caplog.at_level(logging.INFO, logger="xmem_tui.inference.estimate"):
        est = preflight(settings, (2160, 3840), 9, engine="xmem", device="cpu")
    assert "estimated peak memory on CPU" in caplog.text
    if est.fits is False:
        assert "processing.size" in caplog.text and "xmem.max_long_term_elements" in caplog.text


def test_is_oom_recognises_torch_errors() -> None:
    assert is_oom(torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    assert is_oom(RuntimeError("MPS backend out of memory"))
    assert not is_oom(RuntimeError("shape mismatch"))
    assert not is_oom(ValueError("out of memory"))


def test_reduced_settings_halve_the_budget_until_they_cannot(settings: Settings) -> None:
    smaller = reduced_settings(settings, "xmem")
    assert smaller.xmem.max_long_term_elements == 5000
    assert smaller.xmem.max_mid_term_frames == 6  # min_mid_term_frames (5) + 1 beats 10 // 2
    floor = dataclasses.replace(settings, xmem=dataclasses.replace(
        settings.xmem, max_long_term_elements=128, num_prototypes=128, max_mid_term_frames=6))
    assert reduced_settings(floor, "xmem") is None


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    clip = make_clip(tmp_path / "source" / "clip")
    ws = Workspace.open(tmp_path / "workspace" / "clip", clip, processing_size=48)
    ws.write_frame(1, MASK_A, provenance="user:click")
    return ws


def _runner(ws: Workspace, engines: list[FakeEngine], used: list[Settings], run_id: str):
    def run(current: Settings, attempt: int):
        used.append(current)
        resume = resume_point(ws, run_id, 1)
        yield from propagate(ws, engines[attempt], PropagationRequest(1), run_id=run_id, resume_from=resume)
    return run


def test_oom_retry_resumes_with_a_smaller_budget(ws: Workspace, settings: Settings) -> None:
    oom = torch.cuda.OutOfMemoryError("CUDA out of memory")
    engines = [FakeEngine(fail_at=6, error=oom), FakeEngine()]
    used: list[Settings] = []
    notes: list[str] = []
    run_id = ws.begin_run(1, False)
    frames = [r.frame for r in run_with_oom_retry(_runner(ws, engines, used, run_id), settings, engine="xmem",
                                                  on_retry=notes.append)]
    assert frames == list(range(2, N_FRAMES))  # 2-5 before the OOM, 6-11 after: none twice, none lost
    assert used[1].xmem.max_long_term_elements == 5000 and used[1].xmem.max_mid_term_frames == 6
    assert "xmem.max_long_term_elements 10000 -> 5000" in notes[0]
    assert engines[1].calls[:2] == [(1, True, False), (5, True, False)]  # re-primed, resumed after 5
    assert all(r.run == run_id for i, r in ws.records().items() if i != 1)


def test_second_oom_fails_naming_the_keys(ws: Workspace, settings: Settings) -> None:
    oom = torch.cuda.OutOfMemoryError("CUDA out of memory")
    engines = [FakeEngine(fail_at=4, error=oom), FakeEngine(fail_at=8, error=oom)]
    with pytest.raises(OutOfMemory) as info:
        list(run_with_oom_retry(_runner(ws, engines, [], ws.begin_run(1, False)), settings, engine="xmem"))
    text = str(info.value)
    for key in ("processing.size", "xmem.max_long_term_elements", "xmem.max_mid_term_frames"):
        assert key in text
    assert "5000" in text  # the values it failed with
    assert sorted(ws.records()) == list(range(1, 8))  # what was written stays


def test_other_errors_are_not_retried(ws: Workspace, settings: Settings) -> None:
    engines = [FakeEngine(fail_at=4), FakeEngine()]
    used: list[Settings] = []
    with pytest.raises(RuntimeError, match="engine failure"):
        list(run_with_oom_retry(_runner(ws, engines, used, ws.begin_run(1, False)), settings, engine="xmem"))
    assert len(used) == 1


def test_annotated_frames_in_permanent_memory_are_counted(settings: Settings) -> None:
    none = estimate_memory(settings, (480, 854), 2, free=GiB)
    many = estimate_memory(settings, (480, 854), 2, free=GiB, permanent_frames=20)
    assert none.parts["annotated frames"] == 0
    assert many.parts["annotated frames"] > 0 and many.total > none.total


def test_cutie_shrinks_its_own_budget_and_stays_a_valid_config(settings: Settings) -> None:
    smaller = reduced_settings(settings, "cutie")
    c = smaller.cutie
    assert (c.long_term_max_num_tokens, c.long_term_buffer_tokens, c.long_term_max_mem_frames) == (5000, 1000, 6)
    assert smaller.xmem == settings.xmem  # XMem's budget is not Cutie's
    steps = 0
    while smaller is not None:  # every step is a config the settings loader accepts, until the floor
        values = {f"cutie.{k}": v for k, v in dataclasses.asdict(smaller.cutie).items()}
        assert load_settings(None, values, project_dir=Path("/nonexistent")).cutie == smaller.cutie
        smaller, steps = reduced_settings(smaller, "cutie"), steps + 1
    assert 3 <= steps < 20
    fifo = dataclasses.replace(settings, cutie=dataclasses.replace(settings.cutie, use_long_term=False))
    assert reduced_settings(fifo, "cutie").cutie.max_mem_frames == 2
    assert reduced_settings(reduced_settings(fifo, "cutie"), "cutie") is None
    assert reduced_settings(settings, "flow") is None  # nothing to shrink: the message names processing.size


def test_cutie_oom_retry_and_message_name_cutie_keys(ws: Workspace, settings: Settings) -> None:
    oom = torch.cuda.OutOfMemoryError("CUDA out of memory")
    engines = [FakeEngine(fail_at=4, error=oom), FakeEngine(fail_at=8, error=oom)]
    used: list[Settings] = []
    notes: list[str] = []
    with pytest.raises(OutOfMemory) as info:
        list(run_with_oom_retry(_runner(ws, engines, used, ws.begin_run(1, False)), settings, engine="cutie",
                                on_retry=notes.append))
    assert used[1].cutie.long_term_max_num_tokens == 5000
    assert "cutie.long_term_max_num_tokens 10000 -> 5000 and cutie.long_term_max_mem_frames 10 -> 6" in notes[0]
    text = str(info.value)
    assert "\n" not in text and "xmem." not in text
    for key in ("processing.size (now 480)", "cutie.long_term_max_num_tokens (now 5000)",
                "cutie.long_term_max_mem_frames (now 6)", "cutie.max_mem_frames (now 5)"):
        assert key in text


def test_cutie_estimate_is_its_own_memory_model(settings: Settings, caplog: pytest.LogCaptureFixture,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from xmem_tui.inference.cutie.estimate import CUTIE_PARAMS, cutie_memory_parts

    est = estimate_memory(settings, (480, 854), 2, engine="cutie", free=GiB, permanent_frames=3)
    assert est.parts == cutie_memory_parts((480, 854), 2, settings.cutie.core_config(), permanent_frames=3)
    assert est.parts["weights"] == CUTIE_PARAMS * 4
    small = dataclasses.replace(settings, cutie=dataclasses.replace(settings.cutie, long_term_max_num_tokens=3000))
    assert estimate_memory(small, (480, 854), 2, engine="cutie", free=GiB).total < est.total
    tight = DeviceMemory(device="CPU", used=0, peak=0, total=GiB, free=GiB // 4)
    monkeypatch.setattr("xmem_tui.inference.estimate.device_memory", lambda device: tight)
    with caplog.at_level(logging.INFO, logger="xmem_tui.inference.estimate"):
        assert preflight(settings, (480, 854), 2, engine="cutie", device="cpu").fits is False
    assert "exceeds the free memory" in caplog.text
    assert "lower processing.size, cutie.long_term_max_num_tokens" in caplog.text and "xmem." not in caplog.text
