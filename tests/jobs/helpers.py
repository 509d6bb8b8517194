"""A throw-away project (config.toml, jobs/) and helpers to drive ``python -m xmem_tui`` in it."""

from __future__ import annotations

import collections
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pytest

from xmem_tui.config import Settings, load_settings
from xmem_tui.jobs.pidfile import lock_held, worker_status
from xmem_tui.jobs.queue import JobQueue

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CONFIG = '[processing]\nsize = 96\nengine = "flow"\nthreads = 1\n'
T = TypeVar("T")


def wait_for(predicate: Callable[[], T], timeout: float = 30.0, interval: float = 0.02, what: str = "") -> T:
    """Poll ``predicate`` until it returns something truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what or predicate}")
        time.sleep(interval)


def child_pythonpath(*folders: Path | None) -> str:
    """PYTHONPATH of a child process: ``folders`` (plugins, test modules), the checkout, then the inherited one."""
    parts = [str(f) for f in folders if f is not None] + [str(REPO), os.environ.get("PYTHONPATH", "")]
    return os.pathsep.join(p for p in parts if p)


@dataclass
class Project:
    """A project folder with its own config.toml; tracks the processes a test starts so none outlives it.

    ``plugins`` is a folder of test plugins (see :mod:`tests.plugins`) its child processes load.
    """

    root: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    plugins: Path | None = None

    def env(self) -> dict[str, str]:
        """Environment of a child process: the test plugins and this package importable."""
        env = dict(os.environ)
        env["PYTHONPATH"] = child_pythonpath(self.plugins, HERE)
        env.pop("XMEM_TUI_CONFIG", None)
        return env

    @property
    def config(self) -> Path:
        return self.root / "config.toml"

    @property
    def settings(self) -> Settings:
        return load_settings(self.config)

    @property
    def jobs(self) -> Path:
        return self.root / "jobs"

    @property
    def queue(self) -> JobQueue:
        return JobQueue(self.jobs, self.root)

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "xmem_tui", "--config", str(self.config), *args]

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.command(*args), cwd=self.root, env=self.env(), capture_output=True, text=True,
                              timeout=timeout, check=False)

    def worker(self, *args: str, name: str = "worker") -> subprocess.Popen[bytes]:
        """``xmem-tui worker ARGS`` in the foreground, output in ``<name>.out``."""
        with open(self.root / f"{name}.out", "ab") as out:
            process = subprocess.Popen(self.command("worker", *args), cwd=self.root, env=self.env(), stdout=out,
                                       stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def output(self, name: str = "worker") -> str:
        path = self.root / f"{name}.out"
        return path.read_text(errors="replace") if path.exists() else ""

    def ledger(self, name: str = "ledger.txt") -> collections.Counter[tuple[str, int]]:
        path = self.root / name
        lines = path.read_text().split() if path.exists() else []
        return collections.Counter((lines[i], int(lines[i + 1])) for i in range(0, len(lines), 2))

    def wait_alive(self, timeout: float = 30.0) -> int:
        return int(wait_for(lambda: worker_status(self.jobs).pid if lock_held(self.jobs) else None, timeout,
                            what="a worker to hold the queue lock"))

    def cleanup(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait(10)
        if lock_held(self.jobs):  # a detached worker this test started
            pid = worker_status(self.jobs).pid
            if pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
                wait_for(lambda: not lock_held(self.jobs), 10, what="the detached worker to die")
