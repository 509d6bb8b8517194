"""Which files and folders of a project's source folder are videos (the dashboard and ``export --all`` list them),
and where a video named on the command line is.

Kept free of PyAV and OpenCV: it only looks at names, so listing costs nothing before anything is probed.
"""

from __future__ import annotations

from pathlib import Path

from xmem_tui.errors import MediaError

VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".mts", ".ts", ".mpg", ".mpeg",
                            ".wmv", ".flv", ".3gp"})
#: Image files that make a folder a video (the same as :data:`xmem_tui.media.images.IMAGE_SUFFIXES`).
FRAME_SUFFIXES = frozenset({".jpg", ".jpeg", ".png"})


def list_sources(folder: Path) -> list[Path]:
    """Videos and folders of frames directly in ``folder``, sorted by name (case-insensitive), hidden ones skipped."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.iterdir(), key=lambda p: p.name.lower()):
        if path.name.startswith("."):
            continue
        is_video = path.is_file() and path.suffix.lower() in VIDEO_SUFFIXES
        if is_video or (path.is_dir() and any(p.suffix.lower() in FRAME_SUFFIXES for p in path.iterdir())):
            found.append(path)
    return found


def find_source(video: Path | str, source_dir: Path) -> Path:
    """Where the video or image folder a user named is: the path as given (absolute, or relative to the
    current folder), else the same relative path inside the project's source folder, so ``info clip.mp4``
    run in a project finds ``source/clip.mp4``. Returns it resolved.

    Raises:
        MediaError: it is in neither place (naming both).
    """
    given = Path(video).expanduser()
    candidates = [given] if given.is_absolute() else [given, Path(source_dir) / given]
    for candidate in candidates:
        if candidate.exists():
            return candidate.resolve()
    where = str(given) if given.is_absolute() else f"{Path.cwd()} or in {source_dir}"
    raise MediaError(f"{video}: video not found (no such video or image folder in {where}); check the name, "
                     "or put it in the source folder.")
