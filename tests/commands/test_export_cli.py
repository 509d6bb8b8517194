"""``xmem-tui export``: foreground run with outputs and exit codes, and --queue submission."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from xmem_tui.cli import main
from xmem_tui.config import load_settings
from xmem_tui.media.resize import mask_to_shape
from xmem_tui.media.synthetic import SceneSpec, write_clip


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, Path]:
    """A project (config.toml) with one VFR clip whose workspace holds masks; returns (config, video)."""
    from xmem_tui.workspace import Workspace

    config = tmp_path / "config.toml"
    config.write_text("[processing]\nsize = 64\n")
    video = tmp_path / "source" / "clip.mp4"
    clip = write_clip(video, SceneSpec(height=64, width=96, n_frames=10), vfr=True, audio=True)
    ws = Workspace.for_video(load_settings(config), video)
    for i, mask in enumerate(clip.masks):
        ws.write_frame(i, mask_to_shape(mask, ws.shape), provenance="user:import")
    return config, video


def test_foreground_export_prints_the_output(project: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    config, video = project
    out = config.parent / "exports" / "matte.mkv"
    code = main(["--config", str(config), "export", str(video), "--kind", "mask", "--objects", "1",
                 "--out", str(out), "--temporal", "1"])
    captured = capsys.readouterr()
    assert code == 0
    assert str(out) in captured.out and "frames" in captured.err
    assert out.is_file() and out.with_name("matte.mkv.check.json").is_file()
    with av.open(str(out)) as container:
        assert container.streams.audio and len(list(container.decode(video=0))) == 10


def test_user_errors_exit_2(project: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    config, video = project
    assert main(["--config", str(config), "export", str(video), "--kind", "mask", "--objects", "7"]) == 2
    assert "object 7" in capsys.readouterr().err
    assert main(["--config", str(config), "export", str(video), "--kind", "alpha",
                 "--out", str(config.parent / "a.mp4")]) == 2


def test_queue_submits_an_export_job(project: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    from xmem_tui.jobs.queue import JobQueue

    config, video = project
    assert main(["--config", str(config), "export", str(video), "--preset", "capcut", "--queue"]) == 0
    assert "queued export job" in capsys.readouterr().out
    jobs = JobQueue(config.parent / "jobs", config.parent).list()
    assert len(jobs) == 1 and jobs[0].kind == "export" and jobs[0].params["preset"] == "capcut"
    assert not (config.parent / "exports").exists()  # nothing ran


def test_an_existing_output_is_kept_unless_overwrite(project: tuple[Path, Path],
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    config, video = project
    args = ["--config", str(config), "export", str(video), "--kind", "mask", "--objects", "1"]
    assert main(args) == 0
    out = config.parent / "exports" / "clip_mask_ffv1.mkv"  # the default name: video, kind, codec
    assert str(out) in capsys.readouterr().out
    before = out.stat().st_mtime_ns
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == (f"xmem-tui: error: {out} already exists and was kept; pass --overwrite (overwrite = yes in "
                       "the dialog) to replace it, or --out to write elsewhere.")
    assert out.stat().st_mtime_ns == before
    assert main([*args, "--overwrite"]) == 0
    assert out.stat().st_mtime_ns != before
