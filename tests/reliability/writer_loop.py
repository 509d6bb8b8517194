"""Child process of the kill and concurrency tests: write masks into a workspace in a loop.

``python writer_loop.py CONFIG VIDEO WRITER COUNT FRAMES PROVENANCE [GO_FILE]`` writes ``COUNT`` masks
(``COUNT`` = 0: forever) with ``Workspace.write_frame``, cycling over ``FRAMES`` (``a-b``), each mask
being :func:`pattern` ``(WRITER, n)``. It touches ``<VIDEO>.<WRITER>.ready`` after its first write
and, when given, waits for ``GO_FILE`` before starting, so two writers can start together.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

SHAPE = (96, 160)


def pattern(writer: int, n: int, shape: tuple[int, int] = SHAPE) -> np.ndarray:
    """Mask number ``n`` of ``writer``: a band of label ``writer`` whose rows encode ``n``; never ambiguous."""
    h, w = shape
    mask = np.zeros(shape, np.uint8)
    top = n % (h - 8)
    mask[top:top + 8, : w // 2] = writer
    mask[:, w // 2 + (n // (h - 8)) % (w // 2 - 1)] = writer  # a column for the wrap-around count
    return mask


def identify(mask: np.ndarray) -> tuple[int, int] | None:
    """(writer, n) of a mask made by :func:`pattern` with ``n < (h - 8) * (w // 2 - 1)``, or None."""
    h, w = mask.shape
    labels = set(np.unique(mask).tolist()) - {0}
    if len(labels) != 1:
        return None
    writer = labels.pop()
    rows = np.flatnonzero(mask[:, 0] == writer)
    cols = np.flatnonzero(mask[0, w // 2:] == writer)
    if not rows.size or not cols.size:
        return None
    n = int(cols[0]) * (h - 8) + int(rows[0])
    return (writer, n) if np.array_equal(pattern(writer, n, mask.shape), mask) else None


def main(argv: list[str]) -> None:
    from xmem_tui.config import load_settings
    from xmem_tui.workspace import Workspace

    config, video, writer, count, frames, provenance = argv[:6]
    go = Path(argv[6]) if len(argv) > 6 else None
    first, last = (int(x) for x in frames.split("-"))
    ws = Workspace.for_video(load_settings(Path(config)), Path(video))
    ready = Path(f"{video}.{writer}.ready")
    if go is not None:
        ready.touch()
        while not go.exists():
            time.sleep(0.005)
    n = 0
    started = time.time()
    while int(count) == 0 or n < int(count):
        index = first + n % (last - first + 1)
        run = None if provenance.startswith("user:") else f"writer{writer}"
        ws.write_frame(index, pattern(int(writer), n), provenance=provenance, run=run)
        if n == 0 and go is None:
            ready.touch()
        n += 1
    Path(f"{video}.{writer}.span").write_text(f"{started} {time.time()}\n")


if __name__ == "__main__":
    main(sys.argv[1:])
