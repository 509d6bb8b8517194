"""``cutie-base-mega.pth``: the Cutie-base propagation network (official v1.0 release of hkchengrex/Cutie)."""

from xmem_tui.model.registry import CheckpointSpec

SPEC = CheckpointSpec("cutie-base-mega.pth", "Cutie", "propagation", "XMem or weight-free (optical flow)",
                      loader="xmem_tui.model.cutie:Cutie",
                      base="https://github.com/hkchengrex/Cutie/releases/download/v1.0/",
                      md5="a6071de6136982e396851903ab4c083a", order=15)
