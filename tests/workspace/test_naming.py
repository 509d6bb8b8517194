"""Workspace names keep what tells sources apart; a stem-named workspace of an earlier version is still found
for the source it was made for, and only for it."""

from __future__ import annotations

import json
from pathlib import Path

from xmem_tui.workspace import workspace_name, workspace_root


def _legacy(workspace: Path, made_for: Path | None) -> Path:
    root = workspace / "clip"
    (root / "masks").mkdir(parents=True)
    (root / "masks" / "00000.png").write_bytes(b"")
    if made_for is not None:
        (root / "state.json").write_text(json.dumps({"fingerprint": {"path": str(made_for)}}))
    return root


def test_names_keep_the_extension_or_say_folder(tmp_path: Path) -> None:
    (tmp_path / "clip").mkdir()
    (tmp_path / "clip.mp4").write_bytes(b"")
    assert workspace_name(tmp_path / "clip.mp4") == "clip.mp4"
    assert workspace_name(tmp_path / "clip") == "clip.folder"
    names = {workspace_root(tmp_path / "ws", tmp_path / n).name for n in ("clip.mp4", "clip.avi", "clip")}
    assert names == {"clip.mp4", "clip.avi", "clip.folder"}


def test_an_old_stem_named_workspace_is_found_for_its_own_source_only(tmp_path: Path) -> None:
    source, workspace = tmp_path / "source", tmp_path / "workspace"
    source.mkdir()
    for name in ("clip.mp4", "clip.avi"):
        (source / name).write_bytes(b"")
    legacy = _legacy(workspace, Path("/elsewhere/source/clip.mp4"))  # moved since: the name decides
    assert workspace_root(workspace, source / "clip.mp4") == legacy
    assert workspace_root(workspace, source / "clip.avi") == workspace / "clip.avi"
    (workspace / "clip.mp4").mkdir()  # once a new-style one exists, it wins
    assert workspace_root(workspace, source / "clip.mp4") == workspace / "clip.mp4"


def test_without_its_state_an_old_workspace_is_found_only_when_the_stem_is_unambiguous(tmp_path: Path) -> None:
    source, workspace = tmp_path / "source", tmp_path / "workspace"
    source.mkdir()
    (source / "clip.mp4").write_bytes(b"")
    legacy = _legacy(workspace, None)  # state.json lost: `xmem-tui repair` must still find it
    assert workspace_root(workspace, source / "clip.mp4") == legacy
    (workspace / "other").mkdir()  # a folder with no masks (a probe cache) is no workspace to keep
    (source / "other.mp4").write_bytes(b"")
    assert workspace_root(workspace, source / "other.mp4") == workspace / "other.mp4"
    (source / "clip.avi").write_bytes(b"")
    assert workspace_root(workspace, source / "clip.mp4") == workspace / "clip.mp4"
