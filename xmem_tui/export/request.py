"""An export request and its result, as every client builds them and the job file stores them.

``xmem-tui export`` and the dashboard's export dialog each build one :class:`ExportRequest`; it is
stored whole as an export job's ``[params]``, rebuilt by the runner (unknown keys refused, every value
type-checked) and resolved against the settings and the preset by :func:`xmem_tui.export.options.resolve`.
A field left at None takes its value from the preset, then from ``[export]`` in config.toml.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from xmem_tui.params import JobRequest, JobResult

#: Values of ``audio`` (here, not in :mod:`~xmem_tui.export.options`, so the export dialog lists them
#: without importing the export stack).
AUDIO_CHOICES = ("auto", "copy", "none", "aac", "libopus", "pcm_s16le")


@dataclass(frozen=True)
class ExportRequest(JobRequest):
    """What to export (see :mod:`xmem_tui.export.options` for each parameter's meaning and values)."""

    kind: str | None = None
    preset: str | None = None
    objects: str | tuple[int, ...] | None = None
    out: str | None = None
    codec: str | None = None
    crf: int | None = None
    speed: str | None = None
    background: str | None = None
    per_object: bool | None = None
    upscale: str | None = None
    median: int | None = None
    feather: float | None = None
    choke: int | None = None
    temporal: int | None = None
    despill: bool | None = None
    device: str | None = None
    audio: str | None = None
    opacity: float | None = None
    aspect: str | None = None
    size: str | None = None
    smooth: float | None = None
    overwrite: bool | None = None


@dataclass(frozen=True)
class ExportResult(JobResult):
    """What an export job reports.

    Attributes:
        outputs: the files (or PNG folders) written, under their final names.
        report: the self-check report beside the first output (``<output>.check.json``).
        missing_masks: frames that had no masks (exported with an empty matte).
    """

    outputs: tuple[str, ...] = ()
    report: str = ""
    missing_masks: int = 0

    @property
    def output(self) -> str:
        return self.outputs[0] if self.outputs else ""

    def check(self) -> str:
        return report_check(self.report)

    def summary(self) -> str:
        return f"output={self.output}"


def report_check(report: str) -> str:
    """"passed"/"failed" from a self-check report file, "" if there is none or it is unreadable."""
    if not report:
        return ""
    try:
        data = json.loads(Path(report).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    return ("passed" if data.get("ok") else "failed") if isinstance(data, dict) and "ok" in data else ""
