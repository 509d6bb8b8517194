"""The layout of ``state.json`` and of its journal's lines, checked before anything is read from them.

Both are files a person (or a broken tool) can edit: valid JSON of the wrong shape (a list, a frame record
whose provenance is a number) must become one clear error naming the file and the fix, never an
``AttributeError`` three calls later. The state is checked whole when it is loaded; a journal line of the
wrong shape is skipped like a torn one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Check = Callable[[Any], bool]


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _index(key: Any) -> bool:
    return isinstance(key, str) and key.isdigit()


def record_ok(value: Any) -> bool:
    return (isinstance(value, dict) and isinstance(value.get("provenance"), str)
            and (value.get("run") is None or isinstance(value.get("run"), str)) and _number(value.get("time", 0)))


def _object(value: Any) -> bool:
    color = value.get("color") if isinstance(value, dict) else None
    return (isinstance(value, dict) and isinstance(value.get("name"), str) and isinstance(color, list)
            and len(color) == 3 and all(_int(c) and 0 <= c <= 255 for c in color))


def _run(value: Any) -> bool:
    return (isinstance(value, dict) and _int(value.get("start")) and isinstance(value.get("backward"), bool)
            and _number(value.get("time")))


def _stat(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and all(_int(v) for v in value)


def _table(key_ok: Check, value_ok: Check) -> Check:
    return lambda table: isinstance(table, dict) and all(key_ok(k) and value_ok(v) for k, v in table.items())


#: Top-level keys: (required, check). ``files`` holds each mask file's (size, mtime_ns) as last seen.
_STATE: dict[str, tuple[bool, Check]] = {
    "fingerprint": (True, lambda v: isinstance(v, dict)),
    "shape": (True, lambda v: isinstance(v, list) and len(v) == 2 and all(_int(x) and x > 0 for x in v)),
    "objects": (True, _table(_index, _object)),
    "frames": (True, _table(_index, record_ok)),
    "runs": (False, _table(lambda k: isinstance(k, str), _run)),
    "files": (False, _table(_index, _stat)),
    "engine": (False, lambda v: v is None or isinstance(v, str)),
    "version": (False, _int),
}


def state_problem(state: Any) -> str | None:
    """What is wrong with a loaded ``state.json`` (None: its layout is right)."""
    if not isinstance(state, dict):
        kind = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(type(state), "a number")
        return f"it holds {kind}, not an object"
    for key, (required, check) in _STATE.items():
        if key not in state:
            if required:
                return f"it has no {key!r}"
        elif not check(state[key]):
            return f"its {key!r} entry is not laid out as xmem-tui writes it"
    return None


def entry_ok(entry: Any) -> bool:
    """Whether a journal line has the shape of one of the entries the workspace appends."""
    if not isinstance(entry, dict):
        return False
    if "f" in entry:
        return _int(entry["f"]) and entry["f"] >= 0 and (
            entry.get("clear") is True or (record_ok(entry) and (entry.get("stat") is None or _stat(entry["stat"]))))
    if "run" in entry and "start" in entry:
        return isinstance(entry["run"], str) and _run(entry)
    if "object" in entry:
        return _int(entry["object"]) and 0 < entry["object"] <= 255 and _object(entry)
    if "engine" in entry:
        return entry["engine"] is None or isinstance(entry["engine"], str)
    return False
