"""While the dashboard runs, log records go to the app (log screen, toasts) and workspace/dashboard.log, never
to the terminal it draws on; afterwards logging is as it was."""

from __future__ import annotations

import logging
import sys
import threading

from xmem_tui.tui.app import make_app
from xmem_tui.tui.screens.log_view import LogScreen

WARNING = "clip.mp4: header says 60 fps, frames decode at 24 fps"


async def test_a_core_warning_is_shown_in_the_app_and_the_file_not_the_terminal(settings, fake, capsys) -> None:
    root = logging.getLogger()
    terminal = logging.StreamHandler(sys.stderr)  # what the CLI's basicConfig installs
    root.addHandler(terminal)
    try:
        app = make_app(settings, fake, graphics="truecolor")
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            assert terminal not in root.handlers
            # Probes log from thread workers, watchdog from its own thread.
            worker = threading.Thread(target=logging.getLogger("xmem_tui.media.probe_video").warning, args=(WARNING,))
            worker.start()
            worker.join()
            await pilot.pause(0.2)
            assert any(WARNING in line for line in app.log_handler.lines)
            assert [n.message for n in app._notifications if n.severity == "warning"] == \
                [f"WARNING xmem_tui.media.probe_video: {WARNING}"]
            await pilot.press("L")
            await pilot.pause()
            assert isinstance(app.screen, LogScreen)
            logging.getLogger("xmem_tui.jobs.worker").info("a line logged while the log screen is open")
            await pilot.pause(0.2)
            lines = "\n".join(app.screen.query_one("Log").lines)
            assert WARNING in lines and "a line logged while the log screen is open" in lines
        assert terminal in root.handlers, "the terminal handler comes back when the app exits"
        assert WARNING not in capsys.readouterr().err
        text = (settings.workspace_dir / "dashboard.log").read_text(encoding="utf-8")
        assert f"WARNING xmem_tui.media.probe_video: {WARNING}" in text
    finally:
        root.removeHandler(terminal)
