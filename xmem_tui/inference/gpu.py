"""The accelerator: device choice, threads, autocast, the process-wide GPU lock, and memory figures.

``processing.device`` becomes a torch device here (:func:`select_device`), and every use of the
accelerator in one process (the worker's propagation, the dashboard's click segmenter) takes
:func:`gpu_lock`, so kernels and allocations of two models never interleave.

Progress reports carry "current / peak / total" device memory so a user can see how close a long
propagation runs to the limit. On CUDA the figures come from torch's caching allocator (what *this*
process holds) and, when ``pynvml`` is importable, from NVML (what the whole device has in use, other
processes included). Off CUDA the device is reported as "CPU" (or "MPS") with the process's resident
memory, which is what bounds a CPU run.

torch is imported lazily: this module is also used by callers that never touch a network.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import resource
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xmem_tui.errors import ConfigError

if TYPE_CHECKING:
    import torch

    from xmem_tui.config import Settings

log = logging.getLogger(__name__)

#: One lock per process around every use of the accelerator.
_GPU_LOCK = threading.RLock()
#: Set once ``processing.device = "auto"`` found no accelerator in this process (progress then says so).
_AUTO_ON_CPU = threading.Event()

_MEMINFO = Path("/proc/meminfo")
_STATUS = Path("/proc/self/status")


def gpu_lock() -> threading.RLock:
    """The process-wide accelerator lock (re-entrant; use as ``with gpu_lock(): ...``)."""
    return _GPU_LOCK


def select_device(settings: Settings) -> torch.device:
    """``processing.device`` as a torch.device; "auto" picks CUDA, then MPS, then the CPU (logged once, and
    named "CPU (no GPU)" in progress reports, so every UI says the run is on the CPU).

    Raises:
        ConfigError: an explicit CUDA/MPS device is not usable here (see :func:`usable_device`).
    """
    import torch

    wanted = settings.processing.device
    if wanted != "auto":
        return usable_device(wanted, "processing.device")
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available(torch):
        return torch.device("mps")
    if not _AUTO_ON_CPU.is_set():
        _AUTO_ON_CPU.set()
        log.warning("processing.device = \"auto\" found no CUDA or MPS device (devices here: %s): running on the "
                    "CPU, which is slow for long videos", ", ".join(devices_present()))
    return torch.device("cpu")


def usable_device(wanted: str, key: str) -> torch.device:
    """``wanted`` ("cpu", "cuda", "cuda:N", "mps") as a torch.device, after checking that it works here.

    Args:
        key: the setting or option it came from, for the error (``processing.device``, ``--device``).

    Raises:
        ConfigError: one line naming ``key``, the value, what is wrong and the devices present.
    """
    import torch

    try:
        device = torch.device(wanted)
    except (RuntimeError, ValueError) as exc:
        raise ConfigError(f"{key} = {wanted!r} is not a device; use auto, cpu, cuda, cuda:N or mps.") from exc
    if device.type == "cpu":
        return device
    problem = _unusable(torch, device)
    if problem:
        raise ConfigError(f"{key} = {wanted!r} cannot be used: {problem}; devices here: "
                          f"{', '.join(devices_present())}. Set it to \"auto\" (or \"cpu\").")
    return device


def devices_present() -> list[str]:
    """The devices torch can use here: "cpu", then "cuda:N (name)" per GPU and "mps"."""
    import torch

    found = ["cpu"]
    with contextlib.suppress(Exception):  # a broken driver must not break an error message
        if torch.cuda.is_available():
            found += [f"cuda:{i} ({torch.cuda.get_device_name(i)})" for i in range(torch.cuda.device_count())]
    if _mps_available(torch):
        found.append("mps")
    return found


def _mps_available(torch: Any) -> bool:
    mps = getattr(torch.backends, "mps", None)  # absent from some builds
    return mps is not None and mps.is_available()


def _unusable(torch: Any, device: torch.device) -> str | None:
    """Why ``device`` cannot run anything here, or None (a tiny allocation proves the driver works)."""
    if device.type == "cuda":
        if not torch.cuda.is_available():
            return "CUDA is not available here (no NVIDIA GPU or driver)"
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            return f"there {'is' if count == 1 else 'are'} only {count} CUDA device(s), numbered from 0"
    elif device.type == "mps":
        if not _mps_available(torch):
            return "MPS (Apple GPU) is not available on this machine"
    else:
        return f"{device.type} devices are not supported"
    try:
        torch.zeros(1, device=device)
    except (RuntimeError, AssertionError) as exc:
        return f"it fails to start ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
    return None


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


@dataclass(frozen=True)
class DeviceMemory:
    """Memory of the device a run uses, in bytes (None when unknown).

    Attributes:
        device: "cuda:0", "mps" or "CPU" ("CPU (no GPU)" after ``processing.device = "auto"`` found none).
        used: bytes this process currently holds (CUDA allocator, or RSS on the CPU).
        peak: highest ``used`` since the last :func:`reset_peak` (or process start).
        total: capacity of the device (GPU memory, or host RAM).
        free: bytes still available on the device (driver view, or MemAvailable).
        device_used: bytes in use on the whole GPU by every process (NVML only).
    """

    device: str
    used: int | None = None
    peak: int | None = None
    total: int | None = None
    free: int | None = None
    device_used: int | None = None

    def as_stats(self) -> dict[str, Any]:
        """The keys :class:`xmem_tui.progress.Progress` ``stats`` documents."""
        return {"device": self.device, "gpu_mem_used": self.used, "gpu_mem_peak": self.peak,
                "gpu_mem_total": self.total, "gpu_mem_free": self.free, "gpu_mem_device_used": self.device_used}


def _torch() -> Any | None:
    """torch if it is already imported; a CPU-only run with a classical engine must not pay for importing it."""
    return sys.modules.get("torch")


def _is_cuda(device: Any) -> bool:
    return str(device).startswith("cuda")


def _cuda_index(torch: Any, device: Any) -> int:
    dev = torch.device(device)
    return dev.index if dev.index is not None else torch.cuda.current_device()


def device_memory(device: Any = "cpu") -> DeviceMemory:
    """Current, peak and total memory of ``device`` (a torch.device or its string)."""
    torch = _torch()
    if torch is not None and _is_cuda(device) and torch.cuda.is_available():
        index = _cuda_index(torch, device)
        free, total = torch.cuda.mem_get_info(index)
        return DeviceMemory(device=f"cuda:{index}", used=int(torch.cuda.memory_allocated(index)),
                            peak=int(torch.cuda.max_memory_allocated(index)), total=int(total), free=int(free),
                            device_used=_nvml_used(index))
    # A torch.device on the CPU came from select_device; engines that never use an accelerator pass "cpu".
    fallback = _AUTO_ON_CPU.is_set() and not isinstance(device, str)
    name = "MPS" if str(device).startswith("mps") else "CPU (no GPU)" if fallback else "CPU"
    return DeviceMemory(device=name, used=rss_bytes(), peak=peak_rss_bytes(), total=host_total_bytes(),
                        free=host_available_bytes())


def reset_peak(device: Any) -> None:
    """Start a new peak measurement (called at the start of each run)."""
    torch = _torch()
    if torch is not None and _is_cuda(device) and torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats(_cuda_index(torch, device))


def free_caches(device: Any) -> None:
    """Give cached blocks back after an out-of-memory error, so a retry starts from a clean allocator."""
    gc.collect()
    torch = _torch()
    if torch is not None and _is_cuda(device) and torch.cuda.is_available():
        torch.cuda.empty_cache()
    elif torch is not None and str(device).startswith("mps"):
        with contextlib.suppress(Exception):
            torch.mps.empty_cache()


def free_bytes(device: Any) -> int | None:
    """Bytes available for a new run on ``device`` (driver free memory, or host MemAvailable)."""
    return device_memory(device).free


def _nvml_used(index: int) -> int | None:
    try:
        import pynvml  # optional dependency
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
        handle = pynvml.nvmlDeviceGetHandleByIndex(index)
        return int(pynvml.nvmlDeviceGetMemoryInfo(handle).used)
    except Exception as exc:  # NVML missing driver pieces must never break progress reports
        log.debug("NVML unavailable: %s", exc)
        return None


def _meminfo(field: str) -> int | None:
    try:
        for line in _MEMINFO.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def host_available_bytes() -> int | None:
    """MemAvailable from /proc/meminfo (None where there is no procfs)."""
    return _meminfo("MemAvailable")


def host_total_bytes() -> int | None:
    """MemTotal from /proc/meminfo."""
    return _meminfo("MemTotal")


def rss_bytes() -> int | None:
    """Resident set size of this process."""
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def peak_rss_bytes() -> int:
    """Peak resident set size of this process (ru_maxrss is KiB on Linux)."""
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def format_bytes(n: int | None) -> str:
    """Short human size ("1.2G", "340M") for progress lines; "?" when unknown."""
    if n is None:
        return "?"
    value = float(n)
    for unit in ("B", "K", "M"):
        if value < 1024:
            return f"{value:.0f}{unit}" if unit != "M" else f"{value:.1f}{unit}"
        value /= 1024
    return f"{value:.1f}G"
