"""Probing of image folders: frames are the JPEG/PNG files in natural order, at a chosen frame rate."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from xmem_tui.errors import MediaError
from xmem_tui.media.images import list_images
from xmem_tui.media.info import VideoInfo

_PIX_FMTS = {"RGB": "rgb24", "RGBA": "rgba", "L": "gray", "LA": "ya8", "P": "pal8", "I;16": "gray16le",
             "CMYK": "cmyk", "1": "monob"}


def probe_images(folder: Path, fps: float = 24.0) -> VideoInfo:
    """Describe an image folder as a video with synthetic timestamps at ``fps``.

    Every file's header is read (not its pixels) so a frame of another size is reported now, naming
    the file, rather than failing half-way through a propagation.
    """
    files = list_images(folder)
    if not files:
        raise MediaError(f"{folder} contains no JPEG or PNG images: put the frames in it "
                         "(e.g. 00000.jpg, 00001.jpg, ...) or pick a video file")
    if fps <= 0:
        raise MediaError(f"frame rate {fps} for image folder {folder} must be positive")
    size, mode = None, None
    for path in files:
        try:
            with Image.open(path) as image:
                this_size, this_mode = image.size, image.mode
        except (UnidentifiedImageError, OSError) as exc:
            raise MediaError(f"frame image {path} cannot be read ({exc}): replace or remove it") from exc
        if size is None:
            size, mode = this_size, this_mode
        elif this_size != size:
            raise MediaError(f"frame image {path} is {this_size[0]}x{this_size[1]} but {files[0].name} is "
                             f"{size[0]}x{size[1]}: all frames of a folder must have the same size")
    assert size is not None and mode is not None
    rate = Fraction(fps).limit_denominator(1001)
    suffixes = sorted({"jpeg" if p.suffix.lower() in (".jpg", ".jpeg") else "png" for p in files})
    return VideoInfo(
        pts=tuple(range(len(files))), time_base=1 / rate, path=Path(folder), kind="images",
        container="images", codec="+".join(suffixes), width=size[0], height=size[1], rotation=0,
        pix_fmt=_PIX_FMTS.get(mode, mode), nominal_fps=float(rate), keyframes=tuple(range(len(files))),
        stream_index=0, audio=(), color=None, files=tuple(p.name for p in files))
