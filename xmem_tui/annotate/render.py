"""Draw the annotation window's canvas: the frame in a view mode, the stroke being drawn, the HUD, the help.

Output is one BGR uint8 image of the viewport's size plus a HUD strip below it (so the HUD never hides
the frame and image coordinates start at the window's top-left corner). Only cv2 drawing functions are
used here, never highgui.

Speed matters over ``ssh -X`` and at 1080p, so the work is layered by how often it changes: the scaled
frame is cached per (frame, viewport); the view-mode composite per (frame, mask, view, colours); only the
cheap decorations (stroke preview, markers, HUD text) are drawn on a copy at every redraw.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from xmem_tui.annotate.keymap import help_lines
from xmem_tui.media.palette import object_color

if TYPE_CHECKING:
    from xmem_tui.annotate.controller import Controller
    from xmem_tui.annotate.viewport import Viewport

HUD_HEIGHT = 24
GREEN_BGR = (0, 255, 0)
#: Colour of the canvas beside an image narrower than the window.
PAD_BGR = (24, 24, 24)
_FONT = cv2.FONT_HERSHEY_SIMPLEX
_ALPHA = 0.5


class Renderer:
    """Renders a controller's state; keeps the caches described in the module docstring."""

    def __init__(self) -> None:
        self._base_key: Any = None
        self._base: np.ndarray | None = None
        self._composite_key: Any = None
        self._composite: np.ndarray | None = None
        self._lut_key: Any = None
        self._lut: np.ndarray | None = None
        self._half: np.ndarray | None = None

    def render(self, ctl: Controller) -> np.ndarray:
        """The full canvas (BGR, (viewport height + HUD, canvas width, 3)); the image at its top left."""
        vp = ctl.viewport
        canvas = np.empty((vp.height + HUD_HEIGHT, max(ctl.canvas_width, vp.width), 3), dtype=np.uint8)
        canvas[: vp.height, vp.width:] = PAD_BGR
        canvas[: vp.height, : vp.width] = self._view(ctl)
        image = canvas[: vp.height, : vp.width]
        self._decorate(ctl, image)
        if ctl.show_help:
            _draw_help(canvas[: vp.height])
        self._draw_hud(ctl, canvas[vp.height:])
        return canvas

    # ------------------------------------------------------------------ layers
    def _base_image(self, ctl: Controller) -> np.ndarray:
        key = (ctl.frame_version, ctl.viewport.key())
        if key != self._base_key or self._base is None:
            vp = ctl.viewport
            if vp.fitted:
                # Area averaging only pays off when shrinking a lot; it is 5x slower than linear at 1080p.
                interp = cv2.INTER_AREA if vp.fit_scale < 0.5 else cv2.INTER_LINEAR
                scaled = ctl.source if ctl.source.shape[:2] == (vp.height, vp.width) else cv2.resize(
                    ctl.source, (vp.width, vp.height), interpolation=interp)
            else:
                interp = cv2.INTER_NEAREST if vp.scale >= 1 else cv2.INTER_LINEAR
                scaled = cv2.warpAffine(ctl.source, vp.source_matrix(), (vp.width, vp.height), flags=interp)
            self._base = cv2.cvtColor(scaled, cv2.COLOR_RGB2BGR)
            self._half = self._base >> 1  # blending is base/2 + colour/2: halve once per frame
            self._base_key = key
        return self._base

    def _colors(self, ctl: Controller) -> np.ndarray:
        """(256, 1, 3) BGR lookup table of object colours (workspace colours, else the DAVIS palette)."""
        if self._lut_key != ctl.objects_version or self._lut is None:
            lut = np.zeros((256, 1, 3), dtype=np.uint8)
            for k in range(1, 256):
                info = ctl.objects.get(k)
                r, g, b = info.color if info is not None else object_color(k)
                lut[k, 0] = (b, g, r)
            self._lut, self._lut_key = lut, ctl.objects_version
        return self._lut

    def _view(self, ctl: Controller) -> np.ndarray:
        base = self._base_image(ctl)
        key = (self._base_key, ctl.mask_version, ctl.view, ctl.objects_version)
        if key == self._composite_key and self._composite is not None:
            return self._composite
        if ctl.view == "source":
            out = base
        else:
            lut = self._colors(ctl)
            index = ctl.edit.index
            labels = range(1, int(cv2.minMaxLoc(index)[1]) + 1)
            if ctl.view == "contour":
                out = _contours(base, index, labels, ctl.viewport.mask_matrix(), lut)
            else:
                out = _compose(ctl.view, base, self._half, display_mask(index, ctl.viewport), labels, lut)
        self._composite, self._composite_key = out, key
        return out

    def _decorate(self, ctl: Controller, image: np.ndarray) -> None:
        """Stroke preview, click markers and brush outline: cheap, redrawn every time."""
        vp = ctl.viewport
        radius = max(1, round(ctl.radius * vp.display_per_mask()))
        color = tuple(int(c) for c in self._colors(ctl)[ctl.object, 0]) if ctl.object else (40, 40, 40)
        if ctl.stroke:
            points = np.array(ctl.stroke, dtype=np.int32).reshape(-1, 1, 2)
            positive = ctl.stroke_button == "left"
            if ctl.mode == "lasso":
                cv2.polylines(image, [points], True, color if positive else (0, 0, 255), 2, cv2.LINE_AA)
            else:
                ink = color if positive else ((255, 255, 255) if ctl.mode == "scribble" else (60, 60, 60))
                cv2.polylines(image, [points], False, ink, 2 * radius + 1, cv2.LINE_8)
        session = ctl.edit.click
        if session is not None:
            for mx, my, positive in session.clicks:
                center = vp.mask_to_display(mx, my)
                cv2.circle(image, center, 5, (0, 200, 0) if positive else (0, 0, 230), -1, cv2.LINE_AA)
                cv2.circle(image, center, 5, (255, 255, 255), 1, cv2.LINE_AA)
        if ctl.cursor is not None and ctl.mode in ("scribble", "free") and vp.inside(*ctl.cursor) and (
                ctl.hover_cursor or ctl.stroke):
            cv2.circle(image, ctl.cursor, radius, (255, 255, 255), 1, cv2.LINE_AA)

    def _draw_hud(self, ctl: Controller, strip: np.ndarray) -> None:
        strip[:] = (32, 32, 32)
        swatch = tuple(int(c) for c in self._colors(ctl)[ctl.object, 0]) if ctl.object else (0, 0, 0)
        cv2.rectangle(strip, (4, 5), (17, 18), swatch, -1)
        cv2.rectangle(strip, (4, 5), (17, 18), (200, 200, 200), 1)
        _fit_text(strip, hud_text(ctl), (24, 17), strip.shape[1] - 28)


def hud_text(ctl: Controller) -> str:
    """The one-line status: frame, time, mode, object, brush, engine, propagation, zoom, message."""
    times = getattr(ctl.ws.info, "timestamps_s", ())
    stamp = _clock(times[ctl.frame]) if ctl.frame < len(times) else "--:--"
    info = ctl.objects.get(ctl.object)
    name = "background/eraser" if ctl.object == 0 else (info.name if info else f"object {ctl.object}")
    parts = [f"frame {ctl.frame}/{ctl.count - 1} {stamp}", ctl.mode, f"obj {ctl.object} {name}",
             f"brush {ctl.radius}", ctl.segmenters.describe(ctl.mode)]
    if ctl.progress_text:
        parts.append(ctl.progress_text)
    if not ctl.viewport.fitted:
        parts.append(f"zoom {ctl.viewport.scale:g}:1")
    if ctl.playing:
        parts.append("playing")
    if ctl.pending is not None:
        parts.append(ctl.pending[0] + "...")
    elif ctl.message:
        parts.append(ctl.message)
    else:
        parts.append("h: help")
    return " | ".join(parts)


def _clock(seconds: float) -> str:
    minutes, rest = divmod(max(seconds, 0.0), 60.0)
    return f"{int(minutes):02d}:{rest:05.2f}"


def display_mask(index: np.ndarray, vp: Viewport) -> np.ndarray:
    """The index mask resampled onto the canvas, each display pixel showing the mask pixel under its centre.

    Uses the viewport's own lookup rather than an OpenCV resampler: OpenCV releases round nearest-neighbour
    coordinates differently (5.0 and 5.1 disagree on 3% of a 1080p canvas), and what is drawn must be what a
    click edits. Two gathers cost about as much as ``cv2.resize`` at 1080p (~2 ms).
    """
    cols, rows = vp.mask_lookup()
    return np.take(np.take(index, rows, axis=0), cols, axis=1)


def _compose(view: str, base: np.ndarray, half: np.ndarray, mask: np.ndarray, labels: range,
             lut: np.ndarray) -> np.ndarray:
    """Overlay, mask-only or cut-out view of ``base`` (BGR) under the display-size index ``mask``.

    Each present object is one masked ``cv2.add`` of a constant colour: far cheaper at 1080p than
    colouring the whole canvas through a lookup table and blending it.
    """
    if view == "cutout":
        out = np.empty_like(base)
        out[:] = GREEN_BGR
        return cv2.copyTo(base, cv2.compare(mask, 0, cv2.CMP_GT), out)
    out = np.zeros_like(base) if view == "mask" else base.copy()
    src = out.copy() if view == "mask" else half
    for k in labels:
        where = cv2.compare(mask, k, cv2.CMP_EQ)
        if not cv2.countNonZero(where):
            continue
        b, g, r = (int(c) for c in lut[k, 0])
        color = (b, g, r, 0) if view == "mask" else (b >> 1, g >> 1, r >> 1, 0)
        cv2.add(src, color, dst=out, mask=where)
    return out


def _contours(base: np.ndarray, index: np.ndarray, labels: range, matrix: np.ndarray,
              lut: np.ndarray) -> np.ndarray:
    """Object outlines traced on the (small) mask grid and mapped onto the canvas with ``matrix``."""
    out = base.copy()
    for k in labels:
        contours, _ = cv2.findContours(cv2.compare(index, k, cv2.CMP_EQ), cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        if not contours:
            continue
        mapped = [np.rint(cv2.transform(c.astype(np.float64), matrix)).astype(np.int32) for c in contours]
        cv2.polylines(out, mapped, True, tuple(int(c) for c in lut[k, 0]), 2, cv2.LINE_AA)
    return out


def _fit_text(image: np.ndarray, text: str, origin: tuple[int, int], width: int, scale: float = 0.45) -> None:
    """Draw ``text`` on one line, shrinking then truncating it to ``width`` pixels."""
    for s in (scale, 0.38):
        if cv2.getTextSize(text, _FONT, s, 1)[0][0] <= width:
            cv2.putText(image, text, origin, _FONT, s, (235, 235, 235), 1, cv2.LINE_AA)
            return
    while len(text) > 4 and cv2.getTextSize(text + "...", _FONT, 0.38, 1)[0][0] > width:
        text = text[:-1]
    cv2.putText(image, text + "...", origin, _FONT, 0.38, (235, 235, 235), 1, cv2.LINE_AA)


def _draw_help(image: np.ndarray) -> None:
    """Every key, in as many columns as the canvas height needs, on a darkened background."""
    lines = [("keys", "(h closes this help)"), *help_lines()]
    line_h = 17
    rows = max(1, (image.shape[0] - 16) // line_h)
    columns = math.ceil(len(lines) / rows)
    col_w = max(1, (image.shape[1] - 16) // columns)
    key_w = 96
    image[:] = (image * 0.25).astype(np.uint8)
    for n, (keys, text) in enumerate(lines):
        col, row = divmod(n, rows)
        x, y = 8 + col * col_w, 8 + (row + 1) * line_h - 4
        _fit_text(image, keys, (x, y), key_w - 6, scale=0.42)
        _fit_text(image, text, (x + key_w, y), col_w - key_w - 8, scale=0.42)
