"""Resumable, verified checkpoint downloads (standard library HTTP only).

Checkpoints are hundreds of megabytes fetched over flaky links, often through SSH sessions that drop.
So bytes go to ``NAME.part`` and a rerun asks the server for the rest with an HTTP ``Range`` request; only a
complete file that passes verification is renamed (atomically) to ``NAME``. A half-downloaded or unsafe
file therefore never sits where the engines look for weights.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from xmem_tui.errors import CheckpointError

log = logging.getLogger(__name__)

#: ``progress(done_bytes, total_bytes_or_None)`` is called after every chunk.
ProgressFn = Callable[[int, int | None], None]

_CHUNK = 1 << 20
_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")


def part_path(dest: Path) -> Path:
    """Where the bytes of ``dest`` accumulate until the download is complete and verified."""
    return dest.with_name(dest.name + ".part")


def _open(url: str, offset: int, timeout: float):  # -> http.client.HTTPResponse
    request = urllib.request.Request(url, headers={"User-Agent": "xmem-tui"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    return urllib.request.urlopen(request, timeout=timeout)


def _fail(url: str, exc: Exception, dest: Path) -> CheckpointError:
    """The error for a failed download; it names the offline fix too (copying the file in by hand)."""
    copy = f"or copy {dest.name} from a machine that has it into {dest.parent}/"
    if isinstance(exc, urllib.error.HTTPError):
        return CheckpointError(f"{url}: HTTP {exc.code} {exc.reason}; check the name and --url-base, {copy}")
    reason = getattr(exc, "reason", exc)
    return CheckpointError(f"cannot download {url} ({reason}); check the network (or --url-base) and rerun "
                           f"to resume, {copy}")


def fetch(url: str, dest: Path, *, progress: ProgressFn | None = None, timeout: float = 30.0,
          verify: Callable[[Path], None] | None = None) -> Path:
    """Download ``url`` to ``dest``, resuming ``dest.part`` if an earlier attempt left one.

    Args:
        url: file URL (http, https or file).
        dest: final path; written only once the file is complete and ``verify`` accepted it.
        progress: called with (bytes so far, total bytes or None).
        timeout: socket timeout in seconds.
        verify: called on the complete ``.part`` file before the rename; raises to reject it (the rejected
            ``.part`` is deleted so the next attempt starts over).

    Raises:
        CheckpointError: network failure, HTTP error, interrupted transfer, or a file ``verify`` rejected.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = part_path(dest)
    offset = part.stat().st_size if part.is_file() else 0
    try:
        response = _open(url, offset, timeout)
    except urllib.error.HTTPError as exc:
        if exc.code != 416 or not offset:
            raise _fail(url, exc, dest) from exc
        # 416: nothing left past our offset. Complete if the server's total equals what we hold.
        total = _total_from_range(exc.headers.get("Content-Range", ""))
        if total != offset:
            part.unlink(missing_ok=True)
            return fetch(url, dest, progress=progress, timeout=timeout, verify=verify)
        log.info("%s: already complete in %s", url, part)
    except (OSError, http.client.HTTPException) as exc:  # URLError is an OSError
        raise _fail(url, exc, dest) from exc
    else:
        with response:
            _receive(url, response, part, offset, progress)
    _finish(part, dest, verify)
    return dest


def _total_from_range(value: str) -> int | None:
    """Total size from ``Content-Range: bytes a-b/total`` or ``bytes */total``."""
    match = _RANGE.search(value) or re.search(r"\*/(\d+)", value)
    if match is None:
        return None
    last = match.groups()[-1]
    return None if last == "*" else int(last)


def _receive(url: str, response, part: Path, offset: int, progress: ProgressFn | None) -> None:
    status = getattr(response, "status", 200)
    length = response.headers.get("Content-Length")
    if status == 206 and offset:
        total = _total_from_range(response.headers.get("Content-Range", ""))
        mode, done = "ab", offset
        log.info("resuming %s at %d bytes", url, offset)
    else:  # the server ignored the Range header (or there was nothing to resume): start over
        total = int(length) if length is not None else None
        mode, done = "wb", 0
    expected_end = total
    with open(part, mode) as out:
        try:
            while True:
                chunk = response.read(_CHUNK)
                if not chunk:
                    break
                out.write(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
        except (OSError, http.client.HTTPException) as exc:
            raise CheckpointError(f"download of {url} interrupted at {done} bytes ({exc}); rerun to resume"
                                  ) from exc
        finally:
            out.flush()
            os.fsync(out.fileno())
    if expected_end is not None and done != expected_end:
        raise CheckpointError(f"download of {url} stopped at {done} of {expected_end} bytes; rerun to resume")


def _finish(part: Path, dest: Path, verify: Callable[[Path], None] | None) -> None:
    if verify is not None:
        try:
            verify(part)
        except CheckpointError:
            part.unlink(missing_ok=True)
            raise
    os.replace(part, dest)
    with contextlib.suppress(OSError):  # persist the rename; some file systems refuse directory fsync
        fd = os.open(dest.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
