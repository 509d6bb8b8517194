"""``fbrs.pth``: the f-BRS click segmentation network (official XMem v1.0 release)."""

from xmem_tui.model.registry import CheckpointSpec

SPEC = CheckpointSpec("fbrs.pth", "f-BRS", "clicks", "GrabCut (weight-free)", loader="xmem_tui.model.fbrs:FBRSNet",
                      order=30)
