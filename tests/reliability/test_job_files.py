"""Job files a worker must refuse: malformed, or pointing outside the project (directly or via a symlink).

Parsing rules are unit-tested in tests/jobs/test_model.py; here a real worker meets the files in queued/
and must fail each one with a clear reason, write nothing outside the project and keep going.
"""

from __future__ import annotations

import os
import shutil

import pytest

from xmem_tui.cli import main
from xmem_tui.jobs.worker import Worker

from .procs import RelProject, file_digests

OUTSIDE = "../outside"


def _files(outside: str) -> dict[str, tuple[str, str]]:
    """Job file name -> (TOML text, fragment of the error the worker records)."""
    return {
        "not-toml": ('kind = "propagate"\nvideo = "source/clip.mp4"\n[params\nstart = 0\n', "not valid TOML"),
        "no-video": ('kind = "propagate"\n[params]\nstart = 0\n', "missing required key 'video'"),
        "video-dotdot": (f'kind = "propagate"\nvideo = "{OUTSIDE}/clip.mp4"\n[params]\nstart = 0\n',
                         "points outside the project"),
        "video-absolute": (f'kind = "propagate"\nvideo = "{outside}/clip.mp4"\n[params]\nstart = 0\n',
                           "points outside the project"),
        "out-dotdot": ('kind = "export"\nvideo = "source/clip.mp4"\n[params]\nkind = "mask"\n'
                       f'out = "{OUTSIDE}/stolen.mkv"\n', "params.out"),
        "out-absolute": ('kind = "export"\nvideo = "source/clip.mp4"\n[params]\nkind = "mask"\n'
                         f'output = "{outside}/stolen.mkv"\n', "params.output"),
        "out-symlink": ('kind = "export"\nvideo = "source/clip.mp4"\n[params]\nkind = "mask"\n'
                        'out = "exports/link/stolen.mkv"\n', "points outside the project"),
        "wrong-type": ('kind = "propagate"\nvideo = "source/clip.mp4"\npriority = "high"\n', "priority must be"),
        "unknown-kind": ('kind = "rm -rf"\nvideo = "source/clip.mp4"\n', "unknown kind"),
        "unknown-key": ('kind = "propagate"\nvideo = "source/clip.mp4"\nende = 5\n[params]\nstart = 0\n',
                        "unknown key 'ende'"),
        "unknown-param": ('kind = "propagate"\nvideo = "source/clip.mp4"\n[params]\nstart = 0\nende = 5\n',
                          "params.ende is not a parameter of this job"),
        "param-out-of-range": ('kind = "propagate"\nvideo = "source/clip.mp4"\n[params]\nstart = -3\n',
                               "params.start = -3 is out of range; allowed from 0"),
        "param-wrong-type": ('kind = "export"\nvideo = "source/clip.mp4"\n[params]\ncrf = "high"\n',
                             "params.crf must be"),
        "priority-out-of-range": ('kind = "propagate"\nvideo = "source/clip.mp4"\npriority = 99999\n[params]\n'
                                  'start = 0\n', "priority = 99999 is out of range"),
    }


@pytest.mark.timeout(120)
def test_worker_fails_bad_and_escaping_job_files_and_writes_nothing_outside(annotated: RelProject,
                                                                             capsys: pytest.CaptureFixture) -> None:
    project = annotated
    outside = (project.root / OUTSIDE).resolve()
    outside.mkdir()
    shutil.copy(project.video, outside / "clip.mp4")
    (project.root / "exports").mkdir()
    (project.root / "exports" / "link").symlink_to(outside, target_is_directory=True)
    before = file_digests(project.root / "workspace" / "clip.mp4" / "masks")
    files = _files(str(outside))
    queued = project.jobs / "queued"
    queued.mkdir(parents=True)
    for name, (text, _) in files.items():
        (queued / f"20260101T000000000000-{name}.toml").write_text(text)
    good = project.queue.submit("propagate", "source/clip.mp4", {"start": 0, "end": 2, "engine": "flow"})

    assert Worker(project.settings, once=True).run() == 0

    jobs = {job.id.split("-", 1)[1]: job for job in project.queue.list()}
    for name, (_, fragment) in files.items():
        job = jobs[name]
        assert job.state == "failed" and fragment in job.error, (name, job.error)
        assert "\n" not in job.error
    assert project.queue.get(good.id).state == "done"  # the worker went on to the good job
    assert sorted(p.name for p in outside.iterdir()) == ["clip.mp4"]  # nothing written outside
    assert not (project.root / "workspace" / "outside").exists()
    after = file_digests(project.root / "workspace" / "clip.mp4" / "masks")
    assert {k: after[k] for k in before} == before
    assert main(["--config", str(project.config), "jobs", "list"]) == 0
    listing = capsys.readouterr().out
    assert listing.count("failed") >= len(files)


def test_submitting_an_escaping_path_is_a_one_line_error(annotated: RelProject,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--config", str(annotated.config), "export", str(annotated.video), "--kind", "mask",
                 "--out", str(annotated.root.parent / "stolen.mkv"), "--queue"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("xmem-tui: error: ") and err.count("\n") == 1
    assert "outside the project" in err and not (annotated.root.parent / "stolen.mkv").exists()
    assert annotated.queue.list() == []


@pytest.mark.parametrize(("extra", "fragment"), [
    (["--param", "start=0", "--param", "ende=5"], "params.ende is not a parameter of this job"),
    (["--param", "start=-1"], "params.start = -1 is out of range"),
    (["--param", "start=0", "--priority", "5000"], "priority = 5000 is out of range"),
])
def test_submitting_a_job_with_an_unknown_key_or_a_bad_value_is_one_line(
        annotated: RelProject, capsys: pytest.CaptureFixture[str], extra: list[str], fragment: str) -> None:
    code = main(["--config", str(annotated.config), "jobs", "submit", "propagate", "source/clip.mp4", *extra])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("xmem-tui: error: ") and err.count("\n") == 1 and fragment in err, err
    assert annotated.queue.list() == []  # nothing queued


@pytest.mark.timeout(120)
def test_stray_files_and_folders_in_the_queue_are_skipped_and_stop_nothing(
        annotated: RelProject, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    project = annotated
    queued = project.jobs / "queued"
    queued.mkdir(parents=True)
    (queued / "x.toml").mkdir()  # a folder named like a job file
    (queued / "x.toml" / "inner.toml").write_text('kind = "propagate"\n')
    (queued / "notes.txt").write_text("remember to export\n")
    os.mkfifo(queued / "pipe.toml")  # reading it would block a worker forever
    (queued / "link.toml").symlink_to("/etc/hostname")
    big = "20260101T000000000000-huge.toml"
    (queued / big).write_text('kind = "propagate"\nvideo = "source/clip.mp4"\n' + "#" * (2 << 20) + "\n")
    good = project.queue.submit("propagate", "source/clip.mp4", {"start": 0, "end": 2, "engine": "flow"})
    stray = ("x.toml", "notes.txt", "pipe.toml", "link.toml")

    assert main(["--config", str(project.config), "jobs", "list"]) == 0
    assert Worker(project.settings, once=True).run() == 0

    assert project.queue.get(good.id).state == "done"
    huge = project.queue.get("huge")
    assert huge.state == "failed" and "larger than 1 MiB" in huge.error
    assert sorted(p.name for p in queued.iterdir()) == sorted(stray)  # left where they were
    warned = "\n".join(r.getMessage() for r in caplog.records if r.levelname == "WARNING")
    assert all(name in warned for name in stray), warned
    assert main(["--config", str(project.config), "jobs", "list"]) == 0
    listing = capsys.readouterr().out
    assert "done" in listing and "failed" in listing
