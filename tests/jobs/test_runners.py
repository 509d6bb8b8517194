"""Runner registry and the export/propagate runners' argument handling (in-process, no real engines)."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

from xmem_tui.config import load_settings
from xmem_tui.errors import JobError
from xmem_tui.export.request import ExportRequest, ExportResult
from xmem_tui.jobs.model import Job
from xmem_tui.jobs.runners import JobKind, RunContext, get_runner, register_job_kind, runner_kinds, unregister_job_kind
from xmem_tui.progress import Progress


def _ctx(tmp_path: Path, job: Job, cancelled: bool = False) -> RunContext:
    (tmp_path / "config.toml").write_text("")
    return RunContext(load_settings(tmp_path / "config.toml"), job, cancelled=lambda: cancelled)


def _drain(gen):  # -> (progress list, return value)
    items = []
    while True:
        try:
            items.append(next(gen))
        except StopIteration as stop:
            return items, stop.value


def test_builtin_and_registered_kinds() -> None:
    assert runner_kinds() == {"propagate", "export"}
    later = JobKind("later", get_runner("export"))
    register_job_kind(later)
    try:
        assert runner_kinds() == {"propagate", "export", "later"} and get_runner("later") is later.run
        with pytest.raises(ValueError, match="job kind 'later' is already registered"):
            register_job_kind(later)
    finally:
        unregister_job_kind("later")
    assert runner_kinds() == {"propagate", "export"}
    with pytest.raises(JobError, match="unknown job kind 'nope'"):
        get_runner("nope")


def test_export_runner_calls_run_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def run_export(request, settings, video, cancelled):
        calls.append((request, settings.project_dir, video, cancelled()))
        yield Progress(done=1, total=2)
        yield Progress(done=2, total=2)
        return ExportResult(outputs=("exports/a.mov",))

    monkeypatch.setitem(sys.modules, "xmem_tui.export.job", types.SimpleNamespace(run_export=run_export))
    job = Job(id="j", kind="export", video="source/a.mp4", params={"kind": "alpha"})
    items, result = _drain(get_runner("export")(job, _ctx(tmp_path, job, cancelled=True)))
    assert [p.done for p in items] == [1, 2] and result == ExportResult(outputs=("exports/a.mov",))
    assert calls == [(ExportRequest(kind="alpha"), tmp_path.resolve(), tmp_path.resolve() / "source" / "a.mp4", True)]


def test_export_runner_without_the_export_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "xmem_tui.export.job", None)  # import fails
    job = Job(id="j", kind="export", video="a.mp4")
    with pytest.raises(JobError, match="exporting is not available"):
        _drain(get_runner("export")(job, _ctx(tmp_path, job)))


@pytest.mark.parametrize(("params", "message"), [
    ({}, "params.start is missing"),
    ({"start": "zero"}, "params.start must be a frame number"),
    ({"start": 0, "end": True}, "params.end must be a frame number"),
    ({"start": 0, "ned": 5}, "params.ned is not a parameter of this job; allowed: start, end, backward"),
])
def test_propagate_runner_checks_params(tmp_path: Path, params: dict, message: str) -> None:
    job = Job(id="j", kind="propagate", video="a.mp4", params=params)
    with pytest.raises(JobError, match=message):
        _drain(get_runner("propagate")(job, _ctx(tmp_path, job)))
