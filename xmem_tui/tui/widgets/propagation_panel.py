"""Live propagation status: bar, frame i/N, frames/s, ETA, memory sizes, GPU memory and engine."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from xmem_tui.progress import Progress


def _bytes(value: object) -> str:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "?"
    return f"{number / 2**30:.1f} GiB" if number >= 2**30 else f"{number / 2**20:.0f} MiB"


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else \
        f"{seconds // 60:02d}:{seconds % 60:02d}"


def memory_text(stats: dict[str, object]) -> str:
    """Device memory in a few words: a GPU's used/peak/total, or the process's RAM on a CPU."""
    device = str(stats.get("device") or ("GPU" if stats.get("gpu_mem_total") else "CPU"))
    if "gpu_mem_used" not in stats:
        return device
    used, peak = _bytes(stats.get("gpu_mem_used")), _bytes(stats.get("gpu_mem_peak"))
    if device.upper().startswith(("CPU", "MPS")):  # the figures are this process's RAM; the machine's total says little
        return f"{device} {used} used, {peak} peak"
    return f"{device} {used} used / {peak} peak / {_bytes(stats.get('gpu_mem_total'))}"


def describe(progress: Progress | None, engine: str, width: int = 60) -> Text:
    """The panel's text for ``progress`` (None: idle); four lines that fit 80 columns."""
    if progress is None:
        return Text.assemble(("idle", "dim"), f"  engine: {engine}")
    stats = progress.stats or {}
    state = str(stats.get("state", "running"))
    bar_width = max(width - 30, 10)
    filled = round(progress.fraction * bar_width)
    bar = Text.assemble(("━" * filled, "green"), ("━" * (bar_width - filled), "grey30"))
    line1 = Text.assemble(bar, f" {progress.done}/{progress.total} ", (state, "bold"),
                          f"  ETA {_eta(progress.eta_s)}" if state == "running" else "")
    frame = f"frame {progress.frame}  " if progress.frame is not None else ""
    line2 = Text(f"{frame}{progress.fps:.1f} frames/s  memory: work "
                 f"{stats.get('working_mem', stats.get('working', 0))}, long-term "
                 f"{stats.get('long_term_mem', stats.get('long_term', 0))}")
    engine_name = str(stats.get("engine", engine))
    line3 = Text.assemble(f"engine: {engine_name}", ("  (weight-free)" if stats.get("weight_free") and
                                                     "weight-free" not in engine_name else "", "yellow"),
                          f"  {memory_text(stats)}")
    if stats.get("estimate"):
        line3.append(f"  estimate: {stats['estimate']}", "dim")
    lines = [line1, line2, line3]
    if progress.message:
        style = "bold red" if state == "failed" else "italic"
        lines.append(Text(progress.message, style=style))
    return Text("\n").join(lines)


class PropagationPanel(Widget):
    """Shows the latest :class:`Progress` of the selected video's propagation."""

    DEFAULT_CSS = """
    PropagationPanel { height: 4; }
    """

    progress: reactive[Progress | None] = reactive(None, always_update=True)
    engine: reactive[str] = reactive("")

    def render(self) -> Text:
        return describe(self.progress, self.engine, self.size.width)
