"""Helpers for real-window tests: an Xvfb display, the app as a subprocess, xdotool input, screenshots."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

TOOLS = ("Xvfb", "xdotool", "xwd", "convert")
MISSING = [tool for tool in TOOLS if shutil.which(tool) is None]
SKIP_REASON = (f"real-window tests need {', '.join(MISSING)}: apt-get install xvfb xdotool x11-apps imagemagick "
               "(CI installs them)")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def wait_for(predicate: Callable[[], object], timeout: float, what: str, interval: float = 0.1) -> object:
    """Poll ``predicate`` until it returns something truthy; fail the test naming ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


@contextlib.contextmanager
def xvfb(width: int = 1280, height: int = 800) -> Iterator[str]:
    """A private Xvfb server; yields its DISPLAY.

    ``-displayfd`` lets the server pick a free display number itself, so test runs in parallel never
    share (and draw over) one screen.
    """
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", f"{width}x{height}x24",
                             "-nolisten", "tcp"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            pass_fds=(write_fd,))
    os.close(write_fd)
    try:
        with os.fdopen(read_fd) as pipe:
            number = pipe.readline().strip()
        if not number.isdigit():
            pytest.fail(f"Xvfb did not start (exit code {proc.poll()})")
        yield f":{number}"
    finally:
        proc.terminate()
        proc.wait(10)


class App:
    """``xmem-tui annotate`` running in a project on a display, driven with xdotool."""

    def __init__(self, project: Path, display: str, *args: str) -> None:
        self.project = project
        self.env = {**os.environ, "DISPLAY": display}
        self.env.pop("XMEM_TUI_CONFIG", None)
        self.log = project / "annotate.log"
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "xmem_tui", "annotate", *args], cwd=project,
                                         env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.window = ""

    def wait_window(self, title: str, timeout: float = 60) -> str:
        def find() -> str:
            if self.proc.poll() is not None:
                pytest.fail(f"annotate exited with {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
            out = subprocess.run(["xdotool", "search", "--name", title], env=self.env, capture_output=True,
                                 text=True).stdout.split()
            return out[0] if out else ""

        self.window = str(wait_for(find, timeout, f"window {title!r}", interval=0.3))
        # Without a window manager nothing gives the new window the keyboard focus; key events sent
        # through XTEST (as a real keyboard's are) go to the focused window.
        self.xdo("windowfocus", "--sync", self.window)
        # The window works at once; a click waits for the segmenters, which makes timing-sensitive
        # tests flaky on a loaded machine, so wait until they are built.
        wait_for(lambda: "segmenters ready" in self.log.read_text(errors="replace"), timeout, "the segmenters")
        time.sleep(0.3)
        return self.window

    def xdo(self, *args: str) -> None:
        subprocess.run(["xdotool", *args], env=self.env, check=True)

    def click(self, x: int, y: int, button: int = 1) -> None:
        self.xdo("mousemove", "--window", self.window, str(x), str(y))
        time.sleep(0.1)
        self.xdo("click", str(button))
        time.sleep(0.2)

    def drag(self, points: list[tuple[int, int]], button: int = 1) -> None:
        self.xdo("mousemove", "--window", self.window, *map(str, points[0]))
        time.sleep(0.1)
        self.xdo("mousedown", str(button))
        for x, y in points[1:]:
            time.sleep(0.03)
            self.xdo("mousemove", "--window", self.window, str(x), str(y))
        time.sleep(0.1)
        self.xdo("mouseup", str(button))
        time.sleep(0.3)

    def keys(self, *keys: str) -> None:
        # Qt's waitKeyEx keeps one key per event pump: keys closer together than a (loaded) loop turn
        # could merge, as they would for a user typing faster than the window redraws.
        for key in keys:
            self.xdo("key", key)
            time.sleep(0.3)

    def screenshot(self, name: str) -> Path:
        """Save the screen as tests/artifacts/<name>.png (git-ignored) and return its path."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        time.sleep(0.5)  # let the last redraw reach the X server
        target = ARTIFACTS / f"{name}.png"
        xwd = subprocess.run(["xwd", "-root", "-silent"], env=self.env, capture_output=True, check=True).stdout
        subprocess.run(["convert", "xwd:-", str(target)], input=xwd, check=True)
        return target

    def close(self, timeout: float = 30) -> int:
        if self.proc.poll() is None and self.window:
            with contextlib.suppress(subprocess.CalledProcessError):
                self.keys("q")
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"annotate did not close on q:\n{self.log.read_text()[-3000:]}")
