"""What a job is on disk: the :class:`Job` record, its TOML form and the checks a job file must pass.

A job file is meant to be read (and even written) by people: ``queued/<id>.toml`` holds the kind, the
video as a path relative to the project, a ``[params]`` table and a few bookkeeping keys. The state is
the folder the file lies in, never trusted from the file, except to finish a move interrupted by a
crash. ``tomllib`` only reads TOML, so this module carries a small writer for the shapes a job uses
(scalars, arrays of scalars, nested tables); :func:`dumps` output always round-trips through ``tomllib``.

Job files come from other processes and from users, so parsing never trusts them: anything malformed
raises :class:`~xmem_tui.errors.JobError` with a message that says what is wrong and how to fix it, and
the worker records that message when it moves the file to ``failed/``.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import secrets
import time
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path, PurePath
from typing import Any, Literal

from xmem_tui.errors import JobError

JobState = Literal["queued", "running", "done", "failed", "cancelled"]
STATES: tuple[JobState, ...] = ("queued", "running", "done", "failed", "cancelled")
FINISHED: tuple[JobState, ...] = ("done", "failed", "cancelled")

#: Params whose values are paths a job writes to; like ``video`` they must stay inside the project.
PATH_PARAMS = frozenset({"output", "output_dir", "out", "path"})
#: Allowed priorities: enough room for any ordering a person sets by hand.
PRIORITY_RANGE = (-1000, 1000)

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Job:
    """One unit of long work (a propagation or an export) and everything known about it.

    Attributes:
        id: sortable id (UTC timestamp + random suffix), also the file name.
        kind: runner name, "propagate" or "export".
        video: source video or image folder, relative to the project folder.
        params: runner parameters (flat values, arrays or small tables).
        state: the folder the job file lies in.
        created: submission time (epoch seconds).
        priority: higher runs first; equal priorities run in submission order.
        attempts: failed attempts so far (a dead worker or an out-of-memory error); one retry is allowed.
        started, finished: epoch seconds of the last start and of the end, or None.
        worker: "host:pid" of the worker that ran it last.
        result: what the runner reported (frames written, output file...).
        error: why it failed or was re-queued, in words a user can act on.
        resume: where an interrupted run stopped (``done``, ``frame``), for the runner to continue.
        raw: the original text of a file that could not be parsed (kept so nothing is lost).
    """

    id: str
    kind: str
    video: str
    params: dict[str, Any] = field(default_factory=dict)
    state: JobState = "queued"
    created: float = 0.0
    priority: int = 0
    attempts: int = 0
    started: float | None = None
    finished: float | None = None
    worker: str = ""
    result: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    resume: dict[str, Any] = field(default_factory=dict)
    raw: str = ""

    def replace(self, **changes: Any) -> Job:
        return dataclasses.replace(self, **changes)

    def sort_key(self) -> tuple[int, str]:
        """Run order: higher priority first, then oldest id first (ids sort by submission time)."""
        return (-self.priority, self.id)


#: Every key a job file may have at its top level: the job's fields but its id, the file's name (a misspelt key
#: is refused, as in config.toml).
JOB_KEYS = tuple(f.name for f in dataclasses.fields(Job) if f.name != "id")


def new_id(now: float | None = None) -> str:
    """A unique id that sorts by creation time: ``20261125T152236123456-3fa9c1``."""
    stamp = datetime.fromtimestamp(time.time() if now is None else now, UTC).strftime("%Y%m%dT%H%M%S%f")
    return f"{stamp}-{secrets.token_hex(3)}"


# --- reading -----------------------------------------------------------------------------------------

def parse_job(text: str, job_id: str, state: JobState, *, kinds: frozenset[str] | None = None,
              project_dir: Path | None = None) -> Job:
    """Build a :class:`Job` from a job file's text, checking every field.

    Args:
        text: the TOML text.
        job_id: the file's stem.
        state: the folder the file lies in.
        kinds: allowed kinds (None skips the check, for finished jobs of a kind no longer known).
        project_dir: when given, ``video`` and output paths must lie inside it.

    Raises:
        JobError: malformed TOML, an unknown key, a missing, mistyped or out-of-range field, an unknown kind
            or a path outside the project.
    """
    where = f"job {job_id}"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise JobError(f"{where}: not valid TOML ({exc}); fix the file or submit the job again.") from exc
    unknown = sorted(set(data) - set(JOB_KEYS))
    if unknown:
        raise JobError(f"{where}: unknown key {unknown[0]!r} (a job's parameters go in its [params] table); "
                       f"allowed: {', '.join(JOB_KEYS)}.")
    kind = _field(data, "kind", str, where)
    video = _field(data, "video", str, where)
    params = _field(data, "params", dict, where, default={})
    if kinds is not None and kind not in kinds:
        raise JobError(f"{where}: unknown kind {kind!r}; use one of: {', '.join(sorted(kinds))}.")
    if project_dir is not None:
        check_inside(project_dir, video, f"{where}: video", follow_links=False)
        for key in sorted(PATH_PARAMS & set(params)):
            if not isinstance(params[key], str):
                raise JobError(f"{where}: params.{key} must be a path string, got {params[key]!r}.")
            check_inside(project_dir, params[key], f"{where}: params.{key}")
    priority = _field(data, "priority", int, where, default=0)
    if not PRIORITY_RANGE[0] <= priority <= PRIORITY_RANGE[1]:
        raise JobError(f"{where}: priority = {priority} is out of range; allowed from {PRIORITY_RANGE[0]} to "
                       f"{PRIORITY_RANGE[1]}.")
    attempts = _field(data, "attempts", int, where, default=0)
    if attempts < 0:
        raise JobError(f"{where}: attempts = {attempts} is out of range; allowed from 0.")
    return Job(
        id=job_id, kind=kind, video=video, params=params, state=state,
        created=_time(data.get("created"), where, "created") or 0.0,
        priority=priority,
        attempts=attempts,
        started=_time(data.get("started"), where, "started"),
        finished=_time(data.get("finished"), where, "finished"),
        worker=_field(data, "worker", str, where, default=""),
        result=_field(data, "result", dict, where, default={}),
        error=_field(data, "error", str, where, default=""),
        resume=_field(data, "resume", dict, where, default={}),
        raw=_field(data, "raw", str, where, default=""),
    )


def written_state(text: str) -> str | None:
    """The ``state`` key a worker wrote just before moving a file (to finish a move cut short by a crash)."""
    try:
        value = tomllib.loads(text).get("state")
    except tomllib.TOMLDecodeError:
        return None
    return value if isinstance(value, str) else None


def check_inside(project_dir: Path, value: str, what: str, follow_links: bool = True) -> Path:
    """Resolve ``value`` against the project; refuse anything that ends up outside it.

    Outputs are checked with symbolic links followed (a link must not let a job write elsewhere); the
    video, which is only read, is checked lexically, so ``source/clip.mp4 -> ~/footage/clip.mp4`` works.

    Raises:
        JobError: naming ``what`` and the offending path.
    """
    if not value or "\x00" in value:
        raise JobError(f"{what} is empty or not a path; give a path relative to the project folder.")
    root = Path(project_dir).resolve()
    joined = root / Path(value).expanduser()
    resolved = joined.resolve() if follow_links else Path(os.path.normpath(joined))
    if not resolved.is_relative_to(root):
        raise JobError(f"{what} = {value!r} points outside the project folder {root}; "
                       f"use a path inside it (relative, without '..').")
    return resolved


def _field(data: Mapping[str, Any], key: str, kind: type, where: str, **default: Any) -> Any:
    if key not in data:
        if "default" in default:
            return default["default"]
        raise JobError(f"{where}: missing required key {key!r}; job files need kind, video and [params].")
    value = data[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise JobError(f"{where}: {key} must be a {kind.__name__}, got {value!r}.")
    return value


def _time(value: Any, where: str, key: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:  # it is written back as a date-time, and shown as one
            datetime.fromtimestamp(value, UTC)
            time.localtime(value)
        except (ValueError, OverflowError, OSError):
            raise JobError(f"{where}: {key} = {value!r} is not a time; use a date-time or epoch seconds.") from None
        return float(value)
    raise JobError(f"{where}: {key} must be a date-time or epoch seconds, got {value!r}.")


# --- writing -----------------------------------------------------------------------------------------

def job_to_toml(job: Job) -> str:
    """The job file text; ``state`` records the intended folder so an interrupted move can be finished."""
    data: dict[str, Any] = {
        "kind": job.kind, "video": job.video, "state": job.state,
        "created": _stamp(job.created), "priority": job.priority, "attempts": job.attempts,
        "started": _stamp(job.started), "finished": _stamp(job.finished), "worker": job.worker or None,
        "error": job.error or None, "raw": job.raw or None,
        "params": plain(job.params), "resume": plain(job.resume) or None, "result": plain(job.result) or None,
    }
    return dumps(data)


def plain(value: Any) -> Any:
    """``value`` with only what TOML holds: runner results may carry numpy scalars, paths or odd objects."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value if v is not None and not isinstance(v, Mapping)]
    if value is None or isinstance(value, bool | int | float | str | datetime | date):
        return value
    if isinstance(value, PurePath | os.PathLike):
        return os.fspath(value)
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        try:
            return plain(item())
        except (TypeError, ValueError):
            pass
    return str(value)


def _stamp(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def dumps(data: Mapping[str, Any]) -> str:
    """TOML text for a mapping of scalars, arrays of scalars and nested tables; None values are left out."""
    lines: list[str] = []
    _emit_table(lines, (), data)
    return "\n".join(lines).lstrip("\n") + "\n"


def _emit_table(lines: list[str], path: tuple[str, ...], data: Mapping[str, Any]) -> None:
    tables = []
    if path:
        lines.extend(["", "[" + ".".join(_key(p) for p in path) + "]"])
    for key, value in data.items():
        if value is None:
            continue
        if isinstance(value, Mapping):
            tables.append((key, value))
        else:
            lines.append(f"{_key(key)} = {_value(value)}")
    for key, value in tables:
        _emit_table(lines, (*path, key), value)


def _key(key: Any) -> str:
    key = str(key)
    return key if _BARE_KEY.fullmatch(key) else _string(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, PurePath | os.PathLike):
        return _string(os.fspath(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value if v is not None) + "]"
    raise TypeError(f"cannot write {type(value).__name__} {value!r} to a job file")


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _string(text: str) -> str:
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        elif 0xD800 <= ord(ch) <= 0xDFFF:  # lone surrogates (from undecodable bytes) are not valid TOML
            out.append("\\ufffd")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'
