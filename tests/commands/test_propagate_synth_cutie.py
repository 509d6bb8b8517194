"""The issue's end-to-end check for Cutie: a real clip (the judo frames encoded to H.264) propagated on CPU
with ``--engine cutie`` in the foreground and as a queued job run by the worker, the weights the reference
recipe's synthesized ones saved as ``models/cutie-base-mega.pth`` (the released file's exact schema)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import JUDO_KEYFRAMES
from xmem_tui.cli import main
from xmem_tui.config import load_settings
from xmem_tui.inference.cutie.estimate import CUTIE_PARAMS
from xmem_tui.inference.gpu import format_bytes
from xmem_tui.jobs.queue import JobQueue
from xmem_tui.jobs.runners import result_of
from xmem_tui.workspace import Workspace

N = 16


def workspace(project: Path) -> Workspace:
    return Workspace.for_video(load_settings(project / "config.toml"), project / "source" / "judo.mp4")


def check_masks(ws: Workspace) -> None:
    """Every frame masked; propagated masks hold the annotated objects and real soft edges."""
    records = ws.records()
    assert sorted(records) == list(range(N)) and sorted(ws.objects) == [1, 3]
    for index in sorted(set(range(N)) - set(JUDO_KEYFRAMES)):
        assert records[index].provenance == "propagated"
        mask, soft = ws.read_mask(index), ws.read_soft(index)
        assert mask.shape == ws.shape and soft.shape == (2, *ws.shape)
        assert set(np.unique(mask)) <= {0, 1, 3}
        assert ((soft > 5) & (soft < 250)).any()  # the synthetic weights give non-degenerate outputs


def test_cli_propagates_a_real_clip_with_cutie(cutie_project: Path, capsys: pytest.CaptureFixture[str],
                                               caplog: pytest.LogCaptureFixture) -> None:
    config = str(cutie_project / "config.toml")
    with caplog.at_level(logging.INFO, logger="xmem_tui.inference.estimate"):
        assert main(["--config", config, "propagate", "judo.mp4", "--from", "0", "--engine", "cutie"]) == 0
    out, err = capsys.readouterr()
    assert f"propagated {N - 2} frames forward" in out and "with Cutie" in out, out
    assert "weight-free" not in err and err.rstrip().endswith("| Cutie")  # the progress line names it
    # the pre-flight estimate is Cutie's: its weights, and the two annotated frames kept in memory
    assert f"weights {format_bytes(CUTIE_PARAMS * 4)}" in caplog.text and "annotated frames" in caplog.text
    check_masks(workspace(cutie_project))


def test_the_worker_runs_the_videos_engine_and_the_cli_overrides_it(cutie_project: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """The video's choice (stored in its workspace, as the dashboard does) drives a job queued without
    --engine; ``--engine flow`` overrides it for one run; "auto" (the project default) keeps XMem first,
    and without XMem.pth it takes Cutie."""
    config = str(cutie_project / "config.toml")
    ws = workspace(cutie_project)
    ws.set_engine("cutie")
    assert main(["--config", config, "propagate", "judo.mp4", "--from", "8", "--to", "3", "--backward",
                 "--engine", "flow", "--queue"]) == 0
    assert main(["--config", config, "propagate", "judo.mp4", "--from", "0", "--queue"]) == 0
    ids = capsys.readouterr().out.split()
    assert main(["--config", config, "worker", "--once"]) == 0
    queue = JobQueue.for_settings(load_settings(cutie_project / "config.toml"))
    jobs = [queue.get(job_id) for job_id in ids]
    assert [job.state for job in jobs] == ["done", "done"], [job.error for job in jobs]
    results = [result_of(job) for job in jobs]
    assert [(r.engine, r.weight_free) for r in results] == [("weight-free (optical flow)", True), ("Cutie", False)]
    assert results[1].done == N - 1 and results[1].complete
    check_masks(ws)
    ws.set_engine(None)  # the project default, "auto": Cutie is the first engine whose weights are here
    assert main(["--config", config, "propagate", "judo.mp4", "--from", "8", "--to", "10"]) == 0
    assert "with Cutie" in capsys.readouterr().out
