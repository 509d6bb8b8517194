"""What a mask file says about itself: its provenance record and the checksums of its pixels and soft masks.

Every index mask carries, in PNG tEXt chunks, the :class:`~xmem_tui.workspace.records.FrameRecord` it
was saved with (so ``state.json`` can be rebuilt from the masks alone), the CRC32 of the soft-mask
file saved with it (so a save killed between its two renames is detected) and the CRC32 of its own
frame number and pixels (so a mask changed by any other program is detected, even one that kept the
chunks, or a copy of another frame's file). This module is the only place that writes or reads them.
"""

from __future__ import annotations

import json
import logging
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from xmem_tui.workspace.records import FrameRecord

log = logging.getLogger(__name__)

#: tEXt key of an index mask holding its FrameRecord as JSON.
RECORD_KEY = "xmem-tui"
#: tEXt key of an index mask holding the CRC32 of the soft-mask file saved with it.
SOFT_CRC_KEY = "xmem-tui-soft-crc32"
#: tEXt key of an index mask holding the CRC32 of its frame number, size and pixels (:func:`mask_digest`).
MASK_CRC_KEY = "xmem-tui-mask-crc32"


@dataclass(frozen=True)
class MaskMeta:
    """The metadata of one index mask file.

    Attributes:
        record: its provenance, or None when it has none (a mask from another tool) or it is unreadable.
        soft_crc: CRC32 (8 hex digits) of its soft-mask file, or None when it records none.
        mask_crc: :func:`mask_digest` of the pixels it was saved with, or None (another tool, or a save
            made before this check existed).
    """

    record: FrameRecord | None = None
    soft_crc: str | None = None
    mask_crc: str | None = None


def file_crc(path: Path) -> str:
    return f"{zlib.crc32(Path(path).read_bytes()):08x}"


def mask_digest(index: int, mask: np.ndarray) -> str:
    """CRC32 of frame ``index``'s uint8 (h, w) index mask, its size included."""
    h, w = mask.shape
    head = f"{index}:{w}x{h}:".encode()
    return f"{zlib.crc32(np.ascontiguousarray(mask, np.uint8).data, zlib.crc32(head)):08x}"


def mask_text(record: FrameRecord, soft_file: Path, index: int, mask: np.ndarray) -> dict[str, str]:
    """The tEXt chunks of frame ``index``'s index mask ``mask``, saved with ``record`` beside the soft masks in
    ``soft_file``."""
    return {RECORD_KEY: json.dumps(record.to_json(), sort_keys=True), SOFT_CRC_KEY: file_crc(soft_file),
            MASK_CRC_KEY: mask_digest(index, mask)}


def read_meta(path: Path) -> MaskMeta:
    """The metadata of the index mask at ``path``.

    Raises:
        MediaError: the file is not a readable PNG. OSError: it cannot be read.
    """
    from xmem_tui.media.masks import read_mask_text

    return meta_from_text(read_mask_text(path), path)


def meta_from_text(text: dict[str, str], path: Path) -> MaskMeta:
    """The metadata in a mask file's text chunks (``path`` only names it in a warning)."""
    record = None
    try:
        raw = json.loads(text.get(RECORD_KEY) or "{}")
        record = FrameRecord.from_json(raw) if raw else None
    except (ValueError, TypeError) as exc:
        log.warning("%s: unreadable provenance (%s)", path, exc)
    return MaskMeta(record=record, soft_crc=text.get(SOFT_CRC_KEY), mask_crc=text.get(MASK_CRC_KEY))
