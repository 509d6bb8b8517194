"""Frame-by-frame XMem inference with the official InferenceCore semantics (README 6.2).

``step`` is the whole algorithm for one frame: encode the key, read memory and decode (unless the frame is
fully annotated), merge a given mask, and write the frame into memory when it is a memory frame. The core
knows nothing about frame indices; propagating backwards is just feeding frames in reverse order.

Extension, off by default so the golden replay stays the official algorithm: with ``permanent_masks``
(or ``step(..., permanent=True)``) a frame given with a mask is stored in the memory manager's permanent
memory, which is always read and never consolidated, pruned or evicted (see :mod:`.manager`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from xmem_tui.inference.manager import MemoryManager
from xmem_tui.model.network import XMem, aggregate

logger = logging.getLogger(__name__)

REQUIRED_KEYS = ("top_k", "mem_every", "deep_update_every", "enable_long_term")
LONG_TERM_KEYS = ("max_mid_term_frames", "min_mid_term_frames", "num_prototypes", "max_long_term_elements")


def pad_to_multiple(x: Tensor, d: int = 16) -> tuple[Tensor, tuple[int, int, int, int]]:
    """Zero-pad the last two dims up to multiples of ``d``, smaller half first (top/left).

    Returns the padded tensor and (left, right, top, bottom).
    """
    h, w = x.shape[-2:]
    ph, pw = (-h) % d, (-w) % d
    pad = (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2)
    return (F.pad(x, pad) if ph or pw else x), pad


def unpad(x: Tensor, pad: tuple[int, int, int, int]) -> Tensor:
    """Crop what :func:`pad_to_multiple` added."""
    left, right, top, bottom = pad
    h, w = x.shape[-2:]
    return x[..., top:h - bottom, left:w - right]


def _check_config(net: XMem, config: Mapping[str, Any]) -> None:
    keys = REQUIRED_KEYS + (LONG_TERM_KEYS if config.get("enable_long_term") else ())
    missing = [k for k in keys if k not in config]
    if missing:
        raise ValueError(f"XMem inference config lacks {', '.join(missing)}")
    for name in ("key_dim", "value_dim", "hidden_dim"):
        if name in config and int(config[name]) != getattr(net.config, name):
            raise ValueError(f"config {name}={config[name]} but the network has {getattr(net.config, name)}")
    if config.get("enable_long_term") and int(config["min_mid_term_frames"]) >= int(config["max_mid_term_frames"]):
        raise ValueError("min_mid_term_frames must be smaller than max_mid_term_frames")


class InferenceCore:
    """Stateful XMem processor for one video: memory, hidden state, labels and the time step.

    Args:
        network: an :class:`XMem` in eval mode, on the device the inputs will be on.
        config: the official config keys (top_k, mem_every, deep_update_every, enable_long_term,
            enable_long_term_count_usage, max_mid_term_frames, min_mid_term_frames, num_prototypes,
            max_long_term_elements); key_dim/value_dim/hidden_dim may be present and must match the network.
        sparse_readout: multiply only the top-k weights (default on CPU); the dense product is the
            official formulation (kept for GPUs and as a benchmark baseline).
        permanent_masks: store every frame given with a mask in permanent memory (an extension; the
            official core, and the default, keeps them in working memory like any memory frame).
    """

    def __init__(self, network: XMem, config: Mapping[str, Any], sparse_readout: bool | None = None,
                 permanent_masks: bool = False) -> None:
        _check_config(network, config)
        self.network = network
        self.config = dict(config)
        self.mem_every = int(config["mem_every"])
        self.deep_update_every = int(config["deep_update_every"])
        self.deep_sync = self.deep_update_every < 0
        self.long_term = bool(config["enable_long_term"])
        self.sparse_readout = sparse_readout
        self.permanent_masks = bool(permanent_masks)
        self.all_labels: list[int] = []
        #: flags of the last step, for bookkeeping checks and progress displays
        self.last_flags: dict[str, bool] = {}
        self.clear_memory()

    def clear_memory(self) -> None:
        """Forget every frame and the hidden state; the time step restarts. Labels are kept."""
        self.t = -1
        self.last_mem_t = 0
        self.last_deep_t = -self.deep_update_every
        first = self.network.key_encoder.conv1.weight
        device = first.device
        # follow the network's layout (load_xmem makes it channels_last on CUDA, contiguous on the CPU)
        self._memory_format = (torch.channels_last if first.is_contiguous(memory_format=torch.channels_last)
                               else torch.contiguous_format)
        sparse = device.type == "cpu" if self.sparse_readout is None else self.sparse_readout
        self.memory = MemoryManager(self.config, sparse_readout=sparse)
        self.hidden: Tensor | None = None

    def set_all_labels(self, labels: Sequence[int]) -> None:
        """Declare every object label known so far (increasing; the official GUI uses 1..K).

        Channel i of masks and outputs is ``labels[i - 1]``; objects are memorised by position.
        """
        self.all_labels = [int(x) for x in labels]

    def _ensure_hidden(self, n: int, key: Tensor) -> None:
        """One zero-initialised hidden slot per label; new objects are appended at the end."""
        hd = self.network.config.hidden_dim
        if hd == 0:
            return
        zeros = key.new_zeros
        if self.hidden is None:
            self.hidden = zeros((n, hd, *key.shape[-2:]))
        elif self.hidden.shape[0] < n:
            extra = zeros((n - self.hidden.shape[0], hd, *key.shape[-2:]))
            self.hidden = torch.cat([self.hidden, extra], 0)

    @torch.inference_mode()
    def step(self, image: Tensor, mask: Tensor | None = None, valid_labels: Sequence[int] | None = None,
             end: bool = False, *, permanent: bool | None = None, write_memory: bool = True) -> Tensor:
        """Process the next frame.

        Args:
            image: float32 (3, H, W), ImageNet-normalised RGB, on the network's device.
            mask: optional float32 (K, H, W) per-object probabilities/one-hot in [0, 1] for channels 1..K of
                ``all_labels`` (no background channel).
            valid_labels: labels that ``mask`` really annotates (eval.py style: the other channels are
                taken from the prediction); None means all.
            end: last frame of the run; it is neither memorised nor used to update the hidden state.
            permanent: store this masked frame in permanent memory (None: the ``permanent_masks`` option).
            write_memory: False for a frame that is already in permanent memory (fed again when a run
                reaches it): it is processed as a memory frame (the hidden state is refreshed from its
                mask) but not stored twice.

        Returns:
            float32 (K+1, H, W) probabilities in [0, 1] summing to 1 per pixel, background first.
        """
        self.t += 1
        image, pad = pad_to_multiple(image)
        image = image.unsqueeze(0).contiguous(memory_format=self._memory_format)
        is_mem = (self.t - self.last_mem_t >= self.mem_every or mask is not None) and not end
        segment = self.t > 0 and (valid_labels is None or len(self.all_labels) != len(valid_labels))
        deep = ((self.deep_sync and is_mem) or (not self.deep_sync and self.t - self.last_deep_t >=
                                                self.deep_update_every)) and not end
        normal = (not self.deep_sync or not deep) and not end
        if not segment and mask is None:
            raise ValueError("the first frame (or a frame with nothing to segment) needs a mask")
        if mask is not None and mask.shape[0] != len(self.all_labels):
            raise ValueError(f"mask has {mask.shape[0]} channels for {len(self.all_labels)} labels")
        if permanent and mask is None:
            raise ValueError("only a frame given with a mask can be stored in permanent memory")
        keep = mask is not None and (self.permanent_masks if permanent is None else permanent)

        net = self.network
        key, shrinkage, selection, f16, f8, f4 = net.encode_key(
            image, need_sk=is_mem, need_ek=self.long_term or segment)
        prob = None
        if segment:
            readout = self._read(key, selection)
            new_hidden, _, prob = net.segment((f16, f8, f4), readout, self.hidden, h_out=normal)
            if normal and new_hidden is not None:
                self.hidden = new_hidden
        if mask is not None:
            prob = self._merge_mask(mask, pad, prob, valid_labels)
            self._ensure_hidden(len(self.all_labels), key)
        assert prob is not None
        if is_mem:
            value, hidden = net.encode_value(image, f16, self.hidden, prob[1:].to(f16.dtype), deep_update=deep)
            if write_memory:
                with torch.autocast(key.device.type, enabled=False):  # consolidation needs float32
                    self.memory.add(_rows(key), None if shrinkage is None else _rows(shrinkage)[:, 0],
                                    None if selection is None else _rows(selection), _object_rows(value),
                                    list(range(len(self.all_labels))), permanent=keep)
            self.last_mem_t = self.t
            if deep:
                self.hidden = hidden
                self.last_deep_t = self.t
        self.last_flags = {"is_mem_frame": is_mem, "is_deep_update": deep and is_mem, "segmented": segment,
                           "permanent": is_mem and keep and write_memory}
        return unpad(prob, pad).float()

    def _read(self, key: Tensor, selection: Tensor | None) -> Tensor:
        """Memory readout as (N, CV, h, w) for the decoder; attention always runs in float32."""
        h, w = key.shape[-2:]
        with torch.autocast(key.device.type, enabled=False):
            out = self.memory.match(_rows(key).float(), None if selection is None else _rows(selection).float())
        return out.permute(1, 2, 0).reshape(out.shape[1], out.shape[2], h, w)

    def _merge_mask(self, mask: Tensor, pad: tuple[int, int, int, int], prob: Tensor | None,
                    valid_labels: Sequence[int] | None) -> Tensor:
        """Soft-aggregate a given mask, after removing the prediction where the mask has objects."""
        mask, _ = pad_to_multiple(mask.float())
        if prob is not None:
            pred = prob[1:].float().clone()
            pred[:, mask.sum(0) > 0.5] = 0
            if valid_labels is not None:
                keep = [i for i in range(pred.shape[0]) if self.all_labels[i] not in valid_labels]
                mask = mask.clone()
                mask[keep] = pred[keep]
        return aggregate(mask, dim=0)[1]


def _rows(x: Tensor) -> Tensor:
    """(1, C, h, w) -> (h*w, C) float32 memory-element rows."""
    return x[0].flatten(1).T.float()


def _object_rows(v: Tensor) -> Tensor:
    """(N, C, h, w) per-object values -> (h*w, N, C) float32 memory-element rows."""
    return v.flatten(2).permute(2, 0, 1).float()
