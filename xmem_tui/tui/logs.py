"""Log records while the dashboard runs: into the app (the log screen, ``L``) and a file, never the terminal.

The CLI logs to stderr, which is the terminal the dashboard draws on: a probe's warning printed there lands
in the middle of the screen (``WARNING xmem_tui.media.probe_video: …``) and stays until the next repaint.
While the app runs, :func:`route_logging` takes the handlers that write to the terminal off the root
logger and puts two in their place: :class:`AppLogHandler` keeps recent lines for the log screen and
posts each new one to the app (``post_message`` is safe from any thread: probes log from thread
workers, watchdog from its own thread), and a file handler appends to ``workspace/dashboard.log`` so
nothing is lost after the app exits. Both go away again when the app exits.
"""

from __future__ import annotations

import contextlib
import logging
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: Lines the log screen can show (the file keeps everything).
KEEP_LINES = 2000


class AppLogHandler(logging.Handler):
    """Keeps the last :data:`KEEP_LINES` formatted records and hands each new one to ``on_record``."""

    def __init__(self, on_record: Callable[[str, logging.LogRecord], None] | None = None) -> None:
        super().__init__(level=logging.INFO)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.lines: deque[str] = deque(maxlen=KEEP_LINES)
        self.on_record = on_record

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:  # a broken format string in a log call must not break the caller
            self.handleError(record)
            return
        self.lines.append(line)
        if self.on_record is not None:
            self.on_record(line, record)


def _writes_to_terminal(handler: logging.Handler) -> bool:
    """A plain stream handler (what ``logging.basicConfig`` installs): it writes to a console stream.

    Subclasses (file handlers, test capture handlers) write elsewhere and are left alone.
    """
    return type(handler) is logging.StreamHandler


@contextlib.contextmanager
def route_logging(handler: AppLogHandler, log_file: Path) -> Iterator[None]:
    """While the block runs, root logging goes to ``handler`` and ``log_file`` instead of the terminal."""
    root = logging.getLogger()
    muted = [h for h in root.handlers if _writes_to_terminal(h)]
    for h in muted:
        root.removeHandler(h)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    to_file = logging.FileHandler(log_file, encoding="utf-8")
    to_file.setFormatter(logging.Formatter(FORMAT))
    to_file.setLevel(logging.INFO)
    root.addHandler(to_file)
    root.addHandler(handler)
    previous_level = root.level
    root.setLevel(min(previous_level or logging.INFO, logging.INFO))
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.removeHandler(to_file)
        to_file.close()
        for h in muted:
            root.addHandler(h)
        root.setLevel(previous_level)
