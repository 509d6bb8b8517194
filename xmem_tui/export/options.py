"""Export job parameters: defaults from settings, then the preset, then what the job says; all checked.

Parameters (all optional except where noted): ``kind``, ``objects`` (list or "1,2"), ``preset``, ``out``,
``codec``, ``crf``, ``speed`` (x264/x265 preset), ``background`` (#RRGGBB or an image path),
``per_object`` (mask kind: one file per object), ``upscale``, ``median``, ``feather``, ``choke``,
``temporal``, ``despill``, ``device`` (cpu, cuda, auto; default: ``processing.device``), ``audio``
(auto, copy, none, aac, libopus, pcm_s16le), ``opacity`` (overlay), ``aspect``/``size``/``smooth`` (reframe),
``overwrite`` (replace an existing output; without it an existing output is kept and the export refused).

Default output names say what is in them: ``<video>_<kind>_<codec or preset><ext>`` (``clip_alpha_prores.mov``,
``clip_greenscreen_h264.mp4``, ``clip_alpha_resolve.mov``), so exports of one video never replace each other.
Every name derived from the video's (and the hidden temporary and report names derived from any output)
is shortened to fit the file system's name-length limit, keeping a hash of what was cut so names stay
distinct.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xmem_tui.export.codecs import Codec
from xmem_tui.export.errors import ExportError
from xmem_tui.export.finishing import FinishOptions
from xmem_tui.export.presets import preset
from xmem_tui.export.reframe import DEFAULT_SMOOTH
from xmem_tui.export.registry import ExportKind, codec_for, kind
from xmem_tui.export.request import AUDIO_CHOICES, ExportRequest


@dataclass(frozen=True)
class ExportOptions:
    """A fully resolved export request."""

    kind: ExportKind
    codec: Codec
    objects: list[int] | None
    out: Path | None
    crf: int
    speed: str
    background: str
    per_object: bool
    finish: FinishOptions
    device: str
    audio: str
    opacity: float
    aspect: str
    size: str
    smooth: float
    preset: str | None
    overwrite: bool = False


def parse_objects(value: Any) -> list[int] | None:
    """``"1,2"``, ``[1, 2]`` or None (all objects) -> sorted ids; ExportError on anything else."""
    if value is None or value == "" or value == []:
        return None
    items = value.split(",") if isinstance(value, str) else list(value)
    try:
        ids = sorted({int(str(v).strip()) for v in items})
    except ValueError:
        raise ExportError(f"objects {value!r} is not valid; give object numbers like 1,2.") from None
    if any(not 1 <= k <= 255 for k in ids):
        raise ExportError(f"objects {value!r} is not valid; object numbers are 1..9.")
    return ids


def resolve(request: ExportRequest, settings: Any) -> ExportOptions:
    """Merge ``[export]`` settings, the preset and the request (later wins) into checked options."""
    given = request.to_params()
    chosen = given.get("preset")
    merged: dict[str, Any] = {"kind": settings.export.kind, "crf": settings.export.crf,
                              "background": settings.export.background}
    merged.update(preset(chosen))
    if "kind" in given and "codec" not in given and given["kind"] != merged.get("kind"):
        merged.pop("codec", None)  # the preset's codec belongs to the preset's kind
    merged.update(given)
    k = kind(str(merged["kind"]))
    codec = codec_for(k, merged.get("codec"))
    crf = int(merged["crf"])
    if not 0 <= crf <= 63:
        raise ExportError(f"crf = {crf} is not allowed; use 0 to 51 (H.264/H.265) or 0 to 63 (VP9).")
    audio = str(merged.get("audio", "auto"))
    if audio not in AUDIO_CHOICES:
        raise ExportError(f"audio = {audio!r} is not allowed; use one of: {', '.join(AUDIO_CHOICES)}.")
    opacity = float(merged.get("opacity", 0.5))
    if not 0 < opacity <= 1:
        raise ExportError(f"opacity = {opacity} is not allowed; use a number in (0, 1].")
    aspect, size = str(merged.get("aspect", "9:16")), str(merged.get("size", "1080x1920"))
    out = Path(merged["out"]).expanduser() if merged.get("out") else None
    opts = ExportOptions(
        kind=k, codec=codec, objects=parse_objects(merged.get("objects")), out=out, crf=crf,
        speed=str(merged.get("speed", "medium")), background=str(merged["background"]),
        per_object=bool(merged.get("per_object", False)) and k.split_objects,
        finish=FinishOptions.build(settings.export, merged),
        device=str(merged.get("device", settings.processing.device)),
        audio=audio, opacity=opacity, aspect=aspect, size=size, smooth=float(merged.get("smooth", DEFAULT_SMOOTH)),
        preset=chosen, overwrite=bool(merged.get("overwrite", False)))
    if k.check is not None:
        k.check(opts)
    return opts


#: Bytes the atomic writer's temporary name adds to a report's (``.NAME.xxxxxxxx.tmp``), with room to spare.
_ATOMIC = 16
#: Bytes the longest name derived from an output adds to it: a per-object ``_obj255``, then ``.check.json``
#: written atomically.
_DERIVED = len("_obj255") + len(".check.json") + _ATOMIC
_FALLBACK_NAME_MAX = 255


def export_stem(video: Path) -> str:
    """What default export names of ``video`` start with: its stem, plus its extension (``clip_avi``, or
    ``clip_folder`` for a folder of frames) when another source beside it has the same stem.

    ``clip.mp4`` and ``clip.avi`` have workspaces of their own, so their exports must not meet under one
    name either: there ``--overwrite`` would replace one video's export with the other's.
    """
    video = Path(video)
    try:
        shared = any(p.stem == video.stem and p.name != video.name and not p.name.startswith(".")
                     for p in video.parent.iterdir())
    except OSError:
        shared = False
    if not shared:
        return video.stem
    return f"{video.stem}_{'folder' if video.is_dir() else video.suffix.lstrip('.').lower()}"


def output_paths(opts: ExportOptions, settings: Any, stem: str, objects: list[int]) -> list[Path]:
    """Final output paths: one, or one per object (``NAME_obj2.mkv``) for per-object mattes.

    Without ``out`` the export goes to the exports folder as ``<stem>_<kind>_<codec or preset><ext>``; a
    relative ``out`` is relative to the project.
    """
    ext = opts.codec.ext
    if opts.out is None:
        label = opts.preset or opts.codec.label or opts.codec.name
        folder = Path(settings.exports_dir)
        out = folder / fit_name(stem, f"_{opts.kind.name}_{label}{ext}", folder, reserve=_DERIVED)
    else:
        out = opts.out
    if not out.is_absolute():
        out = settings.project_dir / out
    if ext and out.suffix.lower() != ext:
        raise ExportError(f"--out {out} does not end in {ext}, which --codec {opts.codec.name} writes; "
                          f"rename it or pick another codec.")
    limit = name_max(out.parent)
    if len(out.name.encode()) > limit:
        raise ExportError(f"--out {out.name[:40]}... is {len(out.name.encode())} bytes long; this file system "
                          f"allows {limit}: give a shorter name.")
    if not opts.per_object:
        return [out]
    return [out.with_name(fit_name(out.stem, f"_obj{k}{out.suffix}", out.parent, reserve=len(".check.json") + _ATOMIC))
            for k in objects]


def name_max(folder: Path) -> int:
    """The longest file name (bytes) the file system of ``folder`` (or its nearest existing parent) allows."""
    folder = Path(folder)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        return int(os.pathconf(folder, "PC_NAME_MAX"))
    except (OSError, ValueError):
        return _FALLBACK_NAME_MAX


def fit_name(stem: str, tail: str, folder: Path, reserve: int = 0) -> str:
    """``stem + tail``, with ``stem`` cut (and tagged with a hash of the whole) until it fits ``folder``'s
    name-length limit with ``reserve`` bytes to spare (for names derived from it later)."""
    budget = name_max(folder) - reserve - len(tail.encode())
    if len(stem.encode()) <= budget:
        return stem + tail
    tag = "~" + hashlib.sha1(stem.encode()).hexdigest()[:8]
    keep = stem
    while keep and len((keep + tag).encode()) > budget:
        keep = keep[:-1]
    return keep + tag + tail


def temporary(path: Path) -> Path:
    """The hidden sibling an output is written to before its self-check passes."""
    return path.with_name(fit_name(f".{path.stem}", f".partial{path.suffix}", path.parent))


def report_path(path: Path) -> Path:
    """The self-check report beside an output (``<name>.check.json``), short enough to be written atomically."""
    return path.with_name(fit_name(path.name, ".check.json", path.parent, reserve=_ATOMIC))
