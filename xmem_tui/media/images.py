"""Image folders used as videos: listing in natural order and reading frames as RGB.

A folder of JPEG/PNG frames (DAVIS-style ``00000.jpg``... or unpadded ``1.png, 2.png, 10.png``) is a
video whose frames are the files in natural order ("2.png" before "10.png"), so unpadded names do not
silently shuffle the frames.
"""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np

from xmem_tui.errors import MediaError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that orders embedded numbers by value: "frame2.png" < "frame10.png"."""
    parts = _DIGITS.split(name)
    return tuple((0, int(p)) if p.isdigit() else (1, p.lower()) for p in parts if p != "")


def list_images(folder: Path) -> list[Path]:
    """The JPEG/PNG files of ``folder`` in natural order (hidden files skipped)."""
    files = [p for p in Path(folder).iterdir()
             if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")]
    return sorted(files, key=lambda p: natural_key(p.name))


def read_image_rgb(path: Path) -> np.ndarray:
    """Read one frame as uint8 RGB (H, W, 3); grey and 16-bit images are converted, EXIF is ignored."""
    data = np.fromfile(path, dtype=np.uint8) if Path(path).is_file() else None
    flags = cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION
    image = cv2.imdecode(data, flags) if data is not None and data.size else None
    if image is None:
        raise MediaError(f"frame image {path} cannot be read: replace or remove the damaged file")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
