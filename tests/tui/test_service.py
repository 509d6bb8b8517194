"""DashboardService pieces that need no app: export checks and reading an export's self-check."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from xmem_tui.errors import UserError
from xmem_tui.export.errors import ExportError
from xmem_tui.export.request import ExportRequest, report_check
from xmem_tui.tui.service import DashboardService


def test_validate_export_names_what_is_wrong(tmp_path: Path, make_project) -> None:
    settings = make_project(tmp_path / "project")
    service = DashboardService(settings)
    video = settings.source_dir / "clip.mp4"
    service.validate_export(video, ExportRequest(objects="1,2"))
    with pytest.raises(ExportError, match=r"object 7 is not in clip\.mp4 \(objects: 1, 2\)"):
        service.validate_export(video, ExportRequest(objects="7"))
    with pytest.raises(ExportError, match="codec 'png' cannot be used for --kind greenscreen"):
        service.validate_export(video, ExportRequest(codec="png"))
    with pytest.raises(ExportError, match="objects 'x' is not valid"):
        service.validate_export(video, ExportRequest(objects="x"))


@pytest.mark.parametrize(("report", "expected"), [({"ok": True}, "passed"), ({"ok": False}, "failed"),
                                                  ({"problems": []}, ""), (None, "")])
def test_self_check_is_read_from_the_report(tmp_path: Path, report, expected) -> None:
    path = tmp_path / "out.mp4.check.json"
    if report is not None:
        path.write_text(json.dumps(report), encoding="utf-8")
    assert report_check(str(path)) == expected
    job = SimpleNamespace(id="j1", kind="export", video="source/a.mp4", state="done", error="",
                          result={"outputs": [str(tmp_path / "out.mp4")], "report": str(path), "done": 3, "total": 3})
    row = DashboardService._row(job, None)
    assert (row.output, row.check, row.done, row.total) == (str(tmp_path / "out.mp4"), expected, 3, 3)


def test_annotate_without_a_display_is_refused_with_the_fix(tmp_path: Path, make_project, monkeypatch) -> None:
    settings = make_project(tmp_path / "project", import_frame0=False)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(UserError, match="DISPLAY is not set; reconnect with `ssh -X`"):
        DashboardService(settings).annotate(settings.source_dir / "clip.mp4", 3)
