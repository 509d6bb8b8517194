"""Typed, frozen settings read from ``config.toml``, environment and command-line overrides.

One :class:`Settings` object is built once per process (``load_settings``) and passed down; nothing
mutates it. Every field carries its documentation and its allowed values in the dataclass metadata, so
validation errors can name the file, the key, the bad value and what is allowed, and ``config.toml``
can be generated with comments (:func:`default_config_toml`). Adding a key is adding one field with
:func:`_opt` to its section; nothing else lists the keys.

Where the allowed values are the names in a registry (``processing.engine``, ``export.kind``), the
field's ``choices`` is a function that reads the registry when a value is checked, so an engine or an
export kind registered later (a plugin, a test) is accepted without this module knowing it.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

from xmem_tui.errors import ConfigError

CONFIG_NAME = "config.toml"
CONFIG_ENV = "XMEM_TUI_CONFIG"


Choices = tuple[Any, ...] | Callable[[], tuple[Any, ...]]


def _opt(default: Any, doc: str, *, choices: Choices | None = None, lo: float | None = None,
         hi: float | None = None, extra: tuple[Any, ...] = ()) -> Any:
    """A dataclass field with documentation and constraints (``extra``: values allowed outside lo..hi).

    ``doc`` may name ``{choices}``, filled in with the allowed values when the config file is written.
    """
    return field(default=default, metadata={"doc": doc, "choices": choices, "lo": lo, "hi": hi, "extra": extra})


def _choices(meta: Mapping[str, Any]) -> tuple[Any, ...]:
    choices = meta.get("choices") or ()
    return tuple(choices()) if callable(choices) else tuple(choices)


def _engines() -> tuple[str, ...]:
    from xmem_tui.inference.registry import engine_choices

    return engine_choices()


def _export_kinds() -> tuple[str, ...]:
    from xmem_tui.export.registry import kind_names

    return kind_names()


@dataclass(frozen=True)
class PathSettings:
    """Where the project keeps its inputs and state; relative paths are resolved against the project."""

    source_dir: str = _opt("source", "Folder of source videos and image folders.")
    workspace_dir: str = _opt("workspace", "Per-video masks and state live in workspace/<video file name>/.")
    models_dir: str = _opt("models", "Checkpoints XMem.pth, cutie-base-mega.pth, s2m.pth, fbrs.pth (xmem-tui "
                                     "models download).")
    jobs_dir: str = _opt("jobs", "The job queue: queued/, running/, done/, failed/, cancelled/.")
    exports_dir: str = _opt("exports", "Default folder for exported files.")


@dataclass(frozen=True)
class ProcessingSettings:
    """How frames are fed to the networks."""

    size: int = _opt(480, "Shorter side of frames given to the networks, in pixels; -1 keeps the original.",
                     lo=64, hi=4320, extra=(-1,))
    device: str = _opt("auto", "Compute device: auto, cpu, cuda, cuda:N or mps.")
    amp: bool = _opt(True, "Half-precision autocast on CUDA (ignored on CPU).")
    max_objects: int = _opt(9, "Maximum number of objects per video (keys 1-9 select them).", lo=1, hi=9)
    engine: str = _opt("auto", "Propagation engine: {choices}; auto takes the first whose checkpoints are in "
                               "the models folder (XMem if its weights exist, else Cutie, else the weight-free "
                               "flow). A video can have its own (the dashboard's g key); --engine overrides both.",
                       choices=_engines)
    threads: int = _opt(0, "CPU threads for torch; 0 lets torch decide.", lo=0, hi=512)
    backend: str = _opt("auto", "What runs XMem's convolutions on the CPU: auto (nnpack where it works), "
                        "nnpack (Winograd, fastest) or torch (oneDNN, the official arithmetic).",
                        choices=("auto", "nnpack", "torch"))


@dataclass(frozen=True)
class XMemSettings:
    """XMem memory settings; the defaults are those of the official interactive demo."""

    top_k: int = _opt(30, "Memory elements each query pixel reads from (top-k softmax).", lo=1, hi=1000)
    mem_every: int = _opt(10, "Every this many frames a propagated frame becomes a memory frame.", lo=1, hi=1000)
    deep_update_every: int = _opt(-1, "Deep hidden-state update period; -1 = on every memory frame.",
                                  lo=1, hi=1000, extra=(-1,))
    enable_long_term: bool = _opt(True, "Consolidate old working memory into long-term prototypes.")
    enable_long_term_count_usage: bool = _opt(True, "Count long-term usage so rarely used prototypes are pruned.")
    max_mid_term_frames: int = _opt(10, "Working memory frames that trigger a consolidation.", lo=2, hi=1000)
    min_mid_term_frames: int = _opt(5, "Working memory frames kept after a consolidation.", lo=1, hi=999)
    max_long_term_elements: int = _opt(10000, "Cap on long-term memory elements.", lo=1, hi=10_000_000)
    num_prototypes: int = _opt(128, "Prototypes made by one consolidation.", lo=1, hi=100_000)

    def core_config(self) -> dict[str, Any]:
        """The mapping ``InferenceCore`` takes, with the official key names."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class CutieSettings:
    """Cutie memory settings: the official eval config (``cutie/config/eval_config.yaml``) with long-term
    memory on and a memory frame every 5 frames. ``long_term_*`` are the official ``long_term.*`` keys."""

    top_k: int = _opt(30, "Memory elements each query pixel reads from (top-k softmax).", lo=1, hi=1000)
    mem_every: int = _opt(5, "Every this many frames a propagated frame becomes a memory frame.", lo=1, hi=1000)
    stagger_updates: int = _opt(5, "Frames after each memory frame on which the sensory memory is updated.",
                                lo=1, hi=1000)
    max_mem_frames: int = _opt(5, "Working memory frames kept without long-term memory (a FIFO; the first "
                                  "memory frame is always kept).", lo=2, hi=1000)
    use_long_term: bool = _opt(True, "Consolidate old working memory into long-term prototypes (bounded memory "
                                     "on long videos).")
    long_term_count_usage: bool = _opt(True, "Count long-term usage so rarely used prototypes are pruned.")
    long_term_max_mem_frames: int = _opt(10, "Working memory frames that trigger a consolidation.", lo=2, hi=1000)
    long_term_min_mem_frames: int = _opt(5, "Working memory frames kept after a consolidation.", lo=1, hi=999)
    long_term_num_prototypes: int = _opt(128, "Prototypes made by one consolidation.", lo=1, hi=100_000)
    long_term_max_num_tokens: int = _opt(10000, "Cap on long-term memory elements.", lo=2, hi=10_000_000)
    long_term_buffer_tokens: int = _opt(2000, "Long-term elements freed by one pruning below the cap.",
                                        lo=0, hi=10_000_000)

    def core_config(self) -> dict[str, Any]:
        """The mapping ``CutieCore`` takes: official top-level keys and a nested ``long_term`` mapping."""
        prefix = "long_term_"
        values = dataclasses.asdict(self)
        config: dict[str, Any] = {k: v for k, v in values.items() if not k.startswith(prefix)}
        config["long_term"] = {k.removeprefix(prefix): v for k, v in values.items() if k.startswith(prefix)}
        return config


@dataclass(frozen=True)
class ExportSettings:
    """Defaults for export jobs; each export can override them."""

    kind: str = _opt("greenscreen", "Default export kind: {choices}.", choices=_export_kinds)
    background: str = _opt("#00FF00", "Green-screen colour as #RRGGBB.")
    crf: int = _opt(18, "H.264/H.265 constant rate factor (lower = better quality).", lo=0, hi=51)
    upscale: str = _opt("bilinear", "Mask upscaling to source size: bilinear or guided (edge-aware).",
                        choices=("bilinear", "guided"))
    median: int = _opt(0, "Median filter kernel on the matte in pixels (0 = off, odd values).", lo=0, hi=31)
    feather: float = _opt(0.0, "Feather (Gaussian sigma) of the matte edge in pixels.", lo=0.0, hi=100.0)
    choke: int = _opt(0, "Shrink (>0) or grow (<0) the matte by this many pixels.", lo=-100, hi=100)
    temporal: int = _opt(0, "Temporal smoothing over +-k frames to reduce edge chatter (0 = off).", lo=0, hi=10)
    despill: bool = _opt(True, "Suppress green spill on green-screen exports.")


@dataclass(frozen=True)
class AnnotateSettings:
    """The OpenCV annotation window."""

    max_width: int = _opt(1600, "Largest displayed image width; larger frames are scaled down.", lo=160, hi=16384)
    max_height: int = _opt(900, "Largest displayed image height.", lo=120, hi=16384)
    min_width: int = _opt(800, "Smaller frames are scaled up until they reach min_width or min_height, and the "
                               "window is at least this wide (room for the status bar).", lo=0, hi=16384)
    min_height: int = _opt(600, "See min_width.", lo=0, hi=16384)
    brush_radius: int = _opt(8, "Initial brush radius in image pixels.", lo=1, hi=500)


@dataclass(frozen=True)
class TuiSettings:
    """The terminal dashboard."""

    graphics: str = _opt("auto", "How the preview draws frames: auto (guessed from the terminal), kitty (graphics "
                                 "protocol), sixel, truecolor (24-bit half blocks) or 256 (dithered palette; "
                                 "the guess under tmux).",
                         choices=("auto", "kitty", "sixel", "truecolor", "256"))


@dataclass(frozen=True)
class Settings:
    """Everything configurable, plus where it came from."""

    #: Folder that holds config.toml; relative paths start here.
    project_dir: Path = field(default_factory=Path.cwd)
    #: The config.toml that was read, if any.
    config_file: Path | None = None
    paths: PathSettings = field(default_factory=PathSettings)
    processing: ProcessingSettings = field(default_factory=ProcessingSettings)
    xmem: XMemSettings = field(default_factory=XMemSettings)
    cutie: CutieSettings = field(default_factory=CutieSettings)
    export: ExportSettings = field(default_factory=ExportSettings)
    annotate: AnnotateSettings = field(default_factory=AnnotateSettings)
    tui: TuiSettings = field(default_factory=TuiSettings)

    def value(self, key: str) -> Any:
        """The value of a dotted key (``"xmem.top_k"``), as messages that name keys show it."""
        section, _, name = key.partition(".")
        return getattr(getattr(self, section), name)

    def resolve(self, relative: str) -> Path:
        """Resolve a configured path against the project folder."""
        path = Path(relative).expanduser()
        return path if path.is_absolute() else (self.project_dir / path).resolve()

    @property
    def source_dir(self) -> Path:
        return self.resolve(self.paths.source_dir)

    @property
    def workspace_dir(self) -> Path:
        return self.resolve(self.paths.workspace_dir)

    @property
    def models_dir(self) -> Path:
        return self.resolve(self.paths.models_dir)

    @property
    def jobs_dir(self) -> Path:
        return self.resolve(self.paths.jobs_dir)

    @property
    def exports_dir(self) -> Path:
        return self.resolve(self.paths.exports_dir)


SECTIONS: dict[str, type] = {
    "paths": PathSettings,
    "processing": ProcessingSettings,
    "xmem": XMemSettings,
    "cutie": CutieSettings,
    "export": ExportSettings,
    "annotate": AnnotateSettings,
    "tui": TuiSettings,
}


def find_config(start: Path | None = None) -> Path | None:
    """The config file to use: $XMEM_TUI_CONFIG, else ``config.toml`` in ``start`` (default: cwd)."""
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env)
    candidate = (start or Path.cwd()) / CONFIG_NAME
    return candidate if candidate.is_file() else None


def load_settings(config: Path | None = None, overrides: Mapping[str, Any] | None = None,
                  project_dir: Path | None = None) -> Settings:
    """Build the settings from a TOML file (optional) and ``{"section.key": value}`` overrides.

    Raises:
        ConfigError: naming the file, key, value and what is allowed.
    """
    data: dict[str, Any] = {}
    origin = "defaults"
    if config is not None:
        config = Path(config).expanduser().resolve()
        origin = str(config)
        if not config.is_file():
            raise ConfigError(f"{config}: config file not found (create one with `xmem-tui init`).")
        try:
            data = tomllib.loads(config.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{config}: not valid TOML ({exc}); fix the syntax or delete the file.") from exc
    for dotted, value in (overrides or {}).items():
        section, _, key = dotted.partition(".")
        data.setdefault(section, {})[key] = value
    unknown = sorted(set(data) - set(SECTIONS))
    if unknown:
        raise ConfigError(f"{origin}: unknown section [{unknown[0]}]; allowed sections: {', '.join(SECTIONS)}.")
    built = {name: _build_section(origin, name, cls, data.get(name, {})) for name, cls in SECTIONS.items()}
    root = project_dir or (config.parent if config is not None else Path.cwd())
    return Settings(project_dir=Path(root).resolve(), config_file=config, **built)


def _build_section(origin: str, name: str, cls: type, raw: Any) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"{origin}: [{name}] must be a table of keys, got {raw!r}.")
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise ConfigError(f"{origin}: unknown key {name}.{unknown[0]}; allowed keys in [{name}]: "
                          f"{', '.join(fields)}.")
    values = {key: _check_value(origin, f"{name}.{key}", hints[key], fields[key].metadata, value)
              for key, value in raw.items()}
    instance = cls(**values)
    _check_section(origin, name, instance)
    return instance


def _smaller(origin: str, section: str, small: str, large: str, instance: Any, margin: int = 0,
             why: str = "") -> None:
    """ConfigError unless ``section.small`` (+ ``margin``) is smaller than ``section.large``."""
    low, high = getattr(instance, small), getattr(instance, large)
    if low + margin >= high:
        raise ConfigError(f"{origin}: {section}.{small} ({low}){why} must be smaller than {section}.{large} "
                          f"({high}).")


def _check_section(origin: str, name: str, instance: Any) -> None:
    """Checks between keys of one section (each key alone is checked by its field's constraints)."""
    if isinstance(instance, XMemSettings):
        _smaller(origin, name, "min_mid_term_frames", "max_mid_term_frames", instance)
    elif isinstance(instance, CutieSettings):
        _smaller(origin, name, "long_term_min_mem_frames", "long_term_max_mem_frames", instance)
        _smaller(origin, name, "long_term_buffer_tokens", "long_term_max_num_tokens", instance,
                 instance.long_term_num_prototypes,
                 f" plus cutie.long_term_num_prototypes ({instance.long_term_num_prototypes})")


def _check_value(origin: str, key: str, kind: Any, meta: Mapping[str, Any], value: Any) -> Any:
    where = f"{origin}: {key} = {value!r}"
    if kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where} is not allowed; use true or false.")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} is not allowed; use a whole number{_range(meta)}.")
    elif kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where} is not allowed; use a number{_range(meta)}.")
        value = float(value)
    elif kind is str and not isinstance(value, str):
        raise ConfigError(f"{where} is not allowed; use a quoted string.")
    choices = _choices(meta)
    if choices and value not in choices:
        raise ConfigError(f"{where} is not allowed; use one of: {', '.join(map(str, choices))}.")
    if kind in (int, float) and value not in meta.get("extra", ()):
        lo, hi = meta.get("lo"), meta.get("hi")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise ConfigError(f"{where} is out of range; allowed{_range(meta)}.")
    _check_special(where, key, value)
    return value


def _check_special(where: str, key: str, value: Any) -> None:
    if key == "processing.device":
        ok = value in ("auto", "cpu", "cuda", "mps") or (
            value.startswith("cuda:") and value[5:].isdigit())
        if not ok:
            raise ConfigError(f"{where} is not allowed; use auto, cpu, cuda, cuda:N or mps.")
    elif key == "export.background":
        text = value.lstrip("#")
        if len(text) != 6 or any(c not in "0123456789abcdefABCDEF" for c in text):
            raise ConfigError(f"{where} is not allowed; use a colour like \"#00FF00\".")
    elif key == "export.median" and value and value % 2 == 0:
        raise ConfigError(f"{where} is not allowed; the median kernel must be odd (or 0 for off).")


def _range(meta: Mapping[str, Any]) -> str:
    lo, hi, extra = meta.get("lo"), meta.get("hi"), meta.get("extra", ())
    if lo is None and hi is None:
        return ""
    text = f" from {lo} to {hi}"
    return text + (f" (or {', '.join(map(str, extra))})" if extra else "")


def default_config_toml() -> str:
    """A complete, commented config.toml with every default, for ``xmem-tui init`` and the demo."""
    lines = ["# xmem-tui project settings. Every key is optional; these are the defaults.", ""]
    for name, cls in SECTIONS.items():
        lines.append(f"[{name}]")
        instance = cls()
        for f in dataclasses.fields(cls):
            doc = str(f.metadata["doc"])
            if "{choices}" in doc:
                doc = doc.replace("{choices}", ", ".join(map(str, _choices(f.metadata))))
            lines.append(f"# {doc}")
            lines.append(f"{f.name} = {_toml_value(getattr(instance, f.name))}")
        lines.append("")
    return "\n".join(lines)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)
