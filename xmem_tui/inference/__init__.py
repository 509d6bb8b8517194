"""Propagation engines and the XMem and Cutie inference cores.

Exports are resolved lazily: light submodules (quality signals, progress, GPU figures) are read by the
dashboard, whose first paint must not wait for torch to import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from xmem_tui.inference.core import InferenceCore
    from xmem_tui.inference.cutie.core import CutieCore
    from xmem_tui.inference.propagation import propagate

__all__ = ["CutieCore", "InferenceCore", "propagate"]


def __getattr__(name: str) -> object:
    if name == "InferenceCore":
        from xmem_tui.inference.core import InferenceCore

        return InferenceCore
    if name == "CutieCore":
        from xmem_tui.inference.cutie.core import CutieCore

        return CutieCore
    if name == "propagate":
        from xmem_tui.inference.propagation import propagate

        return propagate
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
