"""Property tests not present elsewhere: job files from hostile text, whole Job round trips, mask files.

Already covered and not repeated: ``dumps`` round trips (tests/jobs/test_model.py), frame index <->
timestamp mapping (tests/media/test_timeline.py), composition of edits (tests/interaction/test_compose.py).
"""

from __future__ import annotations

import math
import tempfile
from datetime import UTC
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from xmem_tui.errors import JobError
from xmem_tui.jobs.model import STATES, Job, dumps, job_to_toml, parse_job
from xmem_tui.media.masks import read_index_mask, read_mask_text, read_soft_mask, write_index_mask, write_soft_mask

KINDS = frozenset({"propagate", "export"})
text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=30)
scalar = st.one_of(st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False), text)
toml_value = st.one_of(
    scalar, st.datetimes(timezones=st.just(UTC)), st.datetimes(), st.dates(), st.lists(scalar, max_size=3),
    st.floats())
FIELDS = ["kind", "video", "params", "state", "created", "priority", "attempts", "started", "finished", "worker",
          "error", "raw", "resume", "result"]
hostile_tables = st.recursive(
    st.dictionaries(st.one_of(st.sampled_from(FIELDS), text.filter(bool)), toml_value, max_size=8),
    lambda inner: st.dictionaries(st.one_of(st.sampled_from(FIELDS), text.filter(bool)),
                                  st.one_of(toml_value, inner), max_size=6),
    max_leaves=20)


def _parses_or_job_error(source: str, project: Path) -> None:
    for kinds, project_dir in ((None, None), (KINDS, project)):
        try:
            job = parse_job(source, "j", "queued", kinds=kinds, project_dir=project_dir)
        except JobError as exc:
            assert str(exc).startswith("job j: ")
        else:
            assert isinstance(job, Job)


#: Hand-written TOML the generators below cannot produce (``dumps`` writes no times, no huge integers).
TRICKY = [
    'kind = "propagate"\nvideo = "a.mp4"\ncreated = 07:32:00\n',
    'kind = "propagate"\nvideo = "a.mp4"\nstarted = 1979-05-27\n',
    'kind = "propagate"\nvideo = "a.mp4"\ncreated = 0001-01-01T00:00:00+23:59\n',
    'kind = "propagate"\nvideo = "a.mp4"\nfinished = 9999-12-31T23:59:59-23:59\n',
    'kind = "propagate"\nvideo = "a.mp4"\npriority = 999999999999999999999999999999\n',
    'kind = "propagate"\nvideo = "a.mp4"\ncreated = 1e400\n',
    'kind = "propagate"\nvideo = "a.mp4"\ncreated = nan\n',
    'kind = "propagate"\nvideo = "a\\u0000b.mp4"\n',
    'kind = "propagate"\nvideo = ""\n',
    'kind = "export"\nvideo = "a.mp4"\n[params]\nout = ["x", "y"]\n',
    'kind = "export"\nvideo = "a.mp4"\nparams = [1, 2]\n',
    'kind = "export"\nvideo = "a.mp4"\nresume = "x"\nresult = []\n',
    'kind = "export"\nvideo = "~/../../etc/passwd"\n',
    '\ufeffkind = "export"\nvideo = "a.mp4"\n',
]


@given(st.text(max_size=400))
def test_parse_job_on_arbitrary_text_raises_only_job_error(source: str) -> None:
    _parses_or_job_error(source, Path("/nonexistent/project"))


@pytest.mark.parametrize("source", TRICKY)
def test_parse_job_on_tricky_toml_raises_only_job_error(source: str) -> None:
    _parses_or_job_error(source, Path("/nonexistent/project"))


@given(hostile_tables)
def test_parse_job_on_wellformed_toml_of_any_shape_raises_only_job_error(table: dict) -> None:
    """Valid TOML with the right keys holding the wrong types, dates, times, NaN, huge ints, nesting..."""
    _parses_or_job_error(dumps(table), Path("/nonexistent/project"))


relative_path = st.lists(st.text(alphabet="abcXYZ019 _-.é", min_size=1, max_size=8).filter(
    lambda p: p not in (".", "..")), min_size=1, max_size=3).map("/".join)
params = st.dictionaries(text.filter(bool), st.one_of(scalar, st.lists(scalar, max_size=3)), max_size=4)
micros = st.integers(0, 4_102_444_800_000_000).map(lambda us: us / 1_000_000)  # up to year 2100, in µs


@given(st.builds(
    Job, id=st.just("20260101T000000000000-abcdef"), kind=st.sampled_from(sorted(KINDS)), video=relative_path,
    params=params, state=st.sampled_from(STATES), created=micros, priority=st.integers(-100, 100),
    attempts=st.integers(0, 5), started=st.none() | micros, finished=st.none() | micros, worker=text,
    result=params, error=text, resume=params, raw=text))
def test_job_round_trips_through_its_file(job: Job) -> None:
    back = parse_job(job_to_toml(job), job.id, job.state, kinds=KINDS, project_dir=Path("/project"))
    for name in ("created", "started", "finished"):
        a, b = getattr(job, name), getattr(back, name)
        assert (a is None) == (b is None) and (a is None or math.isclose(a, b, abs_tol=1e-6)), (name, a, b)
    same = {k: getattr(job, k) for k in ("id", "kind", "video", "params", "state", "priority", "attempts",
                                         "worker", "result", "error", "resume", "raw")}
    assert same == {k: getattr(back, k) for k in same}


shapes = st.tuples(st.integers(1, 40), st.integers(1, 40))
png_text = st.dictionaries(st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1,
                                   max_size=20), st.text(max_size=60).filter(lambda s: "\x00" not in s), max_size=3)


@given(shapes.flatmap(lambda s: arrays(np.uint8, s)), png_text)
def test_palette_mask_round_trips_with_its_text(mask: np.ndarray, meta: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "00001.png"
        write_index_mask(path, mask, text=meta)
        np.testing.assert_array_equal(read_index_mask(path), mask)
        assert read_mask_text(path) == meta


@given(st.integers(1, 5).flatmap(lambda k: shapes.flatmap(lambda s: arrays(np.uint8, (k, *s)))))
def test_soft_mask_stack_round_trips(soft: np.ndarray) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "00001.png"
        write_soft_mask(path, soft)
        np.testing.assert_array_equal(read_soft_mask(path, soft.shape[0]), soft)
