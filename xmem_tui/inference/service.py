"""Engine service: engines built from the settings, kept warm between jobs, and whole propagation runs.

Everything that turns :class:`~xmem_tui.config.Settings` into a ready engine lives here, so the
foreground CLI, the worker and the dashboard build engines the same way; what each engine needs comes
from its :class:`~xmem_tui.inference.registry.EngineSpec`. The worker keeps one :class:`EngineCache`
for its lifetime: loading XMem (62 M parameters) and moving it to the GPU takes seconds, while
resetting its memory between jobs is free.

torch is imported inside the engines' build functions only, so importing this module is cheap.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable, Iterator
from typing import TYPE_CHECKING, Any

from xmem_tui.inference.registry import AUTO, EngineSpec, passed_over, resolve_engine

if TYPE_CHECKING:
    from xmem_tui.config import Settings
    from xmem_tui.inference.engine import Engine
    from xmem_tui.inference.propagation import Cancel, FrameResult
    from xmem_tui.inference.request import PropagationRequest
    from xmem_tui.workspace import Workspace

log = logging.getLogger(__name__)


def choose_engine(settings: Settings, name: str | None = None) -> EngineSpec:
    """:func:`~xmem_tui.inference.registry.resolve_engine`, logging when "auto" settles for a fallback."""
    spec = resolve_engine(settings, name)
    if (name or settings.processing.engine) == AUTO and spec.weight_free:
        files = passed_over(settings, spec)
        if files:
            log.info("no %s in %s: using the %s engine (`xmem-tui models download` fetches %s)",
                     " or ".join(files), settings.models_dir, spec.label, ", ".join(files))
    return spec


def video_engine(ws: Workspace, requested: str | None = None) -> str | None:
    """The engine name a propagation of ``ws``'s video asks for: the run's own (``--engine``), else the
    one chosen for the video (dashboard, stored in its workspace); None means ``processing.engine``.

    Raises:
        ConfigError: the video's stored choice is no registered engine (a plugin that is gone).
    """
    from xmem_tui.errors import ConfigError
    from xmem_tui.inference.registry import engine_choices

    if requested:
        return requested
    chosen = ws.engine
    if chosen is not None and chosen not in engine_choices():
        raise ConfigError(f"{ws.video_path.name}: the engine chosen for it, {chosen!r}, is not known; choose "
                          f"another in the dashboard's video view, or use --engine ({', '.join(engine_choices())}).")
    return chosen


def video_engine_label(settings: Settings, ws: Workspace) -> str:
    """What every UI calls the engine the video's next propagation runs ("Cutie", "XMem" ...); an engine
    whose checkpoint is missing is still named (the run says what to download)."""
    return resolve_engine(settings, video_engine(ws), check=False).label


def build_engine(settings: Settings, name: str | None = None) -> Engine:
    """A new engine for ``name`` (an engine name or "auto"; default ``processing.engine``)."""
    spec = choose_engine(settings, name)
    return spec.build(settings, spec.device(settings))


class EngineCache:
    """Keeps built engines warm between jobs (the worker's model cache).

    An engine is reused while what shapes it is unchanged: the device, its checkpoint files (size and
    modification time) and the settings its spec names (``settings_key``);
    :func:`xmem_tui.inference.propagation.propagate` resets its memory at the start of every run.
    One engine is kept per engine name. Thread-safe.
    """

    def __init__(self) -> None:
        self._engines: dict[str, tuple[Hashable, Engine]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(settings: Settings, spec: EngineSpec, device: Any) -> Hashable:
        files = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in spec.checkpoint_paths(settings))
        return str(device), files, spec.settings_key(settings)

    def get(self, settings: Settings, name: str | None = None) -> Engine:
        """The cached engine for these settings, building it (and dropping a stale one) if needed."""
        spec = choose_engine(settings, name)
        device = spec.device(settings)
        key = self._key(settings, spec, device)
        with self._lock:
            cached = self._engines.get(spec.name)
            if cached is not None and cached[0] == key:
                log.debug("reusing warm %s engine", spec.label)
                return cached[1]
            engine = spec.build(settings, device)
            self._engines[spec.name] = (key, engine)
            return engine

    def clear(self) -> None:
        """Drop every engine and give cached accelerator memory back."""
        with self._lock:
            self._engines.clear()
        from xmem_tui.inference.gpu import free_caches

        free_caches("cuda")

    def __len__(self) -> int:
        return len(self._engines)


def run_propagation(ws: Workspace, settings: Settings, request: PropagationRequest, *, cancel: Cancel = None,
                    run_id: str | None = None, cache: EngineCache | None = None,
                    on_retry: Callable[[str], None] | None = None) -> Iterator[FrameResult]:
    """A whole propagation as the CLI and the worker run it.

    The engine is the request's, else the video's choice, else ``processing.engine`` (:func:`video_engine`).
    Logs the pre-flight memory estimate, takes the engine from ``cache`` (or builds one), and runs
    :func:`~xmem_tui.inference.propagation.propagate`. When ``run_id`` names a run that already wrote
    frames (a crashed job re-queued by the worker), it resumes after the run's last written frame. On
    out-of-memory it retries once with a smaller memory budget, resuming the same way (see
    :func:`~xmem_tui.inference.estimate.run_with_oom_retry`); ``on_retry`` gets the message.
    """
    from xmem_tui.inference.estimate import preflight, run_with_oom_retry
    from xmem_tui.inference.propagation import propagate, resume_point

    spec = choose_engine(settings, video_engine(ws, request.engine))
    run_id = run_id or ws.begin_run(request.start, request.backward)
    device = spec.device(settings)

    def attempt(current: Settings, number: int) -> Iterator[FrameResult]:
        engine = cache.get(current, spec.name) if cache is not None else spec.build(current, device)
        permanent = len(ws.user_frames()) if request.keyframe_memory else 1
        preflight(current, ws.shape, max(1, len(ws.objects)), engine=spec.name, device=device,
                  amp=current.processing.amp, permanent_frames=permanent)
        resume = resume_point(ws, run_id, request.start, request.backward)
        if resume != request.start:
            log.info("run %s already reached frame %d: resuming after it (attempt %d)", run_id, resume, number + 1)
        yield from propagate(ws, engine, request, cancel=cancel, run_id=run_id, resume_from=resume, device=device)

    yield from run_with_oom_retry(attempt, settings, engine=spec.name, device=device, on_retry=on_retry)
