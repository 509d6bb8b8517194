"""The OpenCV window: the only module that calls cv2 highgui, all from the thread that calls :meth:`run`.

Qt-based highgui (opencv-python 5) delivers mouse and trackbar callbacks inside ``waitKeyEx`` on the
calling thread, so one loop owns everything: pump events, hand them to the controller, redraw when the
controller says something changed. Nothing is redrawn while idle, and redraws during a drag are rate
limited (more strongly when the display is remote, i.e. ``ssh -X``), because every ``imshow`` sends the
whole canvas to the X server.

``cv2.WINDOW_GUI_NORMAL`` removes Qt's toolbar and status bar, so window coordinates are image
coordinates, and ``WINDOW_AUTOSIZE`` keeps Qt from rescaling the image (the controller already sends it at
display size).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import TYPE_CHECKING

from xmem_tui.annotate.keymap import KeyDecoder
from xmem_tui.annotate.render import Renderer
from xmem_tui.errors import UserError

if TYPE_CHECKING:
    import numpy as np

    from xmem_tui.annotate.controller import Controller

log = logging.getLogger(__name__)

TRACKBAR = "frame"
#: Seconds between redraws while something changes continuously (a drag, playback).
LOCAL_INTERVAL = 1 / 30
REMOTE_INTERVAL = 1 / 4
_CLOSED_POLL_S = 0.5


def is_remote_display(display: str | None = None) -> bool:
    """True when X goes over the network (``ssh -X`` sets DISPLAY=localhost:10.0)."""
    display = os.environ.get("DISPLAY", "") if display is None else display
    host = display.rpartition(":")[0]
    return bool(host) and host != "unix" and not host.startswith("/")


class CvWindow:
    """Runs one annotation window until the user closes it.

    Args:
        controller: the session's state and logic.
        title: window title (also how ``xdotool search --name`` finds it).
        remote: the display is remote: draw less often, no hover outline.
    """

    def __init__(self, controller: Controller, title: str, remote: bool = False) -> None:
        self.ctl = controller
        self.title = title
        self.remote = remote
        self.renderer = Renderer()
        self.decoder = KeyDecoder()
        self.draw_times: list[float] = []
        self._error: BaseException | None = None
        self._busy = False
        self._buttons: dict[int, tuple[str, str]] = {}

    def run(self) -> None:
        """Open the window, run the event loop, save and close (also on errors)."""
        import cv2

        self._buttons = {cv2.EVENT_LBUTTONDOWN: ("down", "left"), cv2.EVENT_RBUTTONDOWN: ("down", "right"),
                         cv2.EVENT_MBUTTONDOWN: ("down", "middle"), cv2.EVENT_LBUTTONUP: ("up", "left"),
                         cv2.EVENT_RBUTTONUP: ("up", "right"), cv2.EVENT_MBUTTONUP: ("up", "middle")}
        ctl = self.ctl
        cv2.namedWindow(self.title, cv2.WINDOW_AUTOSIZE | cv2.WINDOW_GUI_NORMAL)
        try:
            cv2.setMouseCallback(self.title, self._on_mouse)
            if ctl.count > 1:
                cv2.createTrackbar(TRACKBAR, self.title, ctl.frame, ctl.count - 1, self._on_trackbar)
            ctl.segmenters.start_warm_up()
            self._loop()
        finally:
            ctl.close()
            cv2.destroyWindow(self.title)
            cv2.waitKeyEx(1)
        if self.draw_times:
            times = sorted(self.draw_times)
            log.debug("redraws: %d, median %.1f ms, max %.1f ms", len(times), 1000 * times[len(times) // 2],
                      1000 * times[-1])

    def _loop(self) -> None:
        import cv2

        ctl = self.ctl
        interval = REMOTE_INTERVAL if self.remote else LOCAL_INTERVAL
        last_draw = next_closed_check = 0.0
        trackbar = ctl.frame
        while not ctl.closed:
            now = time.monotonic()
            ctl.tick(now)
            if ctl.dirty and (ctl.pending is not None or now - last_draw >= interval):
                self._draw()
                last_draw = now
            if ctl.pending is not None:
                self._run_pending()
                continue
            if ctl.count > 1 and trackbar != ctl.frame:
                trackbar = ctl.frame
                cv2.setTrackbarPos(TRACKBAR, self.title, trackbar)
            code = cv2.waitKeyEx(10 if ctl.dirty else 20)
            if self._error is not None:
                raise self._error
            if code != -1:
                ctl.key(self.decoder.feed(code))
            if now >= next_closed_check:
                next_closed_check = now + _CLOSED_POLL_S
                if cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1:
                    log.info("window closed")
                    break

    def _run_pending(self) -> None:
        """Run the controller's slow work on a helper thread while this thread keeps pumping events.

        Qt's ``waitKeyEx`` keeps only the last key of the events it processes in one call, so a loop
        blocked for seconds (GrabCut, loading f-BRS) would drop all but one key typed meanwhile. Pumping
        every few milliseconds keeps each key; they are replayed in order when the work is done. Mouse
        input is ignored meanwhile (the HUD says the window is busy). The helper thread touches no highgui.
        """
        import cv2

        keys: list[int] = []
        failure: list[BaseException] = []

        def work() -> None:
            try:
                self.ctl.run_pending()
            except BaseException as exc:  # re-raised on this thread
                failure.append(exc)

        self._busy = True
        helper = threading.Thread(target=work, name="annotate-work", daemon=True)
        helper.start()
        try:
            while helper.is_alive():
                code = cv2.waitKeyEx(10)
                if code != -1:
                    keys.append(code)
            helper.join()
        finally:
            self._busy = False
        if failure:
            raise failure[0]
        self.ctl.dirty = True
        for code in keys:
            self.ctl.key(self.decoder.feed(code))

    def _draw(self) -> None:
        import cv2

        start = time.perf_counter()
        canvas: np.ndarray = self.renderer.render(self.ctl)
        cv2.imshow(self.title, canvas)
        self.draw_times.append(time.perf_counter() - start)
        self.ctl.dirty = False

    # ------------------------------------------------------------------ callbacks (inside waitKeyEx)
    def _on_mouse(self, event: int, x: int, y: int, flags: int, _param: object) -> None:
        import cv2

        if self._busy:
            return
        try:
            ctl = self.ctl
            if not flags & cv2.EVENT_FLAG_SHIFTKEY:
                self.decoder.clear()
            if event == cv2.EVENT_MOUSEMOVE:
                ctl.mouse_move(x, y)
            elif event == cv2.EVENT_MOUSEWHEEL:
                ctl.wheel(1 if (flags >> 16) > 0 else -1)
            elif event in self._buttons:
                kind, button = self._buttons[event]
                (ctl.mouse_down if kind == "down" else ctl.mouse_up)(button, x, y)
        except UserError as exc:
            self.ctl.say(str(exc))
        except Exception as exc:  # a bug: end the loop with it instead of letting highgui swallow it
            self._error = exc

    def _on_trackbar(self, position: int) -> None:
        if self._busy:
            return
        try:
            self.ctl.seek(position)
        except UserError as exc:
            self.ctl.say(str(exc))
        except Exception as exc:
            self._error = exc
