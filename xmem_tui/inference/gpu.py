"""Accelerator and host memory figures for progress displays, pre-flight estimates and OOM handling.

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_MEMINFO = Path("/proc/meminfo")
_STATUS = Path("/proc/self/status")


@dataclass(frozen=True)
class DeviceMemory:
    """Memory of the device a run uses, in bytes (None when unknown).

    Attributes:
        device: "cuda:0", "mps" or "CPU".
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
    name = "MPS" if str(device).startswith("mps") else "CPU"
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
