"""Cutie (CVPR 2024), XMem's successor: object-level memory reading on top of pixel memory."""

from xmem_tui.model.cutie.network import Cutie, CutieConfig

__all__ = ["Cutie", "CutieConfig"]
