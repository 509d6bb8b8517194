"""Which video a workspace belongs to: a fingerprint of the source, checked each time it is opened.

The fingerprint holds the path, size, modification time, frame count and a digest of every frame's
timestamp. A workspace opened on another video (replaced under the same name) is refused, since its
masks would silently land on the wrong frames; a video only moved or touched keeps its workspace.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xmem_tui.errors import WorkspaceError

if TYPE_CHECKING:
    from xmem_tui.media.info import VideoInfo

log = logging.getLogger(__name__)

#: Fingerprint entries that must match: the content. Path and mtime may change (a move, a touch).
_CONTENT = ("size", "frame_count", "timestamps")


class SourceChanged(WorkspaceError):
    """The source video is not the one the workspace was made from."""


def fingerprint(info: VideoInfo) -> dict[str, Any]:
    path = Path(info.path)
    stat = path.stat()
    digest = hashlib.sha256(",".join(map(str, info.pts)).encode()).hexdigest()[:16]
    return {"path": str(path), "size": stat.st_size, "mtime": stat.st_mtime, "frame_count": info.frame_count,
            "timestamps": digest}


def check_fingerprint(saved: dict[str, Any], current: dict[str, Any], root: Path) -> bool:
    """Whether the saved fingerprint needs updating (the source moved or was touched, content unchanged).

    Raises:
        SourceChanged: the content differs, naming what changed and the fix.
    """
    changed = [k for k in _CONTENT if saved.get(k) != current[k]]
    if changed:
        raise SourceChanged(
            f"{current['path']} is not the video this workspace ({root}) was made from "
            f"({', '.join(changed)} changed). Restore the original file, or move the workspace folder "
            "away to start over with the new video.")
    if saved.get("path") != current["path"] or saved.get("mtime") != current["mtime"]:
        log.info("%s: source moved or touched but its content matches; fingerprint updated", root)
        return True
    return False
