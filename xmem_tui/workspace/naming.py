"""Which folder under ``workspace/`` holds a source's masks: one per source, named after the whole source name.

``clip.mp4``, ``clip.avi`` and a folder of frames ``clip/`` can sit side by side in ``source/``, so the
workspace keeps what tells them apart: ``workspace/clip.mp4``, ``workspace/clip.avi``,
``workspace/clip.folder``. Earlier versions named workspaces after the stem alone (``workspace/clip``);
such a folder is still used for the source it was made for (its ``state.json`` fingerprint names the
source's file), and never for another source of the same stem. It is not renamed: a window or worker
of the older layout may hold it open.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

log = logging.getLogger(__name__)

#: Added to a folder of frames' name, so ``clip/`` and a file ``clip`` or ``clip.mp4`` never share a workspace.
FOLDER_SUFFIX = ".folder"


def workspace_name(source: Path) -> str:
    """The workspace folder name of ``source`` (a video file or a folder of frames)."""
    source = Path(source)
    return f"{source.name}{FOLDER_SUFFIX}" if source.is_dir() else source.name


def workspace_root(workspace_dir: Path, source: Path) -> Path:
    """The workspace folder of ``source``: ``<workspace_dir>/<workspace_name>``, or the stem-named folder an
    earlier version made for this same source when only that one exists."""
    source = Path(source)
    root = Path(workspace_dir) / workspace_name(source)
    legacy = Path(workspace_dir) / source.stem
    if root.exists() or legacy == root or not legacy.is_dir() or not _made_for(legacy, source):
        return root
    log.debug("%s: using the workspace %s made by an earlier version", source.name, legacy)
    return legacy


def _made_for(legacy: Path, source: Path) -> bool:
    """Whether the stem-named ``legacy`` workspace belongs to ``source``.

    Its fingerprint says so when it is readable; without one (state.json lost) it is the source's when it
    holds masks and no other source beside it has the same stem, the only case the old naming told apart.
    """
    try:
        saved = json.loads((legacy / "state.json").read_text(encoding="utf-8"))["fingerprint"]["path"]
    except (OSError, ValueError, KeyError, TypeError):
        saved = None
    if isinstance(saved, str):
        return Path(saved).name == source.name
    try:
        if not any((legacy / "masks").iterdir()):
            return False
        siblings = [p for p in source.parent.iterdir() if p.stem == source.stem and not p.name.startswith(".")]
    except OSError:
        return False
    return len(siblings) == 1
