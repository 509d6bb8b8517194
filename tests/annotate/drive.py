"""Drive a controller the way the window does: Qt key codes, mouse down/move/up."""

from __future__ import annotations

import numpy as np

from xmem_tui.annotate.controller import Controller
from xmem_tui.annotate.keymap import KeyDecoder


def press(ctl: Controller, *keys: str) -> None:
    """Type keys the way Qt reports them (lower-case letters, Shift as its own key)."""
    decoder = KeyDecoder()
    for key in keys:
        for part in key.split("+") if len(key) > 1 else [key]:
            code = {"shift": 0xFFE1, "left": 0xFF51, "right": 0xFF53, "home": 0xFF50, "end": 0xFF57,
                    "space": 32, "esc": 27, "pgup": 0xFF55, "pgdn": 0xFF56}.get(part)
            ctl.key(decoder.feed(code if code is not None else ord(part)))
    ctl.run_pending()


def click(ctl: Controller, x: int, y: int, button: str = "left") -> None:
    ctl.mouse_down(button, x, y)
    ctl.mouse_up(button, x, y)
    ctl.run_pending()


def drag(ctl: Controller, points: list[tuple[int, int]], button: str = "left") -> None:
    ctl.mouse_down(button, *points[0])
    for p in points[1:]:
        ctl.mouse_move(*p)
    ctl.mouse_up(button, *points[-1])
    ctl.run_pending()


def disc(shape: tuple[int, int], x: int, y: int, r: int) -> np.ndarray:
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return (xx - x) ** 2 + (yy - y) ** 2 <= r * r
