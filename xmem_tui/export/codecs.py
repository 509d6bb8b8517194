"""The codecs an export can be written with.

A *kind* says what the picture is (see :mod:`xmem_tui.export.registry`); a *codec* says how it is stored.
Keeping them apart lets a preset pick, say, ``alpha`` + ``prores4444`` for Premiere and ``alpha`` +
``vp9`` for the web without a new kind.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Codec:
    """How one export kind is stored.

    Attributes:
        name: User-facing name (``--codec``).
        encoder: FFmpeg encoder, or ``png`` for an image sequence (a folder of PNGs).
        pix_fmt: Encoded pixel format.
        ext: File extension, or "" for an image sequence folder.
        crf: Whether the encoder takes a constant rate factor.
        codec_tag: FourCC editors expect (hvc1 for HEVC in MP4, ap4h for ProRes 4444), or None.
        label: What default output names call it (``clip_alpha_prores.mov``); the name when empty.
    """

    name: str
    encoder: str
    pix_fmt: str
    ext: str
    crf: bool = False
    codec_tag: str | None = None
    label: str = ""

    @property
    def sequence(self) -> bool:
        return self.ext == ""

    def options(self, crf: int, speed: str) -> dict[str, str]:
        """Encoder options; ``speed`` is the x264/x265 preset name (or VP9 cpu-used level)."""
        # No B-frames: MP4 stores per-frame durations as DTS deltas, and only without reordering are they
        # the source's own frame durations (and the file's end time the source's). Editors also scrub
        # such files faster; the cost is a few percent of size at the same CRF.
        if self.encoder == "libx264":
            return {"crf": str(crf), "preset": speed, "bf": "0"}
        if self.encoder == "libx265":
            return {"crf": str(crf), "preset": speed, "x265-params": "bframes=0:log-level=error"}
        if self.encoder == "libvpx-vp9":
            # Constant quality needs b=0; row-mt parallelises rows; cpu-used 4 is a sensible speed/quality mix.
            return {"crf": str(max(crf, 15)), "b": "0", "row-mt": "1", "deadline": "good", "cpu-used": "4"}
        if self.encoder == "prores_ks":
            return {"profile": "4", "vendor": "apl0", "alpha_bits": "16"}
        if self.encoder == "ffv1":
            return {"level": "3", "g": "1", "slicecrc": "1"}
        return {}


CODECS: dict[str, Codec] = {
    "h264": Codec("h264", "libx264", "yuv420p", ".mp4", crf=True),
    "h265": Codec("h265", "libx265", "yuv420p", ".mp4", crf=True, codec_tag="hvc1"),
    "ffv1": Codec("ffv1", "ffv1", "gray", ".mkv"),
    "prores4444": Codec("prores4444", "prores_ks", "yuva444p10le", ".mov", codec_tag="ap4h", label="prores"),
    "vp9": Codec("vp9", "libvpx-vp9", "yuva420p", ".webm", crf=True),
    "png": Codec("png", "png", "rgba", ""),
}
