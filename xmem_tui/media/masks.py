"""Reading and writing mask files: index masks as palette PNGs, soft masks as stacked grey PNGs.

Index masks use the DAVIS palette so they open with the usual colours everywhere and can carry small
text metadata (provenance, run id) in PNG tEXt chunks. Soft masks (per-object probabilities) are stored
as one 8-bit grey PNG with the K planes stacked vertically, which is compact and fast to encode. All
writes are atomic (:mod:`xmem_tui.fsutil`), so a reader never sees a half-written mask.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image, PngImagePlugin, UnidentifiedImageError

from xmem_tui.errors import MediaError
from xmem_tui.fsutil import atomic_write_bytes, atomic_writer
from xmem_tui.media.palette import DAVIS_PALETTE

_PALETTE_BYTES = DAVIS_PALETTE.tobytes()
_ALLOWED = "an 8-bit palette (indexed) or 8-bit greyscale PNG with values 0 = background, k = object k"


def write_index_mask(path: Path, mask: np.ndarray, text: dict[str, str] | None = None) -> None:
    """Write a uint8 (H, W) index mask as a DAVIS-palette PNG, atomically.

    Args:
        path: Destination file (parent folders are created).
        mask: uint8 (H, W); 0 = background, k = object k.
        text: Optional metadata stored as PNG tEXt chunks (read back by :func:`read_mask_text`).
    """
    mask = np.asarray(mask)
    if mask.ndim != 2 or mask.dtype != np.uint8:
        raise ValueError(f"index mask must be uint8 (H, W), got {mask.dtype} {mask.shape}")
    image = Image.fromarray(np.ascontiguousarray(mask))
    image.putpalette(_PALETTE_BYTES)  # turns the "L" image into a "P" image with our palette
    info = PngImagePlugin.PngInfo()
    for key, value in (text or {}).items():
        info.add_text(str(key), str(value))
    with atomic_writer(Path(path), "wb") as handle:
        image.save(handle, format="PNG", pnginfo=info, compress_level=3)


def _open_png(path: Path, load: bool = True) -> Image.Image:
    path = Path(path)
    if not path.is_file():
        raise MediaError(f"mask file {path} does not exist: check the path")
    try:
        image = Image.open(path)
        if load:
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise MediaError(f"mask file {path} is not a readable image ({exc}): save it as {_ALLOWED}") from exc
    return image


def read_index_mask(path: Path) -> np.ndarray:
    """Read an index mask as uint8 (H, W).

    Palette PNGs give their indices, 8-bit grey PNGs their values (1-bit images give 0/1). Anything else
    (16-bit, RGB, RGBA, grey+alpha) is ambiguous as a label map and raises :class:`MediaError`.
    """
    with _open_png(path) as image:
        if image.mode in ("P", "L"):
            return np.array(image, dtype=np.uint8)
        if image.mode == "1":
            return np.array(image, dtype=np.uint8)
        raise MediaError(f"mask file {path} is a {image.mode} image, which cannot be read as object labels: "
                         f"save it as {_ALLOWED}")


def read_mask_text(path: Path) -> dict[str, str]:
    """The PNG text metadata of a mask file (empty when it has none)."""
    with _open_png(path) as image:
        text = getattr(image, "text", None) or {}
        return {str(k): str(v) for k, v in text.items()}


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) of a PNG from its header, without decoding it."""
    with _open_png(path, load=False) as image:
        return image.size


def write_soft_mask(path: Path, soft: np.ndarray) -> None:
    """Write a uint8 (K, H, W) soft-mask stack as one grey PNG of shape (K*H, W), atomically."""
    soft = np.asarray(soft)
    if soft.ndim != 3 or soft.dtype != np.uint8 or soft.shape[0] < 1:
        raise ValueError(f"soft mask must be uint8 (K, H, W) with K >= 1, got {soft.dtype} {soft.shape}")
    k, h, w = soft.shape
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(soft).reshape(k * h, w),
                           [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise OSError(f"PNG encoding of soft mask for {path} failed")
    atomic_write_bytes(Path(path), buf.tobytes())


def read_soft_mask(path: Path, k: int) -> np.ndarray:
    """Read a soft-mask stack written by :func:`write_soft_mask` as uint8 (k, H, W)."""
    path = Path(path)
    if not path.is_file():
        raise MediaError(f"soft mask file {path} does not exist: check the path")
    data = np.fromfile(path, dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if image is None or image.ndim != 2 or image.dtype != np.uint8:
        raise MediaError(f"soft mask file {path} is not an 8-bit grey PNG: delete it to have it recomputed")
    rows, w = image.shape
    if k < 1 or rows % k:
        raise MediaError(f"soft mask file {path} has {rows} rows, which is not a stack of {k} planes: "
                         "delete it to have it recomputed")
    return image.reshape(k, rows // k, w)
