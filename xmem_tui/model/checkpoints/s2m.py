"""``s2m.pth``: the S2M scribble-to-mask network (official XMem v1.0 release)."""

from xmem_tui.model.registry import CheckpointSpec

SPEC = CheckpointSpec("s2m.pth", "S2M", "scribbles", "GrabCut (weight-free)", loader="xmem_tui.model.s2m:S2M",
                      order=20)
