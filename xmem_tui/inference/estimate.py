"""Pre-flight memory estimate of a propagation, and the out-of-memory retry strategy.

A propagation that dies of CUDA out-of-memory after 15 minutes wastes the user's time; one that says
beforehand "this needs ~9 GiB, 6 GiB are free" lets them lower the settings first. Each engine's
:class:`~xmem_tui.inference.registry.EngineSpec` carries its memory model (parts by name, in bytes); this
module adds allocator slack (a flat 25%), compares with the device's free memory and logs the result.
The estimate is a guide, never a gate.

When the device still runs out, :func:`run_with_oom_retry` frees caches and retries once with about half
the engine's memory budget (its spec's ``shrink``: for XMem ``xmem.max_long_term_elements`` and
``xmem.max_mid_term_frames``, for Cutie its long-term cap and working memory frames). The processing size
is not lowered automatically: workspace masks are stored at processing resolution, so changing it
mid-video would make the masks of one video disagree in size. If the retry fails too, :class:`OutOfMemory`
names the keys to lower (``processing.size`` and the spec's ``memory_keys``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from xmem_tui.errors import UserError
from xmem_tui.inference.gpu import device_memory, format_bytes, free_caches

if TYPE_CHECKING:
    from xmem_tui.config import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Allocator slack on top of the sum.
SLACK = 1.25


def memory_keys(engine: str) -> tuple[str, ...]:
    """The settings a user can lower to fit ``engine`` in memory, named by the messages."""
    from xmem_tui.inference.registry import engine_spec

    return ("processing.size", *engine_spec(engine).memory_keys)


class OutOfMemory(UserError):
    """The device ran out of memory even after the reduced-budget retry."""


@dataclass(frozen=True)
class MemoryEstimate:
    """Expected peak memory of one propagation, by part, on the device it runs on (bytes)."""

    device: str
    parts: dict[str, int]
    free: int | None = None

    @property
    def total(self) -> int:
        return int(sum(self.parts.values()) * SLACK)

    @property
    def fits(self) -> bool | None:
        """False when the estimate exceeds the free memory; None when the free memory is unknown."""
        return None if self.free is None else self.total <= self.free

    def describe(self) -> str:
        parts = ", ".join(f"{k} {format_bytes(v)}" for k, v in self.parts.items() if v)
        free = f"; {format_bytes(self.free)} free" if self.free is not None else ""
        return f"estimated peak memory on {self.device}: {format_bytes(self.total)} ({parts}){free}"


def feature_positions(shape: tuple[int, int]) -> int:
    """Stride-16 positions of a frame padded to a multiple of 16 (one memory element each)."""
    h, w = shape
    return math.ceil(h / 16) * math.ceil(w / 16)


def estimate_memory(settings: Settings, shape: tuple[int, int], num_objects: int, *, engine: str = "xmem",
                    device: Any = "cpu", amp: bool = False, free: int | None = None,
                    permanent_frames: int = 0) -> MemoryEstimate:
    """Estimate the peak memory of propagating ``num_objects`` objects at processing ``shape``.

    Args:
        settings: the engine's settings section gives its memory budget.
        shape: processing (height, width).
        num_objects: objects tracked (K).
        engine: a registered engine name.
        device: where the engine runs; its free memory is looked up unless ``free`` is given.
        amp: half-precision activations and memory (CUDA autocast).
        free: bytes free, overriding the lookup (tests).
        permanent_frames: user-annotated frames kept in the engine's permanent memory for the run.
    """
    from xmem_tui.inference.registry import engine_spec

    mem = device_memory(device)
    free = mem.free if free is None else free
    half = amp and str(device).startswith("cuda")
    parts = engine_spec(engine).estimate(settings, shape, max(1, num_objects), half=half,
                                         permanent_frames=permanent_frames)
    return MemoryEstimate(device=mem.device, parts=parts, free=free)


def preflight(settings: Settings, shape: tuple[int, int], num_objects: int, *, engine: str, device: Any,
              amp: bool = False, logger: logging.Logger | None = None, permanent_frames: int = 0) -> MemoryEstimate:
    """Log the estimate before a run; log a warning naming the keys to lower when it exceeds free memory."""
    logger = logger or log
    est = estimate_memory(settings, shape, num_objects, engine=engine, device=device, amp=amp,
                          permanent_frames=permanent_frames)
    logger.info("%s", est.describe())
    if est.fits is False:
        logger.warning("the estimate (%s) exceeds the free memory on %s (%s); if the run fails, lower %s",
                       format_bytes(est.total), est.device, format_bytes(est.free), ", ".join(memory_keys(engine)))
    return est


def is_oom(exc: BaseException) -> bool:
    """True for CUDA/MPS out-of-memory errors (torch raises either a dedicated type or a RuntimeError)."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        torch = None
    if torch is not None and isinstance(exc, torch.cuda.OutOfMemoryError):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def reduced_settings(settings: Settings, engine: str) -> Settings | None:
    """About half ``engine``'s memory budget (its spec's ``shrink``), or None when it cannot shrink further."""
    from xmem_tui.inference.registry import engine_spec

    return engine_spec(engine).shrink(settings)


def oom_message(settings: Settings, device: Any, engine: str) -> str:
    keys = [f"{key} (now {settings.value(key)})" for key in memory_keys(engine)]
    listed = keys[0] if len(keys) == 1 else f"{', '.join(keys[:-1])} or {keys[-1]}"
    return f"out of memory on {device} even with a reduced memory budget: lower {listed} in config.toml"


def retry_message(before: Settings, after: Settings, device: Any, engine: str) -> str:
    """What the retry changed: ``key old -> new`` for each memory key the engine's ``shrink`` lowered."""
    changes = [f"{key} {before.value(key)} -> {after.value(key)}" for key in memory_keys(engine)
               if before.value(key) != after.value(key)]
    return f"out of memory on {device}; retrying with {' and '.join(changes) or 'a smaller memory budget'}"


def run_with_oom_retry(run: Callable[[Settings, int], Iterator[T]], settings: Settings, *, engine: str,
                       device: Any = "cpu", on_retry: Callable[[str], None] | None = None) -> Iterator[T]:
    """Run ``run(settings, attempt)``; on out-of-memory, free caches and retry once with a smaller budget
    for ``engine`` (a registered engine name).

    ``run`` is called again with ``attempt=1`` and the reduced settings; it must resume where the first
    attempt stopped (a propagation resumes after its last written frame, see
    :func:`xmem_tui.inference.propagation.resume_point`). ``on_retry`` receives the message describing the
    change (the worker writes it to the job log).

    Raises:
        OutOfMemory: the retry ran out of memory too, or the budget cannot shrink; the message names the keys.
    """
    try:
        yield from run(settings, 0)
        return
    except Exception as exc:
        if not is_oom(exc):
            raise
        free_caches(device)
        smaller = reduced_settings(settings, engine)
        if smaller is None:
            raise OutOfMemory(oom_message(settings, device, engine)) from exc
        message = retry_message(settings, smaller, device, engine)
        log.warning("%s", message)
        if on_retry is not None:
            on_retry(message)
    try:
        yield from run(smaller, 1)
    except Exception as exc:
        if not is_oom(exc):
            raise
        free_caches(device)
        raise OutOfMemory(oom_message(smaller, device, engine)) from exc
