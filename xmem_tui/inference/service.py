"""Engine service: device choice, threads, autocast, the GPU lock, engine construction and a warm cache.

Everything that turns :class:`~xmem_tui.config.Settings` into a ready engine lives here, so the
foreground CLI, the worker and the dashboard build engines the same way. The worker keeps one
:class:`EngineCache` for its lifetime: loading XMem (62 M parameters) and moving it to the GPU takes
seconds, while resetting its memory between jobs is free.

torch is imported inside the functions that need it, so importing this module (for the lock) is cheap.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xmem_tui.errors import CheckpointError, ConfigError

if TYPE_CHECKING:
    import torch

    from xmem_tui.config import Settings
    from xmem_tui.inference.engine import Engine
    from xmem_tui.inference.propagation import Cancel, FrameResult
    from xmem_tui.workspace import Workspace

log = logging.getLogger(__name__)

KINDS = ("auto", "xmem", "flow")
XMEM_FILE = "XMem.pth"

#: One lock per process around every use of the accelerator: the worker's propagation and an interactive
#: model in the same process (the dashboard's click segmenter) must not interleave kernels and allocations.
_GPU_LOCK = threading.RLock()


def gpu_lock() -> threading.RLock:
    """The process-wide accelerator lock (re-entrant; use as ``with gpu_lock(): ...``)."""
    return _GPU_LOCK


def select_device(settings: Settings) -> torch.device:
    """``processing.device`` as a torch.device; "auto" picks CUDA, then MPS, then the CPU.

    Raises:
        ConfigError: a CUDA/MPS device was asked for but is not available.
    """
    import torch

    wanted = settings.processing.device
    if wanted == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(wanted)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"processing.device = {wanted!r} but CUDA is not available here; "
                          "set processing.device = \"auto\" or \"cpu\".")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ConfigError(f"processing.device = {wanted!r} but only {torch.cuda.device_count()} CUDA device(s) "
                          "exist; use cuda:0 .. cuda:N-1 or \"auto\".")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"processing.device = {wanted!r} but MPS is not available; use \"auto\" or \"cpu\".")
    return device


def configure_threads(settings: Settings) -> None:
    """Apply ``processing.threads`` (0 leaves torch's default, usually one per core)."""
    import torch

    if settings.processing.threads > 0 and torch.get_num_threads() != settings.processing.threads:
        torch.set_num_threads(settings.processing.threads)
        log.info("torch uses %d CPU threads", settings.processing.threads)


def autocast_context(device: Any, amp: bool) -> contextlib.AbstractContextManager[Any]:
    """fp16 autocast on CUDA when ``amp`` is on; a no-op context elsewhere (CPU/MPS results stay float32)."""
    import torch

    if amp and torch.device(device).type == "cuda":
        return torch.autocast("cuda", dtype=torch.float16)
    return contextlib.nullcontext()


def xmem_checkpoint(settings: Settings) -> Path:
    """Where the XMem weights are expected (``models/XMem.pth``)."""
    return settings.models_dir / XMEM_FILE


def resolve_kind(settings: Settings, kind: str | None = None) -> str:
    """Which engine ``kind`` (default ``processing.engine``) means here: "xmem" or "flow".

    Raises:
        CheckpointError: "xmem" was asked for explicitly and the weights are missing.
    """
    kind = kind or settings.processing.engine
    if kind not in KINDS:
        raise ConfigError(f"engine {kind!r} is not known; use one of: {', '.join(KINDS)}.")
    path = xmem_checkpoint(settings)
    if kind == "xmem" and not path.is_file():
        raise CheckpointError(f"{path} is missing: run `xmem-tui models download` to fetch XMem.pth, "
                              "or use --engine flow (weight-free).")
    if kind == "auto":
        return "xmem" if path.is_file() else "flow"
    return kind


def build_engine(settings: Settings, kind: str | None = None) -> Engine:
    """A new engine for ``kind`` ("auto", "xmem", "flow"; default ``processing.engine``).

    "auto" gives XMem when ``models/XMem.pth`` exists and the weight-free optical-flow engine otherwise
    (logged, and labelled weight-free in every UI through ``engine.weight_free``).
    """
    resolved = resolve_kind(settings, kind)
    if resolved == "flow":
        from xmem_tui.inference.flow_engine import FlowEngine

        if (kind or settings.processing.engine) == "auto":
            log.info("no %s in %s: using the weight-free optical-flow engine (`xmem-tui models download` "
                     "fetches XMem)", XMEM_FILE, settings.models_dir)
        return FlowEngine()
    from xmem_tui.inference.xmem_engine import XMemEngine, load_xmem

    configure_threads(settings)
    device = select_device(settings)
    path = xmem_checkpoint(settings)
    log.info("loading XMem from %s on %s (amp %s)", path, device, settings.processing.amp)
    network = load_xmem(path, device, settings.processing.backend)
    return XMemEngine(network, settings.xmem.core_config(), device, settings.processing.amp)


class EngineCache:
    """Keeps built engines warm between jobs (the worker's model cache).

    An engine is reused while the settings that shape it (kind, device, amp, XMem memory settings and the
    checkpoint file's size and modification time) are unchanged; :func:`xmem_tui.inference.propagation.propagate`
    resets its memory at the start of every run. Thread-safe.
    """

    def __init__(self) -> None:
        self._engines: dict[tuple[Any, ...], Engine] = {}
        self._lock = threading.Lock()

    def _key(self, settings: Settings, resolved: str) -> tuple[Any, ...]:
        if resolved == "flow":
            return ("flow",)
        path = xmem_checkpoint(settings)
        stat = path.stat()
        return ("xmem", str(path), stat.st_size, stat.st_mtime_ns, settings.processing.device,
                settings.processing.amp, settings.processing.backend,
                tuple(sorted(settings.xmem.core_config().items())))

    def get(self, settings: Settings, kind: str | None = None) -> Engine:
        """The cached engine for these settings, building it (and dropping stale ones) if needed."""
        resolved = resolve_kind(settings, kind)
        key = self._key(settings, resolved)
        with self._lock:
            engine = self._engines.get(key)
            if engine is None:
                stale = [k for k in self._engines if k[0] == key[0]]
                for k in stale:  # one network per kind: a changed checkpoint or setting replaces the old one
                    del self._engines[k]
                engine = build_engine(settings, resolved)
                self._engines[key] = engine
            else:
                log.debug("reusing warm %s engine", engine.name)
            return engine

    def clear(self) -> None:
        """Drop every engine and give cached accelerator memory back."""
        with self._lock:
            self._engines.clear()
        from xmem_tui.inference.gpu import free_caches

        free_caches("cuda")

    def __len__(self) -> int:
        return len(self._engines)


def run_propagation(ws: Workspace, settings: Settings, start: int, *, end: int | None = None,
                    backward: bool = False, until_keyframe: bool = False, kind: str | None = None,
                    cancel: Cancel = None, run_id: str | None = None, cache: EngineCache | None = None,
                    on_retry: Callable[[str], None] | None = None,
                    keyframe_memory: bool = True) -> Iterator[FrameResult]:
    """A whole propagation as the CLI and the worker run it.

    Logs the pre-flight memory estimate, takes the engine from ``cache`` (or builds one), and runs
    :func:`~xmem_tui.inference.propagation.propagate`. When ``run_id`` names a run that already wrote
    frames (a crashed job re-queued by the worker), it resumes after the run's last written frame. On
    out-of-memory it retries once with a smaller memory budget, resuming the same way (see
    :func:`~xmem_tui.inference.estimate.run_with_oom_retry`); ``on_retry`` gets the message.
    ``keyframe_memory=False`` is "clear memory": only the start frame (and user frames the run reaches)
    are memorised, not the video's other annotated frames.
    """
    from xmem_tui.inference.estimate import preflight, run_with_oom_retry
    from xmem_tui.inference.propagation import propagate, resume_point

    run_id = run_id or ws.begin_run(start, backward)
    resolved = resolve_kind(settings, kind)
    device = select_device(settings) if resolved == "xmem" else "cpu"

    def attempt(current: Settings, number: int) -> Iterator[FrameResult]:
        engine = cache.get(current, resolved) if cache is not None else build_engine(current, resolved)
        permanent = len(ws.user_frames()) if keyframe_memory else 1
        preflight(current, ws.shape, max(1, len(ws.objects)), engine=resolved, device=device,
                  amp=current.processing.amp, permanent_frames=permanent)
        resume = resume_point(ws, run_id, start, backward)
        if resume != start:
            log.info("run %s already reached frame %d: resuming after it (attempt %d)", run_id, resume, number + 1)
        yield from propagate(ws, engine, start, end=end, backward=backward, until_keyframe=until_keyframe,
                             cancel=cancel, run_id=run_id, resume_from=resume, keyframe_memory=keyframe_memory)

    yield from run_with_oom_retry(attempt, settings, device=device, on_retry=on_retry)
