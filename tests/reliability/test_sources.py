"""Naming sources: videos of the same stem keep their own workspaces, a bare name is looked up in source/,
printed commands can be pasted whatever the file name holds, and a closed output pipe ends quietly."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from xmem_tui.cli import main
from xmem_tui.media.masks import write_index_mask
from xmem_tui.media.synthetic import SceneSpec, write_image_folder
from xmem_tui.workspace import Workspace

from .procs import RelProject, env


def _masks(folder: Path, shape: tuple[int, int], k: int) -> Path:
    mask = np.zeros(shape, np.uint8)
    mask[10:40, 20:60] = k
    write_index_mask(folder / "00000.png", mask)
    return folder


def test_sources_of_one_stem_get_their_own_workspaces_and_an_old_one_is_still_found(
        project: RelProject, capsys: pytest.CaptureFixture[str]) -> None:
    source = project.root / "source"
    legacy = Workspace.open(project.root / "workspace" / "clip", project.video, 96)  # made by an earlier version
    legacy.write_frame(0, project.truth[0], provenance="user:free")
    shutil.copy(project.video, source / "clip.avi")
    write_image_folder(source / "clip", SceneSpec(height=96, width=160, n_frames=4, seed=5))
    config = ["--config", str(project.config)]
    for name, k in (("clip.avi", 2), ("clip", 3), ("clip.mp4", 1)):
        masks = _masks(project.root / f"masks_{k}", (96, 160), k)
        assert main([*config, "import", str(source / name), str(masks)]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert f"into {project.root / 'workspace' / 'clip.avi'} " in out
    assert f"into {project.root / 'workspace' / 'clip.folder'} " in out
    assert f"into {project.root / 'workspace' / 'clip'} " in out  # clip.mp4 keeps the workspace it had
    assert sorted(p.name for p in (project.root / "workspace").iterdir()) == ["clip", "clip.avi", "clip.folder"]
    assert int(project.workspace_of(source / "clip.avi").read_mask(0).max()) == 2
    assert int(project.workspace_of(source / "clip").read_mask(0).max()) == 3
    assert project.workspace_of(project.video).user_frames() == [0]


@pytest.mark.timeout(120)
def test_every_command_finds_a_bare_name_in_source(annotated: RelProject, capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(annotated.root)
    masks = _masks(annotated.root / "incoming", (96, 160), 1)
    for argv in (["info", "clip.mp4"], ["import", "clip.mp4", str(masks)],
                 ["propagate", "clip.mp4", "--from", "0", "--to", "2"], ["review", "clip.mp4"],
                 ["export", "clip.mp4", "--kind", "mask"], ["repair", "clip.mp4"]):
        assert main(argv) == 0, (argv, capsys.readouterr().err)
    assert (annotated.root / "exports").is_dir() and not (annotated.root / "clip.mp4").exists()
    capsys.readouterr()
    assert main(["info", "nope.mp4"]) == 2
    err = capsys.readouterr().err
    assert f"in {annotated.root} or in {annotated.root / 'source'}" in err and err.count("\n") == 1


def test_the_command_printed_after_a_propagation_can_be_pasted(project: RelProject,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    video = project.root / "source" / "my clip $(touch PWNED).mp4"
    shutil.copy(project.video, video)
    config = ["--config", str(project.config)]
    assert main([*config, "import", str(video), str(_masks(project.root / "incoming", (96, 160), 1))]) == 0
    assert main([*config, "propagate", str(video), "--from", "0", "--to", "3"]) == 0
    hint = re.search(r"frames worth a look: (.+)", capsys.readouterr().out).group(1)
    assert shlex.split(hint) == ["xmem-tui", "review", str(video)]
    command = hint.replace("xmem-tui", f"{shlex.quote(sys.executable)} -m xmem_tui {shlex.join(config)}", 1)
    result = subprocess.run(["bash", "-c", command], cwd=project.root, env=env(), capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0 and "propagated frames measured" in result.stdout, result.stderr
    assert not (project.root / "PWNED").exists()


@pytest.mark.parametrize("argv", [["info", "clip.mp4"], ["jobs", "list"]])
def test_a_closed_output_pipe_ends_quietly(project: RelProject, argv: list[str]) -> None:
    command = f"{shlex.quote(sys.executable)} -m xmem_tui {shlex.join(argv)} | head -c 0; exit ${{PIPESTATUS[0]}}"
    result = subprocess.run(["bash", "-c", command], cwd=project.root, env=env(), capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 141, result.stderr  # like any program whose reader went away
    assert "Traceback" not in result.stderr and "Error" not in result.stderr, result.stderr
