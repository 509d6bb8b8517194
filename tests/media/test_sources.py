"""Which entries of a source folder are videos: video files and folders of frames, by name, hidden ones skipped."""

from __future__ import annotations

from pathlib import Path

from xmem_tui.media.sources import list_sources


def test_videos_and_frame_folders_in_name_order(tmp_path: Path) -> None:
    for name in ("b.MP4", "a.mkv", ".hidden.mp4", "notes.txt", "c.mov"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "frames").mkdir()
    (tmp_path / "frames" / "00000.jpg").write_bytes(b"")
    (tmp_path / "empty").mkdir()
    assert [p.name for p in list_sources(tmp_path)] == ["a.mkv", "b.MP4", "c.mov", "frames"]
    assert list_sources(tmp_path / "missing") == []
