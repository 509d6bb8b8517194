"""Cutie: the object-level memory engine of CVPR 2024, from ``models/cutie-base-mega.pth`` on ``processing.device``.

Its memory is bounded like XMem's (working memory of ``cutie.long_term_max_mem_frames`` frames, long-term
memory capped at ``cutie.long_term_max_num_tokens`` elements), plus every user-annotated frame kept as
permanent memory for the run; :mod:`xmem_tui.inference.cutie.estimate` counts it part by part.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

from xmem_tui.inference.registry import EngineSpec

if TYPE_CHECKING:
    from xmem_tui.config import Settings
    from xmem_tui.inference.engine import Engine

log = logging.getLogger(__name__)

CHECKPOINT = "cutie-base-mega.pth"


def build(settings: Settings, device: Any) -> Engine:
    """Load the weights (strictly, weights only) onto ``device`` with the ``[cutie]`` memory settings."""
    from xmem_tui.inference.cutie_engine import CutieEngine, load_cutie
    from xmem_tui.inference.gpu import configure_threads

    configure_threads(settings)
    path = settings.models_dir / CHECKPOINT
    log.info("loading Cutie from %s on %s (amp %s, CPU backend %s)", path, device, settings.processing.amp,
             settings.processing.backend)
    network = load_cutie(path, device, settings.processing.backend)
    return CutieEngine(network, settings.cutie.core_config(), device, settings.processing.amp)


def estimate(settings: Settings, shape: tuple[int, int], num_objects: int, *, half: bool,
             permanent_frames: int) -> dict[str, int]:
    """Memory by part for a run long enough to fill every memory (see the module docstring)."""
    from xmem_tui.inference.cutie.estimate import cutie_memory_parts

    return cutie_memory_parts(shape, num_objects, settings.cutie.core_config(), amp=half,
                              permanent_frames=permanent_frames)


def shrink(settings: Settings) -> Settings | None:
    """Half the long-term cap (and its pruning buffer) and the working memory frames, keeping the config
    valid (one consolidation's prototypes and the buffer below the cap, at least one frame left after a
    consolidation); without long-term memory, half the FIFO of working memory frames."""
    c = settings.cutie
    if c.use_long_term:
        buffer = c.long_term_buffer_tokens // 2
        tokens = max(c.long_term_num_prototypes + buffer + 1, c.long_term_max_num_tokens // 2)
        frames = max(c.long_term_min_mem_frames + 1, c.long_term_max_mem_frames // 2)
        smaller = dataclasses.replace(c, long_term_max_num_tokens=tokens, long_term_buffer_tokens=buffer,
                                      long_term_max_mem_frames=frames)
    else:
        smaller = dataclasses.replace(c, max_mem_frames=max(2, c.max_mem_frames // 2))
    return None if smaller == c else dataclasses.replace(settings, cutie=smaller)


def memory_settings(settings: Settings) -> Hashable:
    """A loaded Cutie engine is shaped by the whole ``[cutie]`` section and the processing settings."""
    return settings.processing, settings.cutie


SPEC = EngineSpec(name="cutie", label="Cutie", build=build, estimate=estimate, checkpoints=(CHECKPOINT,),
                  order=20, settings_key=memory_settings, shrink=shrink,
                  memory_keys=("cutie.long_term_max_num_tokens", "cutie.long_term_max_mem_frames",
                               "cutie.max_mem_frames"),
                  help="Cutie (needs models/cutie-base-mega.pth; runs on processing.device)")
