"""``XMem.pth``: the XMem propagation network (official v1.0 release)."""

from xmem_tui.model.registry import CheckpointSpec

SPEC = CheckpointSpec("XMem.pth", "XMem", "propagation", "weight-free (optical flow)",
                      loader="xmem_tui.model.network:XMem", order=10)
