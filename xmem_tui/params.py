"""Typed job requests and results: frozen dataclasses to and from the plain tables of a job file.

A request (what to propagate, what to export) is built once by whichever client asks for the work, stored
whole as the job's ``[params]`` table and rebuilt by the runner with :func:`from_params`, which checks
every value against the field's type and refuses keys the request does not have, so a typo in a
hand-written job file fails the job with its name instead of being ignored. A runner's result travels
back the same way; :func:`read_result` is lenient, because a result is only ever displayed and an older
or foreign job file must not break a listing.

Field types understood: ``bool``, ``int``, ``float``, ``str``, ``tuple[X, ...]`` of those, ``dict`` (a table,
kept as it is) and unions of them with ``None`` (which accept a JSON null). A field's metadata may carry
``what`` (how its value is described in an error, e.g. "a frame number"), ``missing`` (the fix when a
required field is absent) and ``lo`` / ``hi`` (the range of a number, checked like config.toml's).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, Self, TypeVar, get_args, get_origin, get_type_hints

from xmem_tui.errors import JobError

T = TypeVar("T")

_WHAT = {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}


class _Mismatch(Exception):
    """A value does not fit a field's type (turned into a JobError naming the field)."""


def to_params(obj: Any) -> dict[str, Any]:
    """Every field of ``obj`` that has a value (TOML has no null), tuples as lists."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if value is not None:
            out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def from_params(cls: type[T], data: Mapping[str, Any], where: str) -> T:
    """Build ``cls`` from a job's params, checking every key and value.

    Raises:
        JobError: ``"<where>: params.<key> ..."`` for an unknown key, a missing required key or a value
            of the wrong type, with what would be right.
    """
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise JobError(f"{where}: params.{unknown[0]} is not a parameter of this job; "
                       f"allowed: {', '.join(fields)}.")
    hints = get_type_hints(cls)
    values: dict[str, Any] = {}
    for name, f in fields.items():
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise JobError(f"{where}: params.{name} is missing; {f.metadata.get('missing', 'add it')}.")
            continue
        try:
            values[name] = _convert(data[name], hints[name])
        except _Mismatch:
            what = f.metadata.get("what") or _describe(hints[name])
            raise JobError(f"{where}: params.{name} must be {what}, got {data[name]!r}.") from None
        _check_range(values[name], f.metadata, f"{where}: params.{name}")
    return cls(**values)


def _check_range(value: Any, meta: Mapping[str, Any], where: str) -> None:
    lo, hi = meta.get("lo"), meta.get("hi")
    if not isinstance(value, int | float) or isinstance(value, bool) or (lo is None and hi is None):
        return
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        allowed = " ".join(([f"from {lo}"] if lo is not None else []) + ([f"to {hi}"] if hi is not None else []))
        raise JobError(f"{where} = {value!r} is out of range; allowed {allowed}.")


def read_result(cls: type[T], data: Mapping[str, Any]) -> T:
    """``cls`` from a stored result, keeping the values that fit and defaulting the rest (never raises)."""
    hints = get_type_hints(cls)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name in data:
            try:
                values[f.name] = _convert(data[f.name], hints[f.name])
            except _Mismatch:
                continue
    return cls(**values)


def _convert(value: Any, kind: Any) -> Any:
    origin = get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in get_args(kind):
            return None
        for member in get_args(kind):
            if member is type(None):
                continue
            try:
                return _convert(value, member)
            except _Mismatch:
                pass
        raise _Mismatch
    if origin is tuple:
        item = get_args(kind)[0]
        if not isinstance(value, list | tuple):
            raise _Mismatch
        return tuple(_convert(v, item) for v in value)
    if origin is dict or kind is dict:
        if not isinstance(value, dict):
            raise _Mismatch
        return value
    if kind is bool:
        if not isinstance(value, bool):
            raise _Mismatch
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Mismatch
        return value
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _Mismatch
        return float(value)
    if kind is str:
        if not isinstance(value, str):
            raise _Mismatch
        return value
    raise TypeError(f"params of type {kind!r} are not supported")


def _describe(kind: Any) -> str:
    origin = get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(m) for m in get_args(kind) if m is not type(None))
    if origin is tuple:
        return f"a list of {_describe(get_args(kind)[0]).removeprefix('a ')}s"
    if origin is dict or kind is dict:
        return "a table"
    return _WHAT.get(kind, str(kind))


class JobRequest:
    """Base of a frozen request dataclass: stored as a job's params, rebuilt from them."""

    def to_params(self) -> dict[str, Any]:
        """The job file's ``[params]``: every field that has a value."""
        return to_params(self)

    @classmethod
    def from_params(cls, params: Mapping[str, Any], where: str) -> Self:
        """Rebuild a stored request; JobError names ``where`` and the bad key."""
        return from_params(cls, params, where)


@dataclasses.dataclass(frozen=True)
class JobResult:
    """What every job reports when it ends; each job kind extends it with its own fields.

    Attributes:
        done, total: units of work finished (frames), of those planned.
        complete: False when the runner stopped early (after a cancel request or a stop signal).
    """

    done: int = 0
    total: int = 0
    complete: bool = True

    @property
    def output(self) -> str:
        """The file the job made, for job lists ("" when it makes none)."""
        return ""

    def check(self) -> str:
        """"passed" or "failed" when the job checks its own output, else ""."""
        return ""

    def summary(self) -> str:
        """The result in a few words, for ``xmem-tui jobs list``."""
        return f"done={self.done}"
