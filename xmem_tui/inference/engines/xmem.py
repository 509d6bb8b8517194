"""XMem: the propagation engine of the paper, from ``models/XMem.pth`` on ``processing.device``.

The memory model follows the paper's design: every memory element is one stride-16 feature position of
a memory frame and holds a key (key_dim), shrinkage (1), selection (key_dim), a value per object
(value_dim) and two usage counters; working memory holds at most ``max_mid_term_frames`` frames (plus the
first one), long-term memory at most ``max_long_term_elements`` elements (plus one consolidation's
``num_prototypes`` before pruning), permanent memory every annotated frame of the run. A readout
materialises a (memory elements x query positions) affinity, which dominates at high resolution;
encoder/decoder activations scale with pixels and objects.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

from xmem_tui.inference.estimate import feature_positions
from xmem_tui.inference.registry import EngineSpec

if TYPE_CHECKING:
    from xmem_tui.config import Settings
    from xmem_tui.inference.engine import Engine

log = logging.getLogger(__name__)

CHECKPOINT = "XMem.pth"
#: Dimensions of the released XMem.pth (the reference manifest).
KEY_DIM, VALUE_DIM, HIDDEN_DIM = 64, 512, 64
#: Parameters of the released XMem network (reference README, section 3).
XMEM_PARAMS = 62_220_354
#: Live activation floats per input pixel: key encoder and decoder trunk, and per object (value encoder,
#: decoder upsampling, logits). From the stage widths: ResNet-50 conv1 64 ch at 1/2, res2 256 ch at 1/4 ...
ACT_PER_PIXEL, ACT_PER_PIXEL_OBJECT = 80, 40
#: Readout keeps about this many (memory x query) float buffers alive at once (similarity, top-k, softmax).
READOUT_COPIES = 3


def build(settings: Settings, device: Any) -> Engine:
    """Load the weights (strictly, weights only) onto ``device`` with the ``[xmem]`` memory settings."""
    from xmem_tui.inference.gpu import configure_threads
    from xmem_tui.inference.xmem_engine import XMemEngine, load_xmem

    configure_threads(settings)
    path = settings.models_dir / CHECKPOINT
    log.info("loading XMem from %s on %s (amp %s, CPU backend %s)", path, device, settings.processing.amp,
             settings.processing.backend)
    network = load_xmem(path, device, settings.processing.backend)
    return XMemEngine(network, settings.xmem.core_config(), device, settings.processing.amp)


def estimate(settings: Settings, shape: tuple[int, int], num_objects: int, *, half: bool,
             permanent_frames: int) -> dict[str, int]:
    """Memory by part (see the module docstring)."""
    x = settings.xmem
    act_bytes = 2 if half else 4
    h, w = shape
    n = feature_positions(shape)
    per_element = 4 * (2 * KEY_DIM + 1 + 2) + act_bytes * VALUE_DIM * num_objects
    working_elements = (x.max_mid_term_frames + 1) * n
    long_elements = (x.max_long_term_elements + x.num_prototypes) if x.enable_long_term else 0
    permanent_elements = permanent_frames * n
    memory_elements = working_elements + long_elements + permanent_elements
    return {
        "weights": XMEM_PARAMS * 4,
        "working memory": working_elements * per_element,
        "long-term memory": long_elements * per_element,
        "annotated frames": permanent_elements * per_element,
        "readout": READOUT_COPIES * memory_elements * n * act_bytes,
        "sensory": HIDDEN_DIM * num_objects * n * 4,
        "activations": h * w * act_bytes * (ACT_PER_PIXEL + ACT_PER_PIXEL_OBJECT * num_objects),
    }


def shrink(settings: Settings) -> Settings | None:
    """Half the long-term cap and the working memory frames (never below one consolidation's worth)."""
    x = settings.xmem
    long_term = max(x.num_prototypes, x.max_long_term_elements // 2)
    mid = max(x.min_mid_term_frames + 1, x.max_mid_term_frames // 2)
    if long_term == x.max_long_term_elements and mid == x.max_mid_term_frames:
        return None
    return dataclasses.replace(settings, xmem=dataclasses.replace(x, max_long_term_elements=long_term,
                                                                  max_mid_term_frames=mid))


def memory_settings(settings: Settings) -> Hashable:
    """A loaded XMem engine is shaped by the whole ``[xmem]`` section and the processing settings."""
    return settings.processing, settings.xmem


SPEC = EngineSpec(name="xmem", label="XMem", build=build, estimate=estimate, checkpoints=(CHECKPOINT,),
                  order=10, settings_key=memory_settings, shrink=shrink,
                  memory_keys=("xmem.max_long_term_elements", "xmem.max_mid_term_frames"),
                  help="XMem (needs models/XMem.pth; runs on processing.device)")
