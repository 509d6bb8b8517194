"""A fake dashboard service, so the UI can be driven without videos, torch or a worker."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from xmem_tui.config import Settings, load_settings
from xmem_tui.export.errors import ExportError
from xmem_tui.export.request import ExportRequest
from xmem_tui.progress import Progress
from xmem_tui.tui.contract import EngineChoice, JobRow, ReviewEntry, SourceSummary, VideoDetail, WorkerInfo


class FakeService:
    """Records every call; returns fixed, deterministic data (a :class:`xmem_tui.tui.contract.Service`)."""

    def __init__(self, project: Path) -> None:
        self.project = project
        self.calls: list[tuple] = []
        self.sources = [project / "source" / "dance.mp4", project / "source" / "phone_vfr.mp4"]
        self.rows: list[JobRow] = []
        self.progress_value: Progress | None = None
        self.fail: dict[str, Exception] = {}
        self.worker_alive = False
        #: engine labels given to videos with set_engine (the others follow engine_label)
        self.video_engines: dict[str, str] = {}

    def list_sources(self) -> list[Path]:
        return list(self.sources)

    def summarize(self, path: Path) -> SourceSummary:
        vfr = "vfr" in path.name
        return SourceSummary(path=path, name=path.name, width=1920, height=1080, fps=29.97 if vfr else 25.0,
                             vfr=vfr, duration_s=12.0, frames=40, objects=2, keyframes=1, masked_pct=50.0,
                             stale=2 if vfr else 0, last_export="dance_greenscreen.mp4" if not vfr else "",
                             last_check="passed" if not vfr else "", engine=self.video_engines.get(path.name, ""))

    def detail(self, path: Path) -> VideoDetail:
        states = tuple(["user"] + ["propagated"] * 17 + ["stale"] * 2 + [""] * 20)
        dancer = tuple([0.20 + 0.005 * i for i in range(12)] + [0.12] * 8 + [-1.0] * 20)  # sags at frame 12
        hat = tuple([0.02] * 15 + [0.0] * 5 + [-1.0] * 20)  # lost at frame 15
        scores = tuple([-1.0] + [0.0] * 11 + [2.5, 0.4, 0.0, 3.0] + [0.0] * 4 + [-1.0] * 20)
        return VideoDetail(summary=self.summarize(path), states=states,
                           objects=((1, "dancer", (128, 0, 0)), (2, "hat", (0, 128, 0))), keyframes=(0,),
                           review=(ReviewEntry(15, 3.0, ("object 2 vanished",)),
                                   ReviewEntry(12, 2.5, ("object 1 area -40%", "object 1 IoU 0.55 with frame 11"))),
                           timestamps_s=tuple(i / 25 for i in range(40)), areas=(dancer, hat), scores=scores,
                           progress=self.progress_value)

    def progress(self, path: Path) -> Progress | None:
        return self.progress_value

    def preview(self, path: Path, frame: int, width: int, height: int) -> np.ndarray:
        self.calls.append(("preview", path.name, frame))
        image = np.zeros((height, width, 3), np.uint8)
        image[:, : width // 2] = (200, 40, 40)
        return image

    def rename_object(self, path: Path, object_id: int, name: str) -> None:
        self.calls.append(("rename", path.name, object_id, name))

    def propagate(self, path: Path, frame: int, backward: bool = False, one_frame: bool = False,
                  clear_memory: bool = False) -> str:
        self.calls.append(("propagate", path.name, frame, backward, one_frame, clear_memory))
        if "propagate" in self.fail:
            raise self.fail["propagate"]
        self.rows.insert(0, JobRow(id=f"job{len(self.rows)}", kind="propagate", video=f"source/{path.name}",
                                   state="queued"))
        return self.rows[0].id

    def validate_export(self, path: Path, request: ExportRequest) -> None:
        if request.objects and request.objects not in ("1", "2", "1,2"):
            raise ExportError(f"object {request.objects} is not in {path.name} (objects: 1, 2); fix the objects field.")

    def export(self, path: Path, request: ExportRequest) -> str:
        self.calls.append(("export", path.name, request.to_params()))
        return "export-job"

    def export_all(self, paths: list[Path], request: ExportRequest) -> str:
        self.calls.append(("export_all", tuple(p.name for p in paths), request.to_params()))
        return "export-1, export-2"

    def jobs(self) -> list[JobRow]:
        return list(self.rows)

    def cancel(self, job_id: str) -> None:
        self.calls.append(("cancel", job_id))

    def retry(self, job_id: str) -> None:
        self.calls.append(("retry", job_id))

    def job_log(self, job_id: str) -> str:
        return f"log of {job_id}\nline 2"

    def worker(self) -> WorkerInfo:
        return WorkerInfo(alive=self.worker_alive, pid=4242 if self.worker_alive else None,
                          state="running" if self.worker_alive else "stopped")

    def ensure_worker(self) -> int:
        self.calls.append(("ensure_worker",))
        self.worker_alive = True
        return 4242

    def engine_label(self) -> str:
        return "weight-free (optical flow)"

    def engines(self, path: Path) -> list[EngineChoice]:
        current = self.video_engines.get(path.name, "")
        return [EngineChoice("", "project default: processing.engine = auto -> weight-free (optical flow)",
                             current=not current),
                EngineChoice("xmem", "XMem", missing="XMem.pth", current=current == "XMem"),
                EngineChoice("cutie", "Cutie", current=current == "Cutie"),
                EngineChoice("flow", "weight-free (optical flow)")]

    def set_engine(self, path: Path, name: str) -> str:
        self.calls.append(("set_engine", path.name, name))
        label = {"xmem": "XMem", "cutie": "Cutie", "flow": "weight-free (optical flow)"}.get(name, "")
        self.video_engines[path.name] = label
        return label or self.engine_label()

    def annotate(self, path: Path, frame: int) -> None:
        self.calls.append(("annotate", path.name, frame))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "source").mkdir()
    return tmp_path


@pytest.fixture
def settings(project: Path) -> Settings:
    return load_settings(None, project_dir=project)


@pytest.fixture
def fake(project: Path) -> FakeService:
    return FakeService(project)


# ---------------------------------------------------------------------------------------------- real projects
CLIP_SPEC = {"height": 96, "width": 160, "n_frames": 24}


def make_real_project(root: Path, clip_name: str = "clip.mp4", import_frame0: bool = True) -> Settings:
    """A project with config.toml (weight-free flow engine), one small generated clip and frame 0's mask."""
    from xmem_tui.config import default_config_toml
    from xmem_tui.media.synthetic import SceneSpec, write_clip
    from xmem_tui.workspace import Workspace

    (root / "source").mkdir(parents=True, exist_ok=True)
    config = default_config_toml()
    assert 'engine = "auto"' in config
    (root / "config.toml").write_text(config.replace('engine = "auto"', 'engine = "flow"'), encoding="utf-8")
    settings = load_settings(root / "config.toml")
    clip = write_clip(root / "source" / clip_name, SceneSpec(**CLIP_SPEC))
    if import_frame0:
        Workspace.for_video(settings, root / "source" / clip_name).write_frame(0, clip.masks[0],
                                                                                provenance="user:import")
    return settings


@pytest.fixture
def make_project():
    """``make_project(root, clip_name="clip.mp4", import_frame0=True) -> Settings`` (see make_real_project)."""
    return make_real_project


@pytest.fixture
def real_settings(tmp_path: Path):
    """Settings of a real project; any worker started for it is stopped afterwards."""
    from xmem_tui.jobs.pidfile import stop_worker

    settings = make_real_project(tmp_path / "project")
    yield settings
    stop_worker(settings)


async def _wait_for(pilot, predicate, timeout: float, what: str) -> float:
    """Let the app run until ``predicate()`` holds; returns the seconds it took, fails after ``timeout``."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        await pilot.pause(0.05)
    return time.monotonic() - started


@pytest.fixture
def wait_for():
    """``await wait_for(pilot, predicate, timeout, what)``: a bounded wait that keeps the app running."""
    return _wait_for
