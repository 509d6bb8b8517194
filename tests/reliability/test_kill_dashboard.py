"""SIGKILL of the dashboard (``xmem-tui`` in a tmux pane) while the job it queued runs: the job finishes."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys

import pytest

from xmem_tui.jobs.pidfile import lock_held, worker_status

from .checks import assert_masks_whole
from .procs import N_FRAMES, RelProject, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.tmux, pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")]


class Tmux:
    """A private tmux server (own socket) with one pane running a command."""

    def __init__(self, socket: str) -> None:
        self.base = ["tmux", "-L", socket]

    def __call__(self, *args: str) -> str:
        return subprocess.run([*self.base, *args], capture_output=True, text=True, check=True, timeout=30).stdout

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "main")

    def close(self) -> None:
        subprocess.run([*self.base, "kill-server"], capture_output=True, check=False, timeout=30)


@pytest.mark.timeout(180)
def test_sigkill_dashboard_while_its_job_runs_job_finishes(annotated: RelProject) -> None:
    project = annotated
    tmux = Tmux(f"xmem-rel-{os.getpid()}")
    child_env = project.slow_env(True, TERM="xterm-256color", XMEM_TUI_TEST_DELAY="0.15")
    command = " ".join(shlex.quote(a) for a in [sys.executable, "-m", "xmem_tui", "--config",
                                                  str(project.config)])
    env_args = [arg for k in ("PYTHONPATH", "XMEM_TUI_TEST_DELAY")
                for arg in ("-e", f"{k}={child_env[k]}")]
    try:
        tmux("new-session", "-d", "-s", "main", "-x", "140", "-y", "40", "-c", str(project.root), *env_args, command)
        wait_for(lambda: "clip.mp4" in tmux.screen(), 60, interval=0.2, what="the dashboard to list clip.mp4")
        dashboard_pid = int(tmux("display-message", "-p", "-t", "main", "#{pane_pid}").strip())
        tmux("send-keys", "-t", "main", "Enter")
        wait_for(lambda: "p Propagate" in tmux.screen(), 30, interval=0.2, what="the video screen")
        tmux("send-keys", "-t", "main", "p")  # propagate forward from frame 0: queued, worker started detached
        job = wait_for(lambda: next(iter(project.queue.list(("running",))), None), 60, interval=0.1,
                       what="the dashboard's job to start running")
        worker_pid = worker_status(project.jobs).pid
        assert worker_pid and worker_pid != dashboard_pid
        os.kill(dashboard_pid, signal.SIGKILL)
        wait_for(lambda: not _alive(dashboard_pid), 10, what="the dashboard to die")
        tmux.close()  # the terminal goes too (as when an SSH session drops)
        assert project.queue.get(job.id).state == "running" and lock_held(project.jobs)
        wait_for(lambda: project.queue.get(job.id).state not in ("queued", "running"), 120, interval=0.2,
                 what="the job to finish without its dashboard")
    finally:
        tmux.close()
    finished = project.queue.get(job.id)
    assert finished.state == "done" and finished.attempts == 0, finished.error
    assert worker_status(project.jobs).pid == worker_pid  # the same worker, never restarted
    ws = project.workspace()
    assert sorted(ws.records()) == list(range(N_FRAMES))
    assert len(assert_masks_whole(ws, {0, 1, 2})) == N_FRAMES


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        with open(f"/proc/{pid}/stat") as stat:  # a zombie (dead, not yet reaped by tmux) counts as dead
            return stat.read().split(")")[-1].split()[0] != "Z"
    except (ProcessLookupError, FileNotFoundError):
        return False
