"""The demo project: generated CFR (with audio) and VFR clips, config and ground truth, safe to rerun."""

from __future__ import annotations

from pathlib import Path

import pytest

from xmem_tui.cli import main
from xmem_tui.config import load_settings
from xmem_tui.demo import create_demo
from xmem_tui.media.probe import probe


def test_demo_project_contents(tmp_path: Path) -> None:
    project = create_demo(tmp_path / "demo", frames=14, size=(96, 160))
    assert load_settings(project.root / "config.toml").source_dir == project.root / "source"
    cfr, vfr = (probe(clip) for clip in project.clips)
    assert (cfr.frame_count, cfr.vfr, cfr.has_audio) == (14, False, True)
    assert (vfr.frame_count, vfr.vfr) == (14, True)
    assert (cfr.width, cfr.height) == (160, 96)
    assert sorted(p.name for p in (project.ground_truth / "demo_cfr").iterdir()) == ["00000.png", "00007.png"]
    mtime = project.clips[0].stat().st_mtime_ns
    create_demo(tmp_path / "demo", frames=14, size=(96, 160))
    assert project.clips[0].stat().st_mtime_ns == mtime


def test_demo_command_without_terminal_prints_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("xmem_tui.demo.create_demo.__defaults__", (10, (64, 96)))
    assert main(["demo", "--dir", str(tmp_path / "d"), "--no-open"]) == 0
    out = capsys.readouterr().out
    assert "demo_vfr.mp4: 10 frames, 96x64" in out and "VFR" in out
    assert "demo_cfr.mp4: 10 frames" in out and "audio" in out
