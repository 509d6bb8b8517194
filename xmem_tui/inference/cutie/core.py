"""Frame-by-frame Cutie inference with the official InferenceCore semantics.

``step`` is the whole algorithm for one frame: encode the image, read every memory bucket (pixel memory
top-k readout, pixel fusion with the sensory memory and the last mask, object transformer) and decode all
objects (unless the given mask annotates exactly the known objects), merge a given mask, and memorise the
frame when it is a memory frame (every ``mem_every`` frames and every masked frame, never the last one).
The sensory memory is updated by the decoder on the first ``stagger_updates`` spread frames after each
memory frame, and by the mask encoder on memory frames.

Segmentation is skipped only when a mask annotates exactly the known objects (or none are known yet); a
mask that leaves known objects out is merged with their prediction (the official core also segments when
a mask brings new objects, which keeps its usage counts and sensory updates identical here).

Extension, off by default so the golden replay stays the official algorithm: with ``permanent_masks``
(or ``step(..., permanent=True)``) a frame given with a mask is stored in every bucket's permanent memory
(the official ``force_permanent``), which is never consolidated, pruned or evicted.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from xmem_tui.inference.core import pad_to_multiple, unpad
from xmem_tui.inference.cutie.memory import PixelMemory
from xmem_tui.model.cutie import Cutie
from xmem_tui.model.network import aggregate

logger = logging.getLogger(__name__)

REQUIRED_KEYS = ("mem_every", "top_k", "stagger_updates", "use_long_term", "long_term")
#: official options this core does not implement, with the value that turns them off (object chunks change
#: which objects share a readout; internal resizing and flip augmentation are the caller's business)
UNSUPPORTED: dict[str, Any] = {"chunk_size": -1, "max_internal_size": -1, "flip_aug": False}
LONG_TERM_KEYS = ("count_usage", "max_mem_frames", "min_mem_frames", "num_prototypes", "max_num_tokens",
                  "buffer_tokens")


def check_config(config: Mapping[str, Any]) -> None:
    """ValueError naming what is missing or inconsistent in a Cutie inference config."""
    missing = [k for k in REQUIRED_KEYS if k not in config]
    if not missing and config["use_long_term"]:
        missing = [f"long_term.{k}" for k in LONG_TERM_KEYS if k not in config["long_term"]]
    if missing:
        raise ValueError(f"Cutie inference config lacks {', '.join(missing)}")
    if int(config["mem_every"]) < 1 or int(config["top_k"]) < 1 or int(config["stagger_updates"]) < 1:
        raise ValueError("mem_every, top_k and stagger_updates must be at least 1")
    lt = config["long_term"]
    if config["use_long_term"] and not 1 <= int(lt["min_mem_frames"]) < int(lt["max_mem_frames"]):
        raise ValueError("long_term.min_mem_frames must be at least 1 and smaller than long_term.max_mem_frames")
    unsupported = [k for k, default in UNSUPPORTED.items() if config.get(k, default) not in (default, None)]
    if unsupported:
        raise ValueError(f"Cutie inference config: {', '.join(unsupported)} not supported (use "
                         + ", ".join(f"{k} = {UNSUPPORTED[k]}" for k in unsupported) + ")")


def stagger_steps(mem_every: int, updates: int) -> set[int]:
    """Frames after a memory frame on which the decoder updates the sensory memory (official spacing)."""
    return {int(x) for x in np.linspace(1, mem_every, updates)}


def _rows(x: Tensor) -> Tensor:
    """(1, C, h, w) -> (h*w, C) float32 memory-element rows."""
    return x[0].flatten(1).T.float()


class CutieCore:
    """Stateful Cutie processor for one video: memory, sensory memory, object summaries, time step.

    Args:
        network: a :class:`Cutie` in eval mode, on the device the inputs will be on.
        config: the official eval config: ``mem_every``, ``top_k``, ``stagger_updates``, ``use_long_term``
            and a nested ``long_term`` mapping (``count_usage``, ``max_mem_frames``, ``min_mem_frames``,
            ``num_prototypes``, ``max_num_tokens``, ``buffer_tokens``); ``max_mem_frames`` (top level) is
            the FIFO length without long-term memory; ``chunk_size``, ``max_internal_size``, ``flip_aug``
            and ``amp`` may be present at their defaults.
        sparse_readout: multiply only the top-k weights (default on CPU); the dense product is the
            official formulation.
        permanent_masks: store every frame given with a mask in permanent memory (an extension; the
            official default keeps only each bucket's first memory frame there).
    """

    def __init__(self, network: Cutie, config: Mapping[str, Any], sparse_readout: bool | None = None,
                 permanent_masks: bool = False) -> None:
        check_config(config)
        self.network = network
        self.config = dict(config)
        self.mem_every = int(config["mem_every"])
        self.stagger = stagger_steps(self.mem_every, int(config["stagger_updates"]))
        self.sparse_readout = sparse_readout
        self.permanent_masks = bool(permanent_masks)
        #: object ids in channel order (channel i + 1 of every output is ``objects[i]``)
        self.objects: list[int] = []
        #: flags of the last step, for bookkeeping checks and progress displays
        self.last_flags: dict[str, bool] = {}
        self.clear_memory()

    def clear_memory(self) -> None:
        """Forget every frame, sensory memory and summary; the time step restarts. Objects are kept."""
        self.t = -1
        self.last_mem_t = 0
        first = self.network.pixel_encoder.conv1.weight
        # follow the network's layout (channels_last is faster for the CPU/CUDA convolution kernels)
        self._memory_format = (torch.channels_last if first.is_contiguous(memory_format=torch.channels_last)
                               else torch.contiguous_format)
        sparse = first.device.type == "cpu" if self.sparse_readout is None else self.sparse_readout
        self.memory = PixelMemory.from_config(self.config, sparse=sparse)
        self.last_mask: Tensor | None = None

    @torch.inference_mode()
    def step(self, image: Tensor, mask: Tensor | None = None, objects: Sequence[int] | None = None,
             end: bool = False, *, permanent: bool | None = None, write_memory: bool = True) -> Tensor:
        """Process the next frame.

        Args:
            image: float32 (3, H, W) RGB in [0, 1] (not normalised); moved to the network's device.
            mask: optional int64 (H, W) index mask (a tensor or array); ``objects`` are the ids it annotates
                (None: its non-zero values). Known objects missing from ``objects`` keep their prediction
                outside the mask.
            objects: ids annotated by ``mask``; new ids become new objects, in this order.
            end: last frame of the run; it is neither memorised nor used to update the sensory memory.
            permanent: store this masked frame in permanent memory (None: the ``permanent_masks`` option).
            write_memory: False for a frame that is already in permanent memory (fed again when a run
                reaches it): its mask still refreshes the sensory memory, but it is not stored twice.

        Returns:
            float32 (1 + K, H, W) probabilities in [0, 1] summing to 1 per pixel: background, then the K
            objects known so far in the order they were first given.
        """
        device = self.network.pixel_encoder.conv1.weight.device
        image = torch.as_tensor(image, device=device)
        if mask is not None:
            mask = torch.as_tensor(mask, device=device).long()
            objects = [int(x) for x in (objects if objects is not None else mask.unique().tolist()) if x != 0]
            if not objects:
                raise ValueError("a mask must annotate at least one object")
        elif not self.memory.engaged:
            raise ValueError("memory is empty: the first frame needs a mask")
        if permanent and mask is None:
            raise ValueError("only a frame given with a mask can be stored in permanent memory")
        self.t += 1
        keep = mask is not None and (self.permanent_masks if permanent is None else permanent)
        image, pad = pad_to_multiple(image)
        image = image[None].contiguous(memory_format=self._memory_format)
        is_mem = (self.t - self.last_mem_t >= self.mem_every or mask is not None) and not end
        exact = objects is not None and sorted(objects) == sorted(self.objects)
        need_segment = mask is None or (bool(self.objects) and not exact)
        update_sensory = (self.t - self.last_mem_t) in self.stagger and not end

        net = self.network
        ms, pix_feat = net.encode_image(image)
        key, shrinkage, selection = net.transform_key(ms[0])
        prob = None
        if need_segment:
            prob = self._segment(ms, pix_feat, key, selection, update_sensory, image.shape[-2:])
        if mask is not None:
            assert objects is not None
            prob = self._merge_mask(pad_to_multiple(mask)[0], objects, prob)
        assert prob is not None
        self.last_mask = prob[1:]
        if is_mem or keep:
            self._memorise(image, pix_feat, key, shrinkage, selection, keep, write_memory)
        self.last_flags = {"is_mem_frame": is_mem or keep, "segmented": need_segment,
                           "sensory_update": update_sensory and need_segment, "permanent": keep and write_memory}
        return unpad(prob, pad).float()

    def _segment(self, ms: tuple[Tensor, Tensor, Tensor], pix_feat: Tensor, key: Tensor, selection: Tensor,
                 update_sensory: bool, size: torch.Size) -> Tensor:
        """Read memory and decode every known object: (1 + K, H, W) padded probabilities."""
        if not self.memory.engaged:  # after clear_memory: nothing to read, objects start from zero
            return torch.softmax(aggregate(key.new_zeros((len(self.objects), *size)), dim=0)[0], dim=0)
        unmemorised = [obj for obj in self.objects if not self.memory.has(obj)]
        if unmemorised:
            raise ValueError(f"object {unmemorised[0]} was only given on a final (end=True) step and never "
                             "memorised; give its mask on a step that is not the last")
        h, w = key.shape[-2:]
        assert self.last_mask is not None
        query_key, query_sel = _rows(key), _rows(selection)
        readouts: dict[int, Tensor] = {}
        for bucket in self.memory.buckets:
            positions = [self.objects.index(obj) for obj in bucket.objects]
            with torch.autocast(key.device.type, enabled=False):
                visual = self.memory.read(bucket, query_key, query_sel)  # (HW, O * CV)
            visual = visual.T.reshape(len(positions), -1, h, w)
            sensory = torch.stack([self.memory.sensory[obj] for obj in bucket.objects])
            summaries = torch.stack([self.memory.summaries[obj] for obj in bucket.objects])
            pixel = self.network.pixel_fusion(pix_feat, visual, sensory, self.last_mask[positions])
            pixel, _ = self.network.readout_query(pixel, summaries)
            readouts.update(zip(bucket.objects, pixel, strict=True))
        readout = torch.stack([readouts[obj] for obj in self.objects])
        sensory = torch.stack([self.memory.sensory[obj] for obj in self.objects])
        new_sensory, _, prob = self.network.segment(ms, readout, sensory, update_sensory)
        if new_sensory is not None:
            self.memory.sensory.update(zip(self.objects, new_sensory, strict=True))
        return prob

    def _merge_mask(self, mask: Tensor, objects: list[int], prob: Tensor | None) -> Tensor:
        """Register new objects and soft-aggregate the given mask with the prediction of the others."""
        self.objects += [obj for obj in objects if obj not in self.objects]
        if prob is None:
            probs = torch.stack([(mask == obj).float() for obj in self.objects])
        else:
            probs = torch.zeros((len(self.objects), *mask.shape), device=mask.device)
            probs[:prob.shape[0] - 1] = prob[1:].float()
            probs[:, mask > 0] = 0
            for obj in objects:
                probs[self.objects.index(obj)] = (mask == obj).float()
        return aggregate(probs, dim=0)[1]

    def _memorise(self, image: Tensor, pix_feat: Tensor, key: Tensor, shrinkage: Tensor, selection: Tensor,
                  permanent: bool, write_memory: bool) -> None:
        """Encode the current mask of every object; store it (unless ``write_memory`` is False)."""
        assert self.last_mask is not None
        zeros = key.new_zeros((self.network.config.sensory_dim, *key.shape[-2:]), dtype=torch.float32)
        sensory = torch.stack([self.memory.sensory.get(obj, zeros) for obj in self.objects])
        value, sensory, summaries = self.network.encode_mask(image, pix_feat, sensory, self.last_mask)
        if write_memory:
            values = value.flatten(2).permute(2, 0, 1).float()  # (HW, K, CV)
            with torch.autocast(key.device.type, enabled=False):  # consolidation needs float32
                self.memory.add(_rows(key), _rows(shrinkage)[:, 0], _rows(selection), values, summaries.float(),
                                list(self.objects), permanent=permanent)
        self.memory.sensory.update(zip(self.objects, sensory.float(), strict=True))
        self.last_mem_t = self.t
