"""Engine service: device selection, threads, autocast, the GPU lock, engine choice and the warm cache."""

from __future__ import annotations

import logging
import os
import sys
import threading
import types
from pathlib import Path

import pytest
import torch

from xmem_tui.config import Settings, load_settings
from xmem_tui.errors import CheckpointError, ConfigError
from xmem_tui.inference import gpu, service
from xmem_tui.inference.flow_engine import FlowEngine
from xmem_tui.inference.registry import resolve_engine
from xmem_tui.inference.request import PropagationRequest
from xmem_tui.workspace import Workspace

sys.path.insert(0, str(Path(__file__).parent))
from test_propagate import MASK_A, N_FRAMES, FakeEngine, make_clip


def settings_in(project: Path, **overrides: object) -> Settings:
    return load_settings(None, overrides, project_dir=project)


def test_select_device_on_a_cpu_machine(tmp_path: Path) -> None:
    if torch.cuda.is_available():
        pytest.skip("checks the CPU fallback")
    assert gpu.select_device(settings_in(tmp_path, **{"processing.device": "cpu"})).type == "cpu"
    mps = getattr(torch.backends, "mps", None)
    auto = gpu.select_device(settings_in(tmp_path))
    assert auto.type == ("mps" if mps is not None and mps.is_available() else "cpu")
    with pytest.raises(ConfigError, match="CUDA is not available"):
        gpu.select_device(settings_in(tmp_path, **{"processing.device": "cuda:0"}))


def test_threads_setting_is_applied(tmp_path: Path) -> None:
    before = torch.get_num_threads()
    try:
        gpu.configure_threads(settings_in(tmp_path, **{"processing.threads": 1}))
        assert torch.get_num_threads() == 1
        gpu.configure_threads(settings_in(tmp_path, **{"processing.threads": 0}))
        assert torch.get_num_threads() == 1  # 0 leaves whatever is set
    finally:
        torch.set_num_threads(before)


def test_autocast_is_a_no_op_off_cuda() -> None:
    a = torch.ones(4, 4)
    with gpu.autocast_context(torch.device("cpu"), amp=True):
        assert not torch.is_autocast_enabled("cpu")
        assert (a @ a).dtype == torch.float32


def test_gpu_lock_is_process_wide_and_reentrant() -> None:
    lock = gpu.gpu_lock()
    assert lock is gpu.gpu_lock()
    got: list[bool] = []
    with lock, lock:
        worker = threading.Thread(target=lambda: got.append(lock.acquire(timeout=0.05)))
        worker.start()
        worker.join()
    assert got == [False]


def test_auto_without_weights_gives_the_weight_free_engine(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="xmem_tui.inference.service"):
        engine = service.build_engine(settings_in(tmp_path))
    assert isinstance(engine, FlowEngine) and engine.weight_free
    assert "weight-free" in caplog.text and "XMem.pth" in caplog.text
    assert resolve_engine(settings_in(tmp_path), "flow").name == "flow"


def test_xmem_without_weights_names_the_file_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError) as info:
        service.build_engine(settings_in(tmp_path), "xmem")
    text = str(info.value)
    assert str(tmp_path / "models" / "XMem.pth") in text and "xmem-tui models download" in text
    with pytest.raises(ConfigError, match="auto, xmem, cutie, flow"):
        resolve_engine(settings_in(tmp_path), "sam")


@pytest.fixture
def fake_xmem(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, object]]:
    """Stands in for xmem_tui.inference.xmem_engine so wiring and caching are tested without 62 M weights."""
    calls: list[tuple[str, object]] = []

    class XMemEngine:
        name, weight_free = "XMem", False

        def __init__(self, network: object, core_config: dict, device: torch.device, amp: bool) -> None:
            calls.append(("engine", (network, core_config, device, amp)))
            self.device = device

    def load_xmem(path: Path, device: torch.device, backend: str) -> str:
        calls.append(("load", (path, device, backend)))
        return f"network from {path.name}"

    module = types.ModuleType("xmem_tui.inference.xmem_engine")
    module.XMemEngine, module.load_xmem = XMemEngine, load_xmem
    monkeypatch.setitem(sys.modules, "xmem_tui.inference.xmem_engine", module)
    return calls


def test_auto_with_weights_builds_xmem_from_the_settings(tmp_path: Path, fake_xmem: list) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "XMem.pth").write_bytes(b"weights")
    settings = settings_in(tmp_path, **{"processing.device": "cpu", "xmem.top_k": 20, "processing.amp": False})
    engine = service.build_engine(settings)
    assert engine.name == "XMem"
    assert fake_xmem[0] == ("load", (tmp_path / "models" / "XMem.pth", torch.device("cpu"), "auto"))
    network, core_config, device, amp = fake_xmem[1][1]
    assert network == "network from XMem.pth" and device == torch.device("cpu") and amp is False
    assert core_config["top_k"] == 20 and core_config["max_long_term_elements"] == 10000


def test_engine_cache_keeps_engines_warm_and_reloads_changed_weights(tmp_path: Path, fake_xmem: list) -> None:
    weights = tmp_path / "models" / "XMem.pth"
    weights.parent.mkdir()
    weights.write_bytes(b"weights")
    settings = settings_in(tmp_path, **{"processing.device": "cpu"})
    cache = service.EngineCache()
    first = cache.get(settings)
    assert cache.get(settings) is first and cache.get(settings, "xmem") is first
    flow = cache.get(settings, "flow")
    assert isinstance(flow, FlowEngine) and cache.get(settings, "flow") is flow
    assert len(cache) == 2 and [c[0] for c in fake_xmem].count("load") == 1
    torch_backend = settings_in(tmp_path, **{"processing.device": "cpu", "processing.backend": "torch"})
    assert cache.get(torch_backend) is not first
    assert fake_xmem[-2] == ("load", (weights, torch.device("cpu"), "torch"))
    other = settings_in(tmp_path, **{"processing.device": "cpu", "xmem.mem_every": 5})
    assert cache.get(other) is not first
    weights.write_bytes(b"new weights!")
    os.utime(weights, ns=(1, 1))
    third = cache.get(other)
    assert [c[0] for c in fake_xmem].count("load") == 4 and len(cache) == 2
    assert cache.get(other) is third
    cache.clear()
    assert len(cache) == 0


class _FakeCache:
    def __init__(self) -> None:
        self.engines: list[FakeEngine] = []

    def get(self, settings: Settings, kind: str | None = None) -> FakeEngine:
        self.engines.append(FakeEngine())
        return self.engines[-1]


def test_run_propagation_resumes_a_run_that_already_wrote_frames(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "source" / "clip")
    settings = settings_in(tmp_path)
    ws = Workspace.open(settings.workspace_dir / "clip", clip, processing_size=48)
    ws.write_frame(0, MASK_A, provenance="user:click")
    run_id = ws.begin_run(0, False)
    for i in (1, 2, 3):  # what a crashed attempt left behind
        ws.write_frame(i, MASK_A, provenance="propagated", run=run_id)
    cache = _FakeCache()
    frames = [r.frame for r in service.run_propagation(ws, settings, PropagationRequest(0, engine="flow"),
                                                       run_id=run_id, cache=cache)]
    assert frames == list(range(4, N_FRAMES))
    assert cache.engines[0].calls[:2] == [(0, True, False), (3, True, False)]
    fresh = [r.run for r in service.run_propagation(ws, settings, PropagationRequest(0, end=2, engine="flow"),
                                                    cache=cache)]
    assert len(set(fresh)) == 1 and fresh[0] != run_id
