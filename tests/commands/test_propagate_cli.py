"""``xmem-tui propagate`` and ``xmem-tui review`` end to end, in a temporary project with the flow engine."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from xmem_tui.cli import main
from xmem_tui.config import load_settings
from xmem_tui.media.resize import mask_to_shape
from xmem_tui.media.synthetic import SceneSpec, write_clip
from xmem_tui.workspace import Workspace

N = 12


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "config.toml").write_text("[processing]\nsize = 64\nthreads = 1\n")
    written = write_clip(tmp_path / "source" / "clip.mp4", SceneSpec(height=96, width=160, n_frames=N, seed=2))
    settings = load_settings(tmp_path / "config.toml")
    ws = Workspace.for_video(settings, tmp_path / "source" / "clip.mp4")
    ws.write_frame(0, mask_to_shape(written.masks[0], ws.shape), provenance="user:import")
    ws.write_frame(N - 1, mask_to_shape(written.masks[N - 1], ws.shape), provenance="user:import")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def workspace(project: Path) -> Workspace:
    return Workspace.for_video(load_settings(project / "config.toml"), project / "source" / "clip.mp4")


def cli(project: Path, *args: str) -> int:
    return main(["--config", str(project / "config.toml"), *args])


def test_foreground_propagation_with_the_flow_engine(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(project, "propagate", str(project / "source" / "clip.mp4"), "--from", "0", "--engine", "flow") == 0
    out, err = capsys.readouterr()
    assert f"propagated {N - 2} frames forward from frame 0 to {N - 1}" in out  # through the user frame
    assert f"({N - 1}/{N - 1})" in err and "weight-free" in err and "fps" in err and "ETA" in err
    records = workspace(project).records()
    assert sorted(records) == list(range(N))
    assert all(records[i].provenance == "propagated" for i in range(1, N - 1))
    assert records[N - 1].user  # passed through as input, never overwritten
    assert len({records[i].run for i in range(1, N - 1)}) == 1


def test_range_backward_and_video_name_from_the_source_folder(project: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(project, "propagate", "clip.mp4", "--from", str(N - 1), "--to", "7", "--backward") == 0
    assert "propagated 4 frames backward" in capsys.readouterr().out
    assert sorted(workspace(project).records()) == [0, 7, 8, 9, 10, N - 1]


def test_until_keyframe(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(project, "propagate", "clip.mp4", "--from", "0", "--until-keyframe") == 0
    assert f"to {N - 2}" in capsys.readouterr().out


def test_clear_errors(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(project, "propagate", "clip.mp4", "--from", "5") == 2
    assert "annotate frame 5 first" in capsys.readouterr().err
    assert cli(project, "propagate", "missing.mp4", "--from", "0") == 2
    assert "missing.mp4: video not found" in capsys.readouterr().err
    assert cli(project, "propagate", "clip.mp4", "--from", "0", "--engine", "xmem") == 2
    err = capsys.readouterr().err
    assert "XMem.pth is missing" in err and "xmem-tui models download" in err
    assert cli(project, "propagate", "clip.mp4", "--from", "0", "--to", str(N)) == 2
    assert "out of range" in capsys.readouterr().err
    assert workspace(project).records().keys() == {0, N - 1}


def test_queue_submits_a_job(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from xmem_tui.jobs.queue import JobQueue

    assert cli(project, "propagate", "clip.mp4", "--from", "0", "--to", "5", "--engine", "flow", "--queue") == 0
    job_id = capsys.readouterr().out.strip()
    job = JobQueue(project / "jobs").get(job_id)
    assert job.kind == "propagate" and job.state == "queued" and job.video == "source/clip.mp4"
    assert job.params == {"start": 0, "end": 5, "backward": False, "until_keyframe": False, "engine": "flow",
                          "clear_memory": False}
    assert workspace(project).records().keys() == {0, N - 1}  # nothing ran in the foreground
    assert cli(project, "propagate", "clip.mp4", "--from", "0", "--clear-memory", "--queue") == 0
    assert JobQueue(project / "jobs").get(capsys.readouterr().out.strip()).params["clear_memory"] is True


def test_review_lists_propagated_frames(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(project, "review", "clip.mp4") == 0
    assert "no quality signals" in capsys.readouterr().out
    assert cli(project, "propagate", "clip.mp4", "--from", "0", "--engine", "flow") == 0
    capsys.readouterr()
    assert cli(project, "review", "clip.mp4", "--json", "--top", "3") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["frames_with_signals"] == N - 2
    assert len(report["ranked"]) <= 3
    assert all(1 <= r["frame"] <= N - 2 and r["score"] > 0 and r["reasons"] for r in report["ranked"])
    scores = [r["score"] for r in report["ranked"]]
    assert scores == sorted(scores, reverse=True)
    assert cli(project, "review", "clip.mp4") == 0
    out = capsys.readouterr().out
    assert f"{N - 2} propagated frames measured" in out


def test_review_reports_stale_frames_after_a_later_edit(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(project, "propagate", "clip.mp4", "--from", "0", "--to", "6", "--engine", "flow") == 0
    ws = workspace(project)
    edited = ws.read_mask(3)
    edited[:4, :4] = 1
    ws.write_frame(3, np.ascontiguousarray(edited), provenance="user:free")
    capsys.readouterr()
    assert cli(project, "review", "clip.mp4", "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["stale"] == [4, 5, 6]
    assert all(r["frame"] != 3 for r in report["ranked"])  # now a user frame: not listed


@pytest.mark.parametrize(("flags", "memory"), [
    ((), "mem 56+0"),  # frame 0 and the other user frame (N - 1, primed): 2 x 4x7 elements
    (("--clear-memory",), "mem 28+0"),  # frame 0 only: 64x106 -> 4x7 memory elements per memory frame
])
def test_auto_engine_uses_xmem_when_the_weights_exist(project: Path, capsys: pytest.CaptureFixture[str],
                                                      caplog: pytest.LogCaptureFixture, flags: tuple[str, ...],
                                                      memory: str) -> None:
    import logging

    import torch

    from xmem_tui.model.network import XMem

    torch.manual_seed(0)
    (project / "models").mkdir()
    torch.save(XMem().state_dict(), project / "models" / "XMem.pth")  # random weights: wiring, not quality
    with caplog.at_level(logging.INFO):
        assert cli(project, "propagate", "clip.mp4", "--from", "0", "--to", "4", *flags) == 0
    out, err = capsys.readouterr()
    assert "propagated 4 frames forward" in out and "with XMem (" in out
    assert memory in err and "(4/4)" in err
    assert "estimated peak memory on CPU" in caplog.text  # the pre-flight estimate is logged
    ws = workspace(project)
    assert sorted(ws.records()) == [0, 1, 2, 3, 4, N - 1]
    assert ws.read_soft(2).shape == (2, *ws.shape)
