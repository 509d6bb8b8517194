"""Which way the terminal can show the preview, decided from its environment, and the 256-colour dithering.

Four ways, best first:

* ``kitty``: the kitty graphics protocol (kitty, Ghostty): real pixels, through ``textual-image``.
* ``sixel``: sixel images (WezTerm, foot, Konsole, iTerm2, mlterm, Contour), through ``textual-image``.
* ``truecolor``: half-block characters, two pixels per cell in 24-bit colour.
* ``256``: half blocks in the xterm 256-colour palette, ordered-dithered. tmux's default terminal
  (``TERM=screen-256color`` / ``tmux-256color``, no ``COLORTERM``) has only these colours, and snapping
  each pixel to its nearest palette colour (what happens to 24-bit colour there) turns soft gradients and
  mask edges into a coarse mosaic; dithering keeps them readable.

The decision uses only the environment (no terminal query: the dashboard may start under tmux or over
SSH, where a query can hang or be answered by the wrong terminal), so it is tested by passing an
environment, and ``[tui] graphics`` in config.toml forces one way when the guess is wrong. tmux passes
neither graphics protocol through by default, so inside tmux only half blocks are chosen.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

MODES = ("kitty", "sixel", "truecolor", "256")
#: Terminals (``TERM_PROGRAM`` or ``TERM``) known to draw sixels; kitty's protocol is detected separately.
SIXEL_PROGRAMS = frozenset({"WezTerm", "iTerm.app", "mlterm", "contour"})
SIXEL_TERMS = frozenset({"foot", "foot-extra", "mlterm", "contour", "xterm-sixel"})


def detect_graphics(env: Mapping[str, str], forced: str = "auto") -> str:
    """The preview mode for a terminal described by ``env`` (``os.environ``), unless ``forced`` names one."""
    if forced != "auto":
        return forced
    term = env.get("TERM", "")
    truecolor = env.get("COLORTERM", "").lower() in ("truecolor", "24bit")
    if env.get("TMUX") or term.startswith(("screen", "tmux")):
        return "truecolor" if truecolor else "256"
    if env.get("KITTY_WINDOW_ID") or term in ("xterm-kitty", "xterm-ghostty") or env.get("TERM_PROGRAM") == "ghostty":
        return "kitty"
    if env.get("TERM_PROGRAM") in SIXEL_PROGRAMS or term in SIXEL_TERMS or env.get("KONSOLE_VERSION"):
        return "sixel"
    return "truecolor" if truecolor else "256"


# ---------------------------------------------------------------------------------------------- 256 colours
#: The xterm colour cube's six levels per channel (indices 16..231 = 16 + 36 r + 6 g + b).
CUBE_LEVELS = np.array([0, 95, 135, 175, 215, 255], dtype=np.float32)
#: The grey ramp (indices 232..255).
GREY_LEVELS = np.arange(8, 239, 10, dtype=np.float32)
#: 4x4 Bayer matrix, thresholds in (0, 1).
_BAYER = (np.array([[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]], dtype=np.float32) + 0.5) / 16
#: Pixels whose channels differ by less than this are drawn from the grey ramp (finer than the cube's greys).
_GREY_SPREAD = 12


def _dither_levels(values: np.ndarray, levels: np.ndarray, threshold: np.ndarray) -> np.ndarray:
    """Index into ``levels`` of each value, rounding up where its position between two levels beats the
    threshold (ordered dithering on an uneven scale)."""
    upper = np.clip(np.searchsorted(levels, values, side="left"), 1, len(levels) - 1)
    lo, hi = levels[upper - 1], levels[upper]
    fraction = (values - lo) / (hi - lo)
    return np.where(fraction > threshold, upper, upper - 1)


def dither_256(image: np.ndarray) -> np.ndarray:
    """xterm palette index (16..255) of every pixel of ``image`` (uint8 RGB (H, W, 3)), ordered-dithered.

    Ordered (Bayer) dithering rather than error diffusion: it is a few vectorised numpy operations, and
    a still frame stays still when only its masks change (no error crawling across the picture).
    """
    h, w = image.shape[:2]
    threshold = np.tile(_BAYER, (h // 4 + 1, w // 4 + 1))[:h, :w]
    rgb = image.astype(np.float32)
    r, g, b = (_dither_levels(rgb[..., c], CUBE_LEVELS, threshold) for c in range(3))
    cube = 16 + 36 * r + 6 * g + b
    grey_value = rgb.mean(axis=2)
    ramp = np.concatenate([[0.0], GREY_LEVELS, [255.0]]).astype(np.float32)
    grey_step = _dither_levels(grey_value, ramp, threshold)
    grey = np.select([grey_step == 0, grey_step == len(ramp) - 1], [16, 231], 232 + grey_step - 1)
    is_grey = (rgb.max(axis=2) - rgb.min(axis=2)) < _GREY_SPREAD
    return np.where(is_grey, grey, cube).astype(np.uint8)

