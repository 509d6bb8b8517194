"""The weight-free engine: optical-flow propagation on the CPU, for when no checkpoint is installed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from xmem_tui.inference.registry import EngineSpec

if TYPE_CHECKING:
    from xmem_tui.config import Settings
    from xmem_tui.inference.engine import Engine

#: Its working set in float32 planes per pixel (flow fields, grey frames, warps, guided-filter buffers) and
#: per pixel and object (probabilities, GrabCut bands). Measured with tracemalloc: 256 bytes per pixel
#: for two objects at 480x854.
FLOW_FLOATS_PER_PIXEL, FLOW_FLOATS_PER_PIXEL_OBJECT = 40, 12


def build(settings: Settings, device: Any) -> Engine:
    from xmem_tui.inference.flow_engine import FlowEngine

    return FlowEngine()


def estimate(settings: Settings, shape: tuple[int, int], num_objects: int, *, half: bool,
             permanent_frames: int) -> dict[str, int]:
    """Frames and flow fields only: anchors are a few masks, whatever the run's length."""
    h, w = shape
    return {"working set": h * w * 4 * (FLOW_FLOATS_PER_PIXEL + FLOW_FLOATS_PER_PIXEL_OBJECT * num_objects)}


SPEC = EngineSpec(name="flow", label="weight-free (optical flow)", build=build, estimate=estimate,
                  weight_free=True, accelerated=False, order=90,
                  help="optical flow with colour re-anchoring (no checkpoint, CPU)")
