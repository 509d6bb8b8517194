"""A throw-away project with a generated clip, and helpers to run, watch and kill real xmem-tui processes.

Every process a test starts is recorded and killed at teardown (a detached worker too), so a failing
test never leaves a worker running. ``wait_for`` and the queue-lock probe are the job tests' own
(:mod:`tests.jobs.helpers`); the environment differs: the slowed runners of this package (a plugin,
see :mod:`tests.plugins`) replace the built-in kinds only when a test asks for it (``slow=True``).
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tests.jobs.helpers import Project, child_pythonpath, wait_for
from tests.plugins import install
from xmem_tui.jobs.pidfile import lock_held, worker_status

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CONFIG = '[processing]\nsize = 96\nengine = "flow"\nthreads = 1\n'
N_FRAMES = 40
SHAPE = (96, 160)

__all__ = ["CONFIG", "N_FRAMES", "SHAPE", "RelProject", "env", "file_digests", "wait_for"]


def env(plugins: Path | None = None, **extra: str) -> dict[str, str]:
    """Environment of a child process: this package importable, and the plugins in ``plugins`` if given."""
    out = dict(os.environ)
    out["PYTHONPATH"] = child_pythonpath(plugins, HERE)
    out.pop("XMEM_TUI_CONFIG", None)
    out.update(extra)
    return out


def file_digests(folder: Path, pattern: str = "*.png") -> dict[str, str]:
    """sha256 of every visible file matching ``pattern`` in ``folder`` (to prove files were not touched)."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob(pattern))
            if not p.name.startswith(".")}


@dataclass
class RelProject(Project):
    """A project folder (config.toml, source/clip.mp4, ground-truth masks) and the processes run in it."""

    truth: list[np.ndarray] = field(default_factory=list)

    @property
    def video(self) -> Path:
        return self.root / "source" / "clip.mp4"

    def workspace(self):  # -> Workspace (imported lazily: it pulls in the media stack)
        from xmem_tui.workspace import Workspace

        return Workspace.for_video(self.settings, self.video)

    def workspace_of(self, source: Path):  # -> Workspace
        from xmem_tui.workspace import Workspace

        return Workspace.for_video(self.settings, source)

    def slow_env(self, slow: bool, **extra: str) -> dict[str, str]:
        """A child's environment, with the slowed runners installed when ``slow``."""
        plugins = install(self.root.parent / "plugins", "xmem-tui-slowed", "slowed:register") if slow else None
        return env(plugins, **extra)

    def cli(self, *args: str, slow: bool = False, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.command(*args), cwd=self.root, env=self.slow_env(slow), capture_output=True,
                              text=True, timeout=timeout, check=False)

    def spawn(self, argv: list[str], name: str, slow: bool = False, **extra_env: str) -> subprocess.Popen[bytes]:
        """Start ``argv`` in the project folder, output in ``<name>.out``; killed at teardown."""
        with open(self.root / f"{name}.out", "ab") as out:
            process = subprocess.Popen(argv, cwd=self.root, env=self.slow_env(slow, **extra_env), stdout=out,
                                       stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def worker(self, slow: bool = False, name: str = "worker") -> subprocess.Popen[bytes]:
        """``xmem-tui worker`` in the foreground (a process of its own we can SIGKILL)."""
        process = self.spawn(self.command("worker"), name, slow)
        wait_for(lambda: lock_held(self.jobs) and worker_status(self.jobs).pid == process.pid, 60,
                 what="the worker to take the queue lock")
        return process

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
        wait_for(lambda: not lock_held(self.jobs), 10, what="the killed worker's lock to drop")
