"""Editor presets: a kind, a codec and options that import cleanly into one editor.

``premiere``  alpha, ProRes 4444 MOV (yuva444p10le, 16-bit alpha, ap4h tag): Premiere Pro and After
              Effects read ProRes 4444 alpha natively on Windows and macOS; AAC audio copied. Guided
              (edge-aware) upscaling and a 0.5 px feather for clean hair edges.
``resolve``   alpha, ProRes 4444 MOV with the audio as 16-bit PCM: DaVinci Resolve decodes ProRes
              everywhere, but the free Linux build cannot decode AAC (nor H.264). Guided upscaling.
``capcut``    greenscreen, H.264 MP4 yuv420p CRF 18 with AAC: CapCut has no alpha import that works across
              desktop and mobile, but its chroma key removes #00FF00 well; green-spill suppression on and a
              1 px feather so the keyer gets soft edges.

Precedence: ``[export]`` settings < preset < explicit job parameters.
"""

from __future__ import annotations

from typing import Any

from xmem_tui.export.errors import ExportError

PRESETS: dict[str, dict[str, Any]] = {
    "premiere": {"kind": "alpha", "codec": "prores4444", "audio": "auto", "upscale": "guided", "feather": 0.5},
    "resolve": {"kind": "alpha", "codec": "prores4444", "audio": "pcm_s16le", "upscale": "guided"},
    "capcut": {"kind": "greenscreen", "codec": "h264", "crf": 18, "audio": "auto", "upscale": "guided",
               "despill": True, "feather": 1.0, "background": "#00FF00"},
}


def preset(name: str | None) -> dict[str, Any]:
    """The parameters of preset ``name`` (empty for None); :class:`ExportError` if unknown."""
    if not name:
        return {}
    try:
        return dict(PRESETS[name])
    except KeyError:
        raise ExportError(f"unknown export preset {name!r}; use one of: {', '.join(PRESETS)}.") from None
