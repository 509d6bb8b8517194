"""Builds the interactive segmenters: f-BRS / S2M when their checkpoints exist, GrabCut otherwise.

The annotation window asks for "a click segmenter" and "a scribble segmenter" and never cares which one
it got; it shows ``segmenter.name`` and labels weight-free ones. The networks (and torch) are imported only
when their checkpoint is present, so the weight-free path starts instantly.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from xmem_tui.interaction.base import ClickSegmenter, ScribbleSegmenter
from xmem_tui.model.registry import checkpoint_path

if TYPE_CHECKING:
    from xmem_tui.config import Settings

log = logging.getLogger(__name__)

FBRS_FILE = "fbrs.pth"
S2M_FILE = "s2m.pth"


def _device(settings: Settings, device: Any) -> Any:
    if device is not None:
        return device
    from xmem_tui.inference.gpu import select_device

    return select_device(settings)


def build_click(settings: Settings, device: Any = None) -> ClickSegmenter:
    """f-BRS when ``models/fbrs.pth`` exists, else the weight-free GrabCut click segmenter.

    Raises:
        CheckpointError: the file exists but is not a valid, safe f-BRS checkpoint.
    """
    path = checkpoint_path(settings, FBRS_FILE)
    if not path.is_file():
        from xmem_tui.interaction.grabcut import GrabCutClickSegmenter

        log.info("no %s: clicks use GrabCut (weight-free); `xmem-tui models download` fetches f-BRS", path)
        return GrabCutClickSegmenter()
    from xmem_tui.interaction.click import FBRSClickSegmenter
    from xmem_tui.model.fbrs import FBRSNet

    dev = _device(settings, device)
    log.info("loading f-BRS from %s on %s", path, dev)
    return FBRSClickSegmenter(FBRSNet.from_checkpoint(path), dev)


def build_scribble(settings: Settings, device: Any = None) -> ScribbleSegmenter:
    """S2M when ``models/s2m.pth`` exists, else the weight-free GrabCut scribble segmenter.

    Raises:
        CheckpointError: the file exists but is not a valid, safe S2M checkpoint.
    """
    path = checkpoint_path(settings, S2M_FILE)
    if not path.is_file():
        from xmem_tui.interaction.grabcut import GrabCutScribbleSegmenter

        log.info("no %s: scribbles use GrabCut (weight-free); `xmem-tui models download` fetches S2M", path)
        return GrabCutScribbleSegmenter()
    from xmem_tui.interaction.s2m import S2MScribbleSegmenter
    from xmem_tui.model.s2m import S2M

    dev = _device(settings, device)
    log.info("loading S2M from %s on %s", path, dev)
    return S2MScribbleSegmenter(S2M.from_checkpoint(path).to(dev))
