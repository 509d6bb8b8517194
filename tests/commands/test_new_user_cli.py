"""What a new user tripped on in the shell: ``export --all``, ``jobs`` outside a project, ``init`` making
``models/``, the offline checkpoint message, and the closed window's process ending at once."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from xmem_tui.cli import main
from xmem_tui.config import load_settings
from xmem_tui.jobs.queue import JobQueue
from xmem_tui.media.resize import mask_to_shape
from xmem_tui.media.synthetic import SceneSpec, write_clip
from xmem_tui.workspace import Workspace


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """Three clips; ``a.mp4`` and ``c.mp4`` have masks, ``b.mp4`` none."""
    (tmp_path / "config.toml").write_text("[processing]\nsize = 64\n")
    settings = load_settings(tmp_path / "config.toml")
    for name in ("a.mp4", "b.mp4", "c.mp4"):
        clip = write_clip(tmp_path / "source" / name, SceneSpec(height=64, width=96, n_frames=6))
        if name != "b.mp4":
            ws = Workspace.for_video(settings, tmp_path / "source" / name)
            ws.write_frame(0, mask_to_shape(clip.masks[0], ws.shape), provenance="user:import")
    return tmp_path


def test_export_all_queues_one_job_per_video_with_masks(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = str(project / "config.toml")
    assert main(["--config", config, "export", "--all", "--kind", "mask", "--out", str(project / "deliver"),
                 "--queue"]) == 0
    captured = capsys.readouterr()
    assert "skipped b.mp4: no masks yet" in captured.err and captured.out.count("queued export job") == 2
    jobs = sorted(JobQueue(project / "jobs", project).list(), key=lambda j: j.video)
    assert [j.video for j in jobs] == ["source/a.mp4", "source/c.mp4"]
    assert [Path(j.params["out"]) for j in jobs] == [project / "deliver" / "a_mask_ffv1.mkv",
                                                     project / "deliver" / "c_mask_ffv1.mkv"]
    assert {j.params["kind"] for j in jobs} == {"mask"}


def test_export_all_runs_in_the_foreground_with_the_self_check_as_its_own_step(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(project / "config.toml"), "export", "--all", "--kind", "mask"]) == 0
    captured = capsys.readouterr()
    assert (project / "exports" / "a_mask_ffv1.mkv").is_file() and (project / "exports" / "c_mask_ffv1.mkv").is_file()
    assert "self-check: decoding the output again" in captured.err
    # the self-check is its own step, never a frame counter stuck at "0.0 fps" (140.0 fps is fine)
    assert "self-checking" not in captured.err and not re.search(r"(?<![\d.])0\.0 fps", captured.err)


def test_export_needs_a_video_or_all(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = str(project / "config.toml")
    assert main(["--config", config, "export", "--kind", "mask"]) == 2
    assert "give one VIDEO or --all" in capsys.readouterr().err
    assert main(["--config", config, "export", str(project / "source" / "a.mp4"), "--all"]) == 2
    assert "not both" in capsys.readouterr().err


def test_jobs_outside_a_project_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("XMEM_TUI_CONFIG", raising=False)
    assert main(["jobs", "list"]) == 2
    err = capsys.readouterr().err
    assert "is not a project folder" in err and "xmem-tui init" in err and "no jobs" not in err
    assert not (tmp_path / "jobs").exists()
    assert main(["init"]) == 0
    capsys.readouterr()
    assert main(["jobs", "list"]) == 0
    assert "no jobs" in capsys.readouterr().out


def test_init_makes_models_and_says_what_to_copy_there(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", str(tmp_path / "p")]) == 0
    assert (tmp_path / "p" / "models").is_dir()
    out = capsys.readouterr().out
    assert "copy XMem.pth, cutie-base-mega.pth, s2m.pth, fbrs.pth" in out
    assert f"into {tmp_path / 'p' / 'models'}/" in out


def test_offline_download_names_copying_the_file_in(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "config.toml").write_text("")
    dead = "http://127.0.0.1:9/"  # the discard port: nothing answers
    assert main(["--config", str(tmp_path / "config.toml"), "models", "download", "XMem.pth", "--url-base", dead]) == 2
    err = capsys.readouterr().err
    assert "--url-base" in err and f"copy XMem.pth from a machine that has it into {tmp_path / 'models'}/" in err


def test_the_program_ends_at_once_when_a_command_asks(tmp_path: Path) -> None:
    """``EXIT_AT_ONCE`` skips the interpreter's teardown only when main() is the program, not a call."""
    code = ("import sys, time, atexit, types\n"
            "from xmem_tui import cli\n"
            "mod = types.SimpleNamespace(NAME='quick', HELP='h', register=lambda p: None, EXIT_AT_ONCE=True,\n"
            "                            run=lambda args, settings: print('ran') or 0)\n"
            "cli.command_modules = lambda: {'quick': mod}\n"
            "atexit.register(lambda: print('teardown ran'))\n"
            "sys.argv = ['xmem-tui', 'quick']\n"
            "cli.main(sys.argv[1:] if len(sys.argv) > 5 else None)\n"
            "print('main returned')\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["ran"]
