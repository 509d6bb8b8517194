"""The propagate runner passes the dashboard's ``clear_memory`` job param on in its request (no keyframe memory)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from xmem_tui.config import load_settings
from xmem_tui.jobs.model import Job
from xmem_tui.jobs.runners import RunContext, get_runner


@pytest.mark.parametrize(("params", "keyframe_memory"), [
    ({"start": 0}, True),
    ({"start": 0, "clear_memory": False}, True),
    ({"start": 0, "clear_memory": True}, False),
])
def test_propagate_runner_honours_clear_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               params: dict[str, Any], keyframe_memory: bool) -> None:
    import xmem_tui.inference.service as service

    folder = tmp_path / "source" / "clip"
    folder.mkdir(parents=True)
    for i in range(3):
        cv2.imwrite(str(folder / f"{i:05d}.png"), np.full((32, 48, 3), 40 * i, np.uint8))
    (tmp_path / "config.toml").write_text("")
    calls: list[dict[str, Any]] = []

    def fake_run_propagation(ws: Any, settings: Any, request: Any, **kwargs: Any):
        calls.append({"start": request.start, "keyframe_memory": request.keyframe_memory, **kwargs})
        yield from ()

    monkeypatch.setattr(service, "run_propagation", fake_run_propagation)
    job = Job(id="j", kind="propagate", video="source/clip", params=params)
    ctx = RunContext(load_settings(tmp_path / "config.toml"), job)
    gen = get_runner("propagate")(job, ctx)
    with pytest.raises(StopIteration):
        next(gen)
    assert len(calls) == 1 and calls[0]["start"] == 0
    assert calls[0]["keyframe_memory"] is keyframe_memory
