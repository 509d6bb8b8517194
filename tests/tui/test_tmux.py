"""The real ``xmem-tui`` in a real terminal (tmux): first screen, keys, quitting while a job runs.

Pilot tests drive the app inside the test process; this one runs the installed entry point exactly as a
user over SSH would, so it also covers the CLI, config discovery from the current folder, terminal
handling and the detached worker surviving the dashboard.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from xmem_tui.jobs.pidfile import stop_worker, worker_status
from xmem_tui.jobs.queue import JobQueue

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (CI installs it: apt-get "
                                                            "install tmux)"),
]


class Tmux:
    """One private tmux server (its own socket), so the test never touches a user's sessions."""

    def __init__(self) -> None:
        self.socket = f"xmem-tui-test-{uuid.uuid4().hex[:8]}"

    def __call__(self, *args: str) -> str:
        done = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=20,
                              check=False)
        if done.returncode != 0 and args[0] != "kill-server":
            raise AssertionError(f"tmux {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "xt")

    def wait(self, check: Callable[[str], bool], timeout: float, what: str) -> str:
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen()
            if check(text):
                return text
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}; the screen shows:\n{text}")
            time.sleep(0.2)


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    server = Tmux()
    yield server
    server("kill-server")


def test_dashboard_in_a_terminal_queues_work_that_outlives_it(tmp_path: Path, make_project, tmux: Tmux) -> None:
    settings = make_project(tmp_path / "project")
    try:
        # A shell stays after the dashboard exits, so its goodbye line is still on the screen to read.
        tmux("new-session", "-d", "-x", "100", "-y", "30", "-s", "xt", "-c", str(settings.project_dir),
             f"{shlex.quote(sys.executable)} -m xmem_tui; echo dashboard exited with $?; sleep 60")
        first = tmux.wait(lambda s: "clip.mp4" in s and "24.00" in s, 60, "the source list")
        assert "last export" in first and "Annotate" in first  # the table header and the footer are drawn

        tmux("send-keys", "-t", "xt", "Enter")
        tmux.wait(lambda s: "frame 0/23" in s, 30, "the video view")
        tmux("send-keys", "-t", "xt", "p")
        queue = JobQueue.for_settings(settings)
        deadline = time.monotonic() + 30
        while not queue.list():
            assert time.monotonic() < deadline, f"no job was queued; the screen shows:\n{tmux.screen()}"
            time.sleep(0.1)
        assert queue.list()[0].kind == "propagate" and queue.list()[0].params["start"] == 0

        state_at_quit = queue.list()[0].state
        tmux("send-keys", "-t", "xt", "q")
        after = tmux.wait(lambda s: "dashboard exited with" in s, 30, "the dashboard to exit")
        assert "dashboard exited with 0" in after
        if state_at_quit in ("queued", "running"):  # the usual case: a cold worker needs seconds to finish
            assert "1 job(s) still queued or running in the worker" in after
        status = worker_status(settings)
        assert status.alive, "quitting the dashboard must not stop the worker"

        deadline = time.monotonic() + 90
        while queue.list()[0].state in ("queued", "running"):
            assert time.monotonic() < deadline, "the propagation did not finish after the dashboard quit"
            time.sleep(0.2)
        assert queue.list()[0].state == "done", queue.list()[0].error
        assert worker_status(settings).alive
    finally:
        stop_worker(settings)


@pytest.mark.parametrize(("width", "height"), [(80, 24), (200, 60)])
def test_layout_in_a_real_terminal_from_80x24_to_200x60(tmp_path: Path, make_project, tmux: Tmux, width: int,
                                                        height: int) -> None:
    """tmux's default terminal (256 colours): the footer keeps q Quit, the side panel grows with the width,
    and everything is drawn in palette colours (the preview dithered to them, see test_graphics.py)."""
    settings = make_project(tmp_path / "project")
    tmux("new-session", "-d", "-x", str(width), "-y", str(height), "-s", "xt", "-c", str(settings.project_dir),
         # COLUMNS/LINES from the test runner would pin the app's size; a login shell in tmux has neither.
         f"env -u COLORTERM -u COLUMNS -u LINES TERM=screen-256color {shlex.quote(sys.executable)} -m xmem_tui; "
         "sleep 60")
    first = tmux.wait(lambda s: "clip.mp4" in s and "24.00" in s, 60, "the source list")
    assert "q Quit" in first.rstrip().splitlines()[-1]
    tmux("send-keys", "-t", "xt", "Enter")
    # The view paints in parts (the footer can land a frame after the lists): wait for the whole of it.
    video = tmux.wait(lambda s: "frame 0/23" in s and "q Quit" in s.rstrip().splitlines()[-1], 30,
                      "the video view with its footer")
    side = video.splitlines()[1].index("│")
    assert side >= (80 if width == 200 else 32), video
    colours = tmux("capture-pane", "-p", "-e", "-t", "xt")
    assert "38;5;" in colours and "38;2;" not in colours
    tmux("send-keys", "-t", "xt", "q")
