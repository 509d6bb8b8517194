"""Networks: XMem (propagation) and, from other modules, the interaction models."""

from xmem_tui.model.network import XMem, XMemConfig

__all__ = ["XMem", "XMemConfig"]
