"""The self-check catches shifted, missing and mistimed frames, and a failed check leaves no output."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

import xmem_tui.export.job as job_module
from xmem_tui.export.errors import ExportError, SelfCheckFailed
from xmem_tui.export.job import run_export
from xmem_tui.export.pipeline import SourceTimeline
from xmem_tui.export.request import ExportRequest
from xmem_tui.export.selfcheck import check_video


def _timeline(video: Path) -> SourceTimeline:
    import av

    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))
        return SourceTimeline(time_base=stream.time_base, pts=[f.pts for f in frames],
                              durations=[f.duration for f in frames], rotation=int(frames[0].rotation or 0))


def test_source_checked_against_itself_passes_and_tampering_fails(clips: dict) -> None:
    video, _ = clips["audio"]
    timeline = _timeline(video)
    assert check_video(video, timeline, video, rotation=timeline.rotation, expect_audio=True)["problems"] == []
    shifted = dataclasses.replace(timeline, pts=[p + 1 for p in timeline.pts])
    assert any("differ" in p for p in check_video(video, shifted, video, rotation=0, expect_audio=True)["problems"])
    dropped = dataclasses.replace(timeline, pts=timeline.pts[:-1], durations=timeline.durations[:-1])
    assert any("frame count" in p for p in check_video(video, dropped, video, rotation=0, expect_audio=False)
               ["problems"])
    rotated = check_video(video, timeline, video, rotation=90, expect_audio=False)["problems"]
    assert any("rotation" in p for p in rotated)


def test_failed_check_leaves_no_output_under_the_final_name(clips: dict, settings: Any,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    video, _ = clips["vfr"]
    real = job_module.check_video

    def late_by_one_frame(out: Path, src: SourceTimeline, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return real(out, dataclasses.replace(src, pts=[p + 40 for p in src.pts]), *args, **kwargs)

    monkeypatch.setattr(job_module, "check_video", late_by_one_frame)
    final = settings.project_dir / "exports" / "never.mkv"
    with pytest.raises(SelfCheckFailed, match="self-check failed"):
        list(run_export(ExportRequest(kind="mask", out=str(final)), settings, video))
    assert not final.exists()
    assert not list(final.parent.glob(".never*"))  # the temporary file is gone too
    report = json.loads(final.with_name("never.mkv.check.json").read_text())
    assert not report["ok"] and report["problems"]


def test_cancel_stops_and_cleans_up(clips: dict, settings: Any) -> None:
    video, _ = clips["cfr"]
    final = settings.project_dir / "exports" / "cancelled.mp4"
    seen = []
    progress = list(run_export(ExportRequest(kind="greenscreen", out=str(final), speed="ultrafast"), settings, video,
                               lambda: len(seen.append(1) or seen) > 3))
    assert progress[-1].message == "export cancelled"
    assert not final.exists() and not list(final.parent.glob(".cancelled*"))


def test_the_job_result_names_the_outputs(clips: dict, settings: Any) -> None:
    video, _ = clips["audio"]
    gen = run_export(ExportRequest(kind="mask", out="exports/result.mkv"), settings, video)
    try:
        while True:
            next(gen)
    except StopIteration as stop:
        result = stop.value
    assert result.complete and result.outputs == (str(settings.project_dir / "exports" / "result.mkv"),)
    assert Path(result.report).is_file()


@pytest.mark.parametrize(("kind", "out"), [("mask", "exports/again.mkv"), ("masks", "exports/again_masks")])
def test_exporting_again_keeps_the_output_unless_overwrite(clips: dict, settings: Any, kind: str, out: str) -> None:
    video, _ = clips["cfr"]
    final = settings.project_dir / out
    list(run_export(ExportRequest(kind=kind, out=out), settings, video))
    before = final.stat().st_mtime_ns
    with pytest.raises(ExportError, match=r"already exists and was kept; pass --overwrite") as err:
        list(run_export(ExportRequest(kind=kind, out=out), settings, video))
    assert "\n" not in str(err.value) and final.stat().st_mtime_ns == before
    list(run_export(ExportRequest(kind=kind, out=out, overwrite=True), settings, video))
    assert final.exists() and not list(final.parent.glob(f".{final.stem}.partial*"))
    if final.is_dir():
        assert len(list(final.glob("*.png"))) == 20
