"""``xmem-tui jobs`` from a shell: table and JSON output, show, cancel, retry, clean, submit, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from xmem_tui.commands.jobs import parse_age, parse_params
from xmem_tui.errors import JobError
from xmem_tui.jobs.queue import JobQueue

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "config.toml").write_text("[processing]\nsize = 96\n")
    return root


def jobs(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "XMEM_TUI_CONFIG"}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run([sys.executable, "-m", "xmem_tui", "--config", str(project / "config.toml"), "jobs", *args],
                          cwd=project, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_submit_list_show_cancel_retry_clean(project: Path) -> None:
    submitted = jobs(project, "submit", "propagate", "source/clip.mp4", "--param", "start=4", "--param",
                     "engine=flow", "--param", "backward=true", "--priority", "3")
    assert submitted.returncode == 0, submitted.stderr
    job_id = submitted.stdout.strip()
    queue = JobQueue(project / "jobs", project)
    job = queue.get(job_id)
    assert job.params == {"start": 4, "engine": "flow", "backward": True} and job.priority == 3

    listed = jobs(project, "list")
    assert listed.returncode == 0
    lines = listed.stdout.splitlines()
    assert lines[0].startswith("worker: not running")
    assert lines[1].split() == ["ID", "STATE", "KIND", "VIDEO", "PROGRESS", "AGE", "INFO"]
    assert lines[2].split()[:4] == [job_id, "queued", "propagate", "source/clip.mp4"]

    data = json.loads(jobs(project, "list", "--json").stdout)
    assert [(d["id"], d["state"], d["params"]["start"]) for d in data] == [(job_id, "queued", 4)]

    no_log = jobs(project, "log", job_id)
    assert no_log.returncode == 0 and "(no log yet" in no_log.stdout
    (project / "jobs" / "logs").mkdir(parents=True, exist_ok=True)
    (project / "jobs" / "logs" / f"{job_id}.log").write_text("line one\nline two\n")
    assert jobs(project, "log", job_id).stdout == "line one\nline two\n"
    shown = jobs(project, "show", job_id.split("-")[1])
    assert shown.returncode == 0 and f"id        {job_id}" in shown.stdout and '"start": 4' in shown.stdout

    cancelled = jobs(project, "cancel", job_id)
    assert cancelled.returncode == 0 and queue.get(job_id).state == "cancelled"
    again = jobs(project, "cancel", job_id)
    assert again.returncode == 2 and "already finished" in again.stderr

    assert jobs(project, "retry", job_id).returncode == 0 and queue.get(job_id).state == "queued"
    assert jobs(project, "cancel", job_id).returncode == 0
    kept = jobs(project, "clean", "--older-than", "1h")
    assert kept.returncode == 0 and "removed 0" in kept.stdout
    removed = jobs(project, "clean", "--json")
    assert json.loads(removed.stdout) == {"removed": 1} and queue.list() == []


def test_errors_are_one_line_with_exit_code_2(project: Path) -> None:
    outside = jobs(project, "submit", "propagate", "../other/clip.mp4", "--param", "start=0")
    assert outside.returncode == 2 and "outside the project" in outside.stderr
    assert len(outside.stderr.strip().splitlines()) == 1
    unknown = jobs(project, "show", "nope")
    assert unknown.returncode == 2 and "no job nope" in unknown.stderr
    missing = jobs(project, "cancel")
    assert missing.returncode == 2 and "needs one job id" in missing.stderr


def test_malformed_job_is_listed_with_its_error(project: Path) -> None:
    (project / "jobs" / "queued").mkdir(parents=True)
    (project / "jobs" / "queued" / "hand-made.toml").write_text("kind = \n")
    listed = jobs(project, "list")
    row = next(line for line in listed.stdout.splitlines() if line.startswith("hand-made"))
    assert "not valid TOML" in row


def test_parse_helpers() -> None:
    assert parse_age("90") == 90 and parse_age("15m") == 900 and parse_age("1.5h") == 5400 and parse_age("7d") == 604800
    with pytest.raises(JobError):
        parse_age("soon")
    assert parse_params(["a=1", "b=true", "c=x y", 'd="q"', "e=[1, 2]", "f=1.5"]) == {
        "a": 1, "b": True, "c": "x y", "d": "q", "e": [1, 2], "f": 1.5}
    with pytest.raises(JobError):
        parse_params(["novalue"])


def test_show_prints_the_full_output_paths_of_an_export(project: Path) -> None:
    queue = JobQueue(project / "jobs", project)
    job = queue.submit("export", "source/clip.mp4", {"kind": "mask", "per_object": True})
    claimed = queue.claim_next("test")
    assert claimed is not None and claimed.id == job.id
    outputs = [str(project / "exports" / f"clip_mask_ffv1_obj{k}.mkv") for k in (1, 2)]
    queue.finish(claimed, "done", result={"outputs": outputs, "report": outputs[0] + ".check.json"})
    shown = jobs(project, "show", job.id)
    assert shown.returncode == 0, shown.stderr
    assert [line.split(None, 1)[1] for line in shown.stdout.splitlines() if line.startswith("output ")] == outputs
