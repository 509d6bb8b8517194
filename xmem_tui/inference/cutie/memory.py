"""Cutie's pixel memory: per-bucket working, permanent and long-term stores, consolidation and pruning.

Objects first memorised together form a *bucket*; each bucket keeps its own keys (a memory frame adds its
h*w keys to every bucket), so objects added later never pair with frames from before they existed. Per
bucket, as the official MemoryManager:

* the first memory frame of a bucket (and every frame written with ``permanent``) is **permanent**: always
  read, no usage counter, never consolidated or removed;
* later frames go to **working memory**, whose reads are counted (use / life) when long-term memory is on;
* once working memory holds ``max_mem_frames - 1`` frames, all but the newest ``min_mem_frames - 1`` are
  consolidated into ``num_prototypes`` long-term prototypes (the most used candidates, each value a
  softmax-weighted mix of the candidates'); before that, if long-term memory has reached
  ``max_num_tokens - num_prototypes`` elements, it is pruned to its ``max_num_tokens - num_prototypes -
  buffer_tokens`` most used elements (in order of usage, as the official top-k leaves them);
* without long-term memory, working memory is a FIFO of ``max_mem_frames - 1`` frames.

Each store is a :class:`~xmem_tui.inference.memory.KeyValueStore` with one object group (the bucket's
objects, side by side). Rows are memory elements: keys (n, CK), shrinkage (n,), values (n, O * CV).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from xmem_tui.inference.attention import column_usage, readout, similarity_official_order, topk_softmax
from xmem_tui.inference.memory import KeyValueStore


@dataclass
class Bucket:
    """The memory of objects first memorised together."""

    objects: list[int]
    perm: KeyValueStore
    work: KeyValueStore
    long: KeyValueStore

    def stores(self) -> list[KeyValueStore]:
        """Non-empty stores in the official reading order: long-term, permanent, working."""
        return [s for s in (self.long, self.perm, self.work) if s.key is not None]


@dataclass
class LongTermSettings:
    """The ``long_term`` section of the inference config, frames counted without the permanent one."""

    count_usage: bool
    max_frames: int
    min_frames: int
    num_prototypes: int
    max_tokens: int
    buffer_tokens: int

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> LongTermSettings:
        return cls(count_usage=bool(section["count_usage"]), max_frames=int(section["max_mem_frames"]) - 1,
                   min_frames=int(section["min_mem_frames"]) - 1, num_prototypes=int(section["num_prototypes"]),
                   max_tokens=int(section["max_num_tokens"]), buffer_tokens=int(section["buffer_tokens"]))


@dataclass
class PixelMemory:
    """All buckets of one video, plus the per-object summaries and sensory memory."""

    top_k: int
    long_term: LongTermSettings | None
    fifo_frames: int
    sparse: bool = True
    buckets: list[Bucket] = field(default_factory=list)
    #: accumulated object summaries (Q, C + 1) per object id: sums, then area
    summaries: dict[int, Tensor] = field(default_factory=dict)
    #: sensory memory (S, h, w) per object id
    sensory: dict[int, Tensor] = field(default_factory=dict)
    hw: int = 0

    @classmethod
    def from_config(cls, config: Mapping[str, Any], sparse: bool = True) -> PixelMemory:
        use_long = bool(config["use_long_term"])
        return cls(top_k=int(config["top_k"]),
                   long_term=LongTermSettings.from_config(config["long_term"]) if use_long else None,
                   fifo_frames=int(config.get("max_mem_frames", 5)) - 1, sparse=sparse)

    @property
    def engaged(self) -> bool:
        return bool(self.buckets)

    @property
    def work_tokens(self) -> int:
        """Working memory elements (permanent included), summed over buckets."""
        return sum(b.perm.size + b.work.size for b in self.buckets)

    @property
    def long_tokens(self) -> int:
        return sum(b.long.size for b in self.buckets)

    @property
    def perm_tokens(self) -> int:
        return sum(b.perm.size for b in self.buckets)

    def has(self, obj: int) -> bool:
        return any(obj in b.objects for b in self.buckets)

    # ------------------------------------------------------------------ read
    def read(self, bucket: Bucket, query_key: Tensor, selection: Tensor) -> Tensor:
        """Top-k readout of one bucket for every query position, counting usage when long-term is on.

        Args:
            query_key, selection: (HW, CK) float32.

        Returns:
            (HW, O * CV) float32, the bucket's objects side by side.
        """
        stores = bucket.stores()
        keys = torch.cat([s.key for s in stores]) if len(stores) > 1 else stores[0].key
        shrinkage = torch.cat([s.shrinkage for s in stores]) if len(stores) > 1 else stores[0].shrinkage
        weights, indices = topk_softmax(similarity_official_order(keys, shrinkage, query_key, selection), self.top_k)
        if self.long_term is not None:
            usage = column_usage(weights, indices, keys.shape[0])
            n_long, n_perm = bucket.long.size, bucket.perm.size
            bucket.work.update_usage(usage[n_long + n_perm:])
            if bucket.long.key is not None:
                bucket.long.update_usage(usage[:n_long])
        return readout(weights, indices, [s.values[0] for s in stores], sparse=self.sparse)

    # ----------------------------------------------------------------- write
    def add(self, key: Tensor, shrinkage: Tensor, selection: Tensor, values: Tensor, summaries: Tensor,
            objects: list[int], permanent: bool = False) -> None:
        """Write one memory frame of every object.

        Args:
            key, selection: (HW, CK) float32; shrinkage: (HW,).
            values: (HW, K, CV) float32 mask values; summaries: (K, Q, C + 1) float32; both for
                ``objects`` (ids, in the order of the channels).
            permanent: store the frame in every bucket's permanent memory (official ``force_permanent``).
        """
        if self.hw == 0:
            self.hw = key.shape[0]
        elif key.shape[0] != self.hw:
            raise ValueError(f"memory frames must keep their size ({key.shape[0]} != {self.hw} elements)")
        for i, obj in enumerate(objects):
            self.summaries[obj] = self.summaries[obj] + summaries[i] if obj in self.summaries else summaries[i]
        new = [obj for obj in objects if not self.has(obj)]
        if new:
            count = self.long_term is not None
            long_usage = self.long_term is not None and self.long_term.count_usage
            self.buckets.append(Bucket(new, KeyValueStore(count_usage=False), KeyValueStore(count_usage=count),
                                       KeyValueStore(count_usage=long_usage)))
        for bucket in self.buckets:
            columns = values[:, [objects.index(obj) for obj in bucket.objects]]
            positions = list(range(len(bucket.objects)))
            if permanent or bucket.perm.key is None:
                bucket.perm.add_frame(key, shrinkage, None, columns, positions)
            else:
                bucket.work.add_frame(key, shrinkage, selection if self.long_term else None, columns, positions)
            self._limit(bucket)

    def _limit(self, bucket: Bucket) -> None:
        """Consolidate (long-term on) or evict the oldest frames (off) when working memory is full."""
        lt = self.long_term
        if lt is None:
            limit = self.fifo_frames * self.hw
            if bucket.work.size > limit:
                bucket.work.remove_range(0, limit, 0)
            return
        if bucket.work.size < lt.max_frames * self.hw:
            return
        if bucket.long.size >= lt.max_tokens - lt.num_prototypes:
            self._prune(bucket.long, lt.max_tokens - lt.num_prototypes - lt.buffer_tokens)
        self._consolidate(bucket, lt.min_frames * self.hw, lt.num_prototypes)

    @staticmethod
    def _prune(long: KeyValueStore, keep: int) -> None:
        """Keep the ``keep`` most used long-term elements, most used first."""
        if long.size <= keep:
            return
        survivors = torch.topk(long.usage(), k=max(keep, 0), sorted=True).indices
        long.keep_mask(survivors)

    @staticmethod
    def _consolidate(bucket: Bucket, tail: int, num_prototypes: int) -> None:
        """Working memory except its newest ``tail`` elements -> ``num_prototypes`` long-term elements."""
        work = bucket.work
        end = work.size - tail
        key, shrinkage, selection = work.key[:end], work.shrinkage[:end], work.selection[:end]
        picked = torch.topk(work.usage()[:end], k=min(num_prototypes, end), sorted=True).indices
        # potentiation: each prototype's value and shrinkage are a softmax-weighted mix of the candidates
        affinity = torch.softmax(similarity_official_order(key, shrinkage, key[picked], selection[picked]), dim=1)
        values = affinity @ work.values[0][:end]
        proto_shrinkage = affinity @ shrinkage
        work.remove_range(0, tail, 0)
        bucket.long.add_prototypes(key[picked], proto_shrinkage, [values])
