"""Networks: XMem and Cutie (propagation) and, from other modules, the interaction models."""

from xmem_tui.model.cutie import Cutie, CutieConfig
from xmem_tui.model.network import XMem, XMemConfig

__all__ = ["Cutie", "CutieConfig", "XMem", "XMemConfig"]
