"""Propagation engines by name: what each needs, where it runs, how it is built and how much memory it takes.

Every engine is one :class:`EngineSpec`. The built-in ones are the modules of
:mod:`xmem_tui.inference.engines` (each defines ``SPEC``); others register with :func:`register_engine`.
The CLI's ``--engine`` choices, the validation of ``processing.engine``, the dashboard's engine label,
the worker's engine cache and the pre-flight memory estimate all read this registry, so a new engine is
one new module and nothing else names it.

``"auto"`` is not an engine: it means the first engine in listing order that takes part in the automatic
choice (``auto``) and whose checkpoint files are all in the models folder. The weight-free engine needs
none, so it is always the last resort.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from xmem_tui.errors import CheckpointError, ConfigError
from xmem_tui.plugins import Registry

if TYPE_CHECKING:
    from xmem_tui.config import Settings
    from xmem_tui.inference.engine import Engine

AUTO = "auto"


class MemoryModel(Protocol):
    """Expected peak memory of a run, by part, in bytes (see :mod:`xmem_tui.inference.estimate`).

    Args:
        settings: the project settings (an engine's own section gives its memory budget).
        shape: processing (height, width).
        num_objects: objects tracked (at least 1).
        half: activations and memory are half precision (CUDA autocast).
        permanent_frames: user-annotated frames kept in permanent memory for the run.
    """

    def __call__(self, settings: Settings, shape: tuple[int, int], num_objects: int, *, half: bool,
                 permanent_frames: int) -> dict[str, int]: ...


def no_settings(settings: Settings) -> Hashable:
    """For engines that no setting shapes once built (their cache key is the device alone)."""
    return ()


def cannot_shrink(settings: Settings) -> Settings | None:
    """For engines without a memory budget to lower (the out-of-memory retry does not apply)."""
    return None


@dataclass(frozen=True)
class EngineSpec:
    """One propagation engine.

    Attributes:
        name: the value of ``--engine`` and ``processing.engine``.
        label: what every UI calls it ("XMem", "weight-free (optical flow)").
        build: ``build(settings, device) -> Engine``, a fresh engine on ``device``; imports torch and the
            network inside, never at module import.
        estimate: its :class:`MemoryModel`.
        checkpoints: names of the checkpoint files it needs in the models folder (see
            :mod:`xmem_tui.model.registry`); none for a weight-free engine.
        weight_free: the classical fallback; UIs label it so.
        accelerated: runs on ``processing.device`` (CUDA/MPS when there); False runs on the CPU always.
        auto: takes part in the choice ``engine = "auto"`` (when its checkpoints exist).
        order: place in listings and in the automatic choice (lower first).
        settings_key: the settings a built engine depends on beyond the device and precision (the worker
            rebuilds a cached engine when they change), e.g. XMem's memory section.
        shrink: ``shrink(settings)`` -> the settings with its memory budget about halved, or None when it
            cannot shrink further: the out-of-memory retry runs once with them.
        memory_keys: the dotted config keys of its memory budget (besides ``processing.size``), named by
            the out-of-memory message and the pre-flight warning.
        help: one line for ``--help`` and the config file comment.
    """

    name: str
    label: str
    build: Callable[[Settings, Any], Engine]
    estimate: MemoryModel
    checkpoints: tuple[str, ...] = ()
    weight_free: bool = False
    accelerated: bool = True
    auto: bool = True
    order: int = 100
    settings_key: Callable[[Settings], Hashable] = no_settings
    shrink: Callable[[Settings], Settings | None] = cannot_shrink
    memory_keys: tuple[str, ...] = ()
    help: str = ""

    def checkpoint_paths(self, settings: Settings) -> tuple[Path, ...]:
        return tuple(settings.models_dir / name for name in self.checkpoints)

    def missing(self, settings: Settings) -> tuple[Path, ...]:
        """Checkpoint files it needs that are not in the models folder."""
        return tuple(path for path in self.checkpoint_paths(settings) if not path.is_file())

    def device(self, settings: Settings) -> Any:
        """Where it would run: ``processing.device`` resolved (imports torch) or "cpu"."""
        if not self.accelerated:
            return "cpu"
        from xmem_tui.inference.gpu import select_device

        return select_device(settings)


ENGINES: Registry[EngineSpec] = Registry("engine", "xmem_tui.inference.engines")


def register_engine(spec: EngineSpec, *, replace: bool = False) -> EngineSpec:
    """Make ``spec`` available everywhere engines are listed or chosen."""
    return ENGINES.register(spec, replace=replace)


def unregister_engine(name: str) -> None:
    ENGINES.unregister(name)


def engine_choices() -> tuple[str, ...]:
    """``"auto"`` and every engine name, in listing order (CLI choices, config validation)."""
    return (AUTO, *ENGINES.names())


def engine_spec(name: str) -> EngineSpec:
    """The engine called ``name`` (not "auto").

    Raises:
        ConfigError: no such engine, listing the choices.
    """
    spec = ENGINES.get(name)
    if spec is None:
        raise ConfigError(f"engine {name!r} is not known; use one of: {', '.join(engine_choices())}.")
    return spec


def resolve_engine(settings: Settings, name: str | None = None, *, check: bool = True) -> EngineSpec:
    """The engine ``name`` (default ``processing.engine``) means here; "auto" picks as the module says.

    Args:
        check: refuse an engine whose checkpoints are missing; without it the answer is what a run
            would try (the dashboard's label).

    Raises:
        ConfigError: unknown name. CheckpointError: a checkpoint of the chosen engine is missing.
    """
    name = name or settings.processing.engine
    if name == AUTO:
        for spec in ENGINES:
            if spec.auto and not spec.missing(settings):
                return spec
        raise ConfigError("no engine can run with engine = \"auto\": every automatic engine lacks a checkpoint; "
                          "run `xmem-tui models download`.")
    spec = engine_spec(name)
    missing = spec.missing(settings) if check else ()
    if missing:
        fallback = " or ".join(s.name for s in ENGINES if s.weight_free)
        instead = f", or use --engine {fallback} (weight-free)" if fallback else ""
        raise CheckpointError(f"{missing[0]} is missing: run `xmem-tui models download` to fetch "
                              f"{missing[0].name}{instead}.")
    return spec


def passed_over(settings: Settings, chosen: EngineSpec) -> list[str]:
    """Checkpoint files whose absence made "auto" settle for ``chosen`` (for the log line)."""
    files: list[str] = []
    for spec in ENGINES:
        if spec is chosen:
            break
        if spec.auto:
            files += [path.name for path in spec.missing(settings) if path.name not in files]
    return files
