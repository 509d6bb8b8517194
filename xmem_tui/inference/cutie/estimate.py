"""Pre-flight memory estimate of a Cutie propagation (the counterpart of :mod:`xmem_tui.inference.estimate`).

Cutie's memory is bounded by design: every memory element is one stride-16 position of a memory frame and
holds a key (key_dim), shrinkage (1), selection (key_dim, working memory only), two usage counters and a
value per object (value_dim); working memory holds at most ``long_term.max_mem_frames - 1`` frames plus
the permanent ones (each bucket's first memory frame and every user-annotated frame kept by the engine),
long-term memory at most ``long_term.max_num_tokens`` elements (without long-term memory, a FIFO of
``max_mem_frames - 1`` frames). A readout materialises the (memory elements x query positions)
similarity twice (the two products of the official order). Sensory memory is sensory_dim per object
and position. Network activations scale with pixels and objects; their constants were measured at
480x864 on CPU (peak RSS above the loaded weights: 1 object 138 MB, 3 objects 394 MB) and are rough.
Like XMem's, the estimate is a guide, never a gate.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from xmem_tui.inference.estimate import MemoryEstimate, feature_positions
from xmem_tui.inference.gpu import device_memory

#: Parameters of the released Cutie-base network (../shared/reference/cutie/cutie_base.tsv).
CUTIE_PARAMS = 35_059_444
#: Widths of the released network.
KEY_DIM, VALUE_DIM, SENSORY_DIM = 64, 256, 256
#: Live activation floats per input pixel, and per pixel and object (measured, see the module docstring).
ACT_PER_PIXEL, ACT_PER_PIXEL_OBJECT = 80, 80
#: (memory x query) float buffers alive at once in a readout: the two products of the similarity.
READOUT_COPIES = 2


def memory_elements(positions: int, config: Mapping[str, Any], frames: int | None,
                    permanent_frames: int) -> tuple[int, int, int]:
    """(working, long-term, permanent) elements of one bucket at their peak over a run of ``frames`` frames.

    ``frames`` None means a run long enough to fill every memory to its cap.
    """
    mem_every = int(config["mem_every"])
    written = None if frames is None else 1 + max(frames - 1, 0) // mem_every  # memory frames written
    permanent = (1 + permanent_frames) * positions
    if not config["use_long_term"]:
        cap = int(config.get("max_mem_frames", 5)) - 1
        return min(cap, written - 1 if written is not None else cap) * positions, 0, permanent
    lt = config["long_term"]
    max_work, min_work = int(lt["max_mem_frames"]) - 1, int(lt["min_mem_frames"]) - 1
    temporary = max_work if written is None else min(written - 1, max_work)
    long = int(lt["max_num_tokens"])
    if written is not None:
        consolidations = 0 if written - 1 < max_work else 1 + (written - 1 - max_work) // (max_work - min_work)
        long = min(long, consolidations * int(lt["num_prototypes"]))
    return temporary * positions, long, permanent


def cutie_memory_parts(shape: tuple[int, int], num_objects: int, config: Mapping[str, Any], *,
                       frames: int | None = None, amp: bool = False, permanent_frames: int = 0) -> dict[str, int]:
    """Bytes by part of propagating ``num_objects`` objects at processing ``shape`` (height, width).

    Args:
        config: the CutieCore config (``mem_every``, ``use_long_term``, ``long_term`` ...).
        frames: length of the run (None: long enough to fill every memory).
        amp: half-precision activations (CUDA autocast); memory and attention stay float32.
        permanent_frames: user-annotated frames the engine keeps in permanent memory.
    """
    h, w = shape
    pixels = h * w
    k = max(1, num_objects)
    act_bytes = 2 if amp else 4
    n = feature_positions(shape)
    working, long, permanent = memory_elements(n, config, frames, permanent_frames)
    per_key = 4 * (KEY_DIM + 1)
    per_value = 4 * VALUE_DIM * k
    return {
        "weights": CUTIE_PARAMS * 4,
        "working memory": working * (per_key + 4 * (KEY_DIM + 2) + per_value),
        "long-term memory": long * (per_key + 8 + per_value),
        "annotated frames": permanent * (per_key + per_value),
        "readout": READOUT_COPIES * (working + long + permanent) * n * 4,
        "sensory": SENSORY_DIM * k * n * 4,
        "activations": pixels * act_bytes * (ACT_PER_PIXEL + ACT_PER_PIXEL_OBJECT * k),
    }


def estimate_cutie_memory(shape: tuple[int, int], num_objects: int, config: Mapping[str, Any], *,
                          device: Any = "cpu", frames: int | None = None, amp: bool = False,
                          free: int | None = None, permanent_frames: int = 0) -> MemoryEstimate:
    """:func:`cutie_memory_parts` as a :class:`MemoryEstimate` with the device's free memory (``free``
    overrides the lookup). fp16 activations are only used on CUDA."""
    mem = device_memory(device)
    half = amp and str(device).startswith("cuda")
    parts = cutie_memory_parts(shape, num_objects, config, frames=frames, amp=half, permanent_frames=permanent_frames)
    return MemoryEstimate(device=mem.device, parts=parts, free=mem.free if free is None else free)
