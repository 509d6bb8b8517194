"""Typed requests and results: stored whole in a job file, rebuilt exactly, every mistake named."""

from __future__ import annotations

import dataclasses
import re

import pytest

from xmem_tui.errors import JobError
from xmem_tui.export.request import ExportRequest, ExportResult
from xmem_tui.inference.request import PropagationRequest, PropagationResult
from xmem_tui.jobs.model import Job, job_to_toml, parse_job
from xmem_tui.params import read_result, to_params


@pytest.mark.parametrize("request_", [
    PropagationRequest(start=3),
    PropagationRequest(start=9, end=2, backward=True, until_keyframe=True, engine="flow", clear_memory=True),
    ExportRequest(),
    ExportRequest(kind="mask", objects=(1, 3), per_object=True, feather=1.5, crf=20, out="exports/a.mkv"),
    ExportRequest(kind="greenscreen", objects="1,2", despill=False),
])
def test_a_request_survives_the_job_file(request_) -> None:
    job = Job(id="j", kind="x", video="source/a.mp4", params=request_.to_params())
    stored = parse_job(job_to_toml(job), "j", "queued").params
    assert type(request_).from_params(stored, "job j") == request_


def test_every_field_with_a_value_is_stored() -> None:
    assert PropagationRequest(start=4, engine="auto").to_params() == {
        "start": 4, "backward": False, "until_keyframe": False, "engine": "auto", "clear_memory": False}
    assert ExportRequest(kind="alpha", objects=(2,)).to_params() == {"kind": "alpha", "objects": [2]}


@pytest.mark.parametrize(("params", "message"), [
    ({"kind": "mask", "feathr": 2}, "params.feathr is not a parameter of this job; allowed: kind, preset"),
    ({"crf": "high"}, "params.crf must be a whole number, got 'high'"),
    ({"crf": 1.5}, "params.crf must be a whole number"),
    ({"despill": 1}, "params.despill must be true or false, got 1"),
    ({"objects": [1, "x"]}, "params.objects must be a string or a list of whole numbers"),
])
def test_export_params_are_checked(params: dict, message: str) -> None:
    with pytest.raises(JobError, match=message):
        ExportRequest.from_params(params, "job j")


def test_numbers_widen_only_where_it_is_exact() -> None:
    assert ExportRequest.from_params({"feather": 2}, "job j").feather == 2.0
    with pytest.raises(JobError, match=r"params\.end must be a frame number, got 2\.0"):
        PropagationRequest.from_params({"start": 0, "end": 2.0}, "job j")


def test_results_are_read_leniently() -> None:
    stored = to_params(PropagationResult(done=5, total=9, run="r1", engine="XMem", resumed_after=3, complete=False))
    assert read_result(PropagationResult, stored) == PropagationResult(done=5, total=9, run="r1", engine="XMem",
                                                                       resumed_after=3, complete=False)
    # an older or foreign job file: unknown keys and wrong types are dropped, never raised
    odd = read_result(ExportResult, {"outputs": ["a.mkv"], "done": "many", "units": 4})
    assert (odd.outputs, odd.done, odd.output, odd.check()) == (("a.mkv",), 0, "a.mkv", "")


def test_ranges_in_field_metadata_are_checked() -> None:
    from xmem_tui.params import JobRequest

    @dataclasses.dataclass(frozen=True)
    class Ranged(JobRequest):
        start: int = dataclasses.field(default=0, metadata={"lo": 0})
        strength: float = dataclasses.field(default=0.5, metadata={"lo": 0, "hi": 1})

    assert Ranged.from_params({"start": 3, "strength": 1}, "job j") == Ranged(3, 1.0)
    for params, message in (({"start": -1}, "params.start = -1 is out of range; allowed from 0"),
                            ({"strength": 1.5}, "params.strength = 1.5 is out of range; allowed from 0 to 1")):
        with pytest.raises(JobError, match=re.escape(message)):
            Ranged.from_params(params, "job j")
