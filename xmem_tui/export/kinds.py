"""Export kinds and the codecs each can be written with.

A *kind* says what the picture is (matte over green, white-on-black matte, RGBA, review overlay, palette
masks, reframed crop); a *codec* says how it is stored. Keeping them apart lets a preset pick, say,
``alpha`` + ``prores4444`` for Premiere and ``alpha`` + ``vp9`` for the web without a new kind.
"""

from __future__ import annotations

from dataclasses import dataclass

from xmem_tui.errors import UserError


class ExportError(UserError):
    """An export request is invalid (unknown kind, codec not allowed for the kind, bad option value)."""


class SelfCheckFailed(UserError):
    """The written export does not match its source (timestamps, frame count, duration, audio offset)."""

    exit_code = 1


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
    """

    name: str
    encoder: str
    pix_fmt: str
    ext: str
    crf: bool = False
    codec_tag: str | None = None

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
    "prores4444": Codec("prores4444", "prores_ks", "yuva444p10le", ".mov", codec_tag="ap4h"),
    "vp9": Codec("vp9", "libvpx-vp9", "yuva420p", ".webm", crf=True),
    "png": Codec("png", "png", "rgba", ""),
}


@dataclass(frozen=True)
class Kind:
    """One export kind.

    Attributes:
        name: ``--kind`` value.
        codecs: Allowed codec names, the default first.
        input_format: Pixel layout the compositor hands to the encoder (rgb24, rgba, gray, or pal8 for
            palette masks).
        needs_source: The source pixels are composited (else only their timestamps are used).
        display: Written upright (rotation applied, no display matrix): image sequences and reframes,
            whose consumers ignore rotation tags or whose crop is defined on the upright picture.
        per_object: Mattes are kept per chosen object instead of merged into one.
        help: One line for ``--help`` and the docs.
    """

    name: str
    codecs: tuple[str, ...]
    input_format: str
    needs_source: bool
    display: bool = False
    per_object: bool = False
    help: str = ""


KINDS: dict[str, Kind] = {
    "greenscreen": Kind("greenscreen", ("h264", "h265"), "rgb24", True,
                        help="chosen objects over a solid colour or a background image"),
    "mask": Kind("mask", ("ffv1", "h264"), "gray", False,
                 help="white-on-black matte of the chosen objects (one file, or one per object)"),
    "alpha": Kind("alpha", ("prores4444", "vp9", "png"), "rgba", True,
                  help="source with an alpha channel: ProRes 4444 MOV, VP9 WebM or a PNG RGBA sequence"),
    "overlay": Kind("overlay", ("h264", "h265"), "rgb24", True, per_object=True,
                    help="coloured masks over the source, for review"),
    "masks": Kind("masks", ("png",), "pal8", False, display=True, per_object=True,
                  help="palette PNG sequence at source resolution, DAVIS layout 00000.png..."),
    "reframe": Kind("reframe", ("h264", "h265"), "rgb24", True, display=True,
                    help="crop window of a chosen aspect following the objects (e.g. 9:16 at 1080x1920)"),
}


def kind(name: str) -> Kind:
    """The kind called ``name``; :class:`ExportError` lists the valid ones otherwise."""
    try:
        return KINDS[name]
    except KeyError:
        raise ExportError(f"unknown export kind {name!r}; use one of: {', '.join(KINDS)}.") from None


def codec_for(k: Kind, name: str | None) -> Codec:
    """The codec ``name`` (default: the kind's first) after checking the kind allows it."""
    chosen = name or k.codecs[0]
    if chosen not in k.codecs:
        raise ExportError(f"codec {chosen!r} cannot be used for --kind {k.name}; use one of: {', '.join(k.codecs)}.")
    return CODECS[chosen]
