"""Job runners for crash tests: the real propagation and export, slowed so a kill lands mid-run.

Registered through ``XMEM_TUI_EXTRA_RUNNERS`` under the built-in kinds ("propagate", "export"), so the
worker runs the production runner code; only a pause between yielded progress steps is added
(``XMEM_TUI_TEST_DELAY`` seconds, default 0.1). A test kills the worker during that window and restarts
it without the override, so the resumed run is the unmodified production path.
"""

from __future__ import annotations

import os
import time
from collections.abc import Generator, Iterator
from typing import Any

from xmem_tui.jobs import runners
from xmem_tui.progress import Progress

DELAY_ENV = "XMEM_TUI_TEST_DELAY"


def _slowed(steps: Iterator[Progress]) -> Generator[Progress, None, Any]:
    delay = float(os.environ.get(DELAY_ENV, "0.1"))
    while True:
        try:
            progress = next(steps)
        except StopIteration as stop:
            return stop.value
        yield progress
        time.sleep(delay)


def propagate(job: Any, ctx: Any) -> Generator[Progress, None, Any]:
    return (yield from _slowed(runners.run_propagate(job, ctx)))


def export(job: Any, ctx: Any) -> Generator[Progress, None, Any]:
    return (yield from _slowed(runners.run_export(job, ctx)))
