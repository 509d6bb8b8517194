"""Job files: the TOML writer round-trips through tomllib, and parsing rejects what a worker must not run."""

from __future__ import annotations

import math
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xmem_tui.errors import JobError
from xmem_tui.jobs.model import Job, dumps, job_to_toml, new_id, parse_job

KINDS = frozenset({"propagate", "export"})

scalars = st.one_of(
    st.booleans(), st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False), st.text(alphabet=st.characters(exclude_categories=("Cs",))))
keys = st.text(min_size=1, max_size=12, alphabet=st.characters(exclude_categories=("Cs",)))
values = st.one_of(scalars, st.lists(scalars, max_size=4))
tables = st.recursive(st.dictionaries(keys, values, max_size=5),
                      lambda inner: st.dictionaries(keys, st.one_of(values, inner), max_size=4), max_leaves=12)


@given(tables)
def test_dumps_round_trips_through_tomllib(data: dict) -> None:
    assert tomllib.loads(dumps(data)) == data


def test_dumps_special_floats_and_dates() -> None:
    when = datetime(2026, 11, 25, 15, 0, 1, 250000, tzinfo=UTC)
    back = tomllib.loads(dumps({"a": math.inf, "b": -math.inf, "c": math.nan, "d": when, "p": Path("x/y")}))
    assert back["a"] == math.inf and back["b"] == -math.inf and math.isnan(back["c"])
    assert back["d"] == when and back["p"] == "x/y"


def test_dumps_refuses_what_toml_cannot_hold() -> None:
    with pytest.raises(TypeError):
        dumps({"a": [{"nested": 1}]})


def test_job_round_trip(tmp_path: Path) -> None:
    job = Job(id=new_id(), kind="propagate", video="source/a b.mp4", params={"start": 3, "end": None, "backward": True},
              created=1764082800.5, priority=2, attempts=1, started=1764082801.0, worker="host:12",
              result={"done": 5}, error='said "no"\nthen', resume={"run": "r1", "done": 4})
    back = parse_job(job_to_toml(job), job.id, "running", kinds=KINDS, project_dir=tmp_path)
    assert back == job.replace(state="running", params={"start": 3, "backward": True})


def test_ids_sort_by_creation_time() -> None:
    ids = [new_id(1764082800.0 + dt) for dt in (0.0, 0.000001, 0.5, 10.0, 1e6)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


@pytest.mark.parametrize(("text", "expected"), [
    ('kind = "propagate"\nvideo = "a.mp4"\n[params\n', "not valid TOML"),
    ('video = "a.mp4"\n', "missing required key 'kind'"),
    ('kind = "propagate"\n', "missing required key 'video'"),
    ('kind = "resize"\nvideo = "a.mp4"\n', "unknown kind 'resize'"),
    ('kind = "propagate"\nvideo = 3\n', "video must be a str"),
    ('kind = "propagate"\nvideo = "a.mp4"\npriority = "high"\n', "priority must be a int"),
    ('kind = "propagate"\nvideo = "a.mp4"\nparams = 4\n', "params must be a dict"),
    ('kind = "propagate"\nvideo = "../elsewhere/a.mp4"\n', "points outside the project"),
    ('kind = "propagate"\nvideo = "/etc/passwd"\n', "points outside the project"),
    ('kind = "propagate"\nvideo = "source/../../a.mp4"\n', "points outside the project"),
    ('kind = "export"\nvideo = "a.mp4"\n[params]\noutput = "/tmp/out.mp4"\n', "params.output"),
    ('kind = "export"\nvideo = "a.mp4"\n[params]\noutput = 5\n', "must be a path string"),
    ('kind = "propagate"\nvideo = "a.mp4"\nende = 5\n', "unknown key 'ende'"),
    ('kind = "propagate"\nvideo = "a.mp4"\npriority = -5000\n', "priority = -5000 is out of range"),
    ('kind = "propagate"\nvideo = "a.mp4"\nattempts = -1\n', "attempts = -1 is out of range"),
    ('kind = "propagate"\nvideo = "a.mp4"\ncreated = 1e300\n', "created = 1e+300 is not a time"),
    ('kind = "propagate"\nvideo = "a.mp4"\nstarted = nan\n', "started = nan is not a time"),
])
def test_parse_rejects_bad_job_files(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(JobError, match=r"^job j1: ") as info:
        parse_job(text, "j1", "queued", kinds=KINDS, project_dir=tmp_path / "project")
    assert expected in str(info.value)


def test_paths_inside_the_project_are_accepted(tmp_path: Path) -> None:
    inside = tmp_path / "source" / "a.mp4"
    text = f'kind = "export"\nvideo = "{inside}"\n[params]\noutput = "exports/sub/../a.mov"\n'
    job = parse_job(text, "j1", "queued", kinds=KINDS, project_dir=tmp_path)
    assert job.video == str(inside) and job.params["output"] == "exports/sub/../a.mov"


def test_odd_result_values_are_stored_as_plain_toml(tmp_path: Path) -> None:
    import numpy as np

    job = Job(id="j", kind="export", video="a.mp4",
              result={"n": np.int64(3), "f": np.float32(0.5), "p": tmp_path / "x", "o": object, "l": (1, None, 2)})
    back = parse_job(job_to_toml(job), "j", "done").result
    assert back == {"n": 3, "f": 0.5, "p": str(tmp_path / "x"), "o": str(object), "l": [1, 2]}


def test_a_symlinked_source_video_is_accepted_but_a_symlinked_output_folder_is_not(tmp_path: Path) -> None:
    project, footage = tmp_path / "project", tmp_path / "footage"
    (project / "source").mkdir(parents=True)
    (project / "exports").mkdir()
    footage.mkdir()
    (footage / "clip.mp4").write_bytes(b"")
    (project / "source" / "clip.mp4").symlink_to(footage / "clip.mp4")
    (project / "exports" / "link").symlink_to(footage, target_is_directory=True)
    text = 'kind = "export"\nvideo = "source/clip.mp4"\n[params]\noutput = "exports/a.mov"\n'
    assert parse_job(text, "j1", "queued", kinds=KINDS, project_dir=project).video == "source/clip.mp4"
    escaping = text.replace("exports/a.mov", "exports/link/a.mov")
    with pytest.raises(JobError, match="points outside the project"):
        parse_job(escaping, "j1", "queued", kinds=KINDS, project_dir=project)
