"""Test-only plugins for child processes: an installed distribution that only the child can see.

A fixture registers test job kinds (slow or crashing runners) in its own process through the registry
API. A worker started as a separate process (``xmem-tui worker``, or one the dashboard spawns) finds
the same kinds the way it finds any plugin: an ``xmem_tui.plugins`` entry point of an installed
distribution. :func:`install` writes such a distribution (metadata only) into a folder the fixture
puts on the child's PYTHONPATH, so nothing in the application knows about tests.
"""

from __future__ import annotations

from pathlib import Path

from xmem_tui.plugins import ENTRY_POINT_GROUP


def install(folder: Path, name: str, target: str) -> Path:
    """Make ``folder`` hold a distribution ``name`` whose plugin is ``target`` ("module:function").

    Returns ``folder``, for the child's PYTHONPATH (``module`` must be importable there too).
    """
    dist = Path(folder) / f"{name.replace('-', '_')}-0.dist-info"
    dist.mkdir(parents=True, exist_ok=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0\n", encoding="utf-8")
    (dist / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{name} = {target}\n", encoding="utf-8")
    return Path(folder)
