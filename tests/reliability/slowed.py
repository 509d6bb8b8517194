"""Job runners for crash tests: the real propagation and export, slowed so a kill lands mid-run.

Installed as a plugin (:mod:`tests.plugins`) in the worker a test starts "slow"; :func:`register` puts
them in place of the built-in kinds ("propagate", "export"), so the worker runs the production runner
code with only a pause between yielded progress steps (``XMEM_TUI_TEST_DELAY`` seconds, default 0.1).
A test kills the worker during that window and restarts it without the plugin, so the resumed run is the
unmodified production path.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Generator, Iterator
from typing import Any

from xmem_tui.jobs.kinds import export as export_kind
from xmem_tui.jobs.kinds import propagate as propagate_kind
from xmem_tui.jobs.runners import register_job_kind
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
    return (yield from _slowed(propagate_kind.run(job, ctx)))


def export(job: Any, ctx: Any) -> Generator[Progress, None, Any]:
    return (yield from _slowed(export_kind.run(job, ctx)))


def register() -> None:
    """The plugin entry point: the slowed runners in place of the built-in ones."""
    for spec, run in ((propagate_kind.SPEC, propagate), (export_kind.SPEC, export)):
        register_job_kind(dataclasses.replace(spec, run=run), replace=True)
