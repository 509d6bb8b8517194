"""XMem's memory manager: readout from working + long-term memory, writes, consolidation and pruning.

Follows the official MemoryManager behaviour (README 6.3-6.6), including usage counting on every read and
its object-group pairing quirks, but never crashes where the official code does: pruning with nothing to
remove is a no-op and pruning with several object groups keeps each group's values aligned.

Extension (off unless a write asks for it): a **permanent** memory for user-annotated frames. Its
elements are read with every query (their columns come first, before long-term and working memory, in
one similarity and one top-k), but they have no usage counters, are never consolidation candidates, never
pruned and never evicted. While nothing is permanent, every code path is the official one.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from xmem_tui.inference.attention import column_usage, readout, similarity, topk_softmax
from xmem_tui.inference.memory import KeyValueStore

logger = logging.getLogger(__name__)

MAX_EVENTS = 256


class MemoryManager:
    """Working memory (recent frames) plus long-term memory (consolidated prototypes)."""

    def __init__(self, config: Mapping[str, Any], sparse_readout: bool = True) -> None:
        self.top_k = int(config["top_k"])
        self.long_term = bool(config["enable_long_term"])
        self.sparse = sparse_readout
        self.work = KeyValueStore(count_usage=self.long_term)
        self.long = KeyValueStore(count_usage=bool(config.get("enable_long_term_count_usage", True)))
        self.perm = KeyValueStore(count_usage=False)
        #: elements at the start of working memory that are never consolidated: the official first memory
        #: frame, unless that frame went to permanent memory (where it is kept anyway)
        self.protected = 0
        if self.long_term:
            self.max_frames = int(config["max_mid_term_frames"])
            self.min_frames = int(config["min_mid_term_frames"])
            self.num_prototypes = int(config["num_prototypes"])
            self.max_long = int(config["max_long_term_elements"])
        self.hw = 0
        self.cv = 0
        #: consolidation / pruning records (sizes before and after), newest last
        self.events: deque[dict[str, Any]] = deque(maxlen=MAX_EVENTS)

    # ------------------------------------------------------------------ read
    def match(self, query_key: Tensor, selection: Tensor | None) -> Tensor:
        """Read memory for every query pixel and object.

        Args:
            query_key: (HW, CK) float32; selection: (HW, CK) or None.

        Returns:
            (HW, O, CV) float32 readout, objects in label order.
        """
        perm = self.perm if self.perm.key is not None else None
        lt = self.long if (self.long_term and self.long.key is not None) else None
        blocks = [s for s in (perm, lt, self.work if self.work.key is not None else None) if s is not None]
        if not blocks:
            raise RuntimeError("memory is empty: the first frame needs a mask")
        if len(blocks) == 1:
            sim = similarity(blocks[0].key, blocks[0].shrinkage, query_key, selection)
        else:
            sim = similarity(torch.cat([b.key for b in blocks]), torch.cat([b.shrinkage for b in blocks]),
                             query_key, selection)
        n_p = 0 if perm is None else perm.size
        n_lt = 0 if lt is None else lt.size
        n = sim.shape[1]
        outs = []
        for gi, wv in enumerate(self.work.values):
            pv = perm.values[gi] if perm is not None and gi < perm.num_groups else wv[:0]
            lv = lt.values[gi] if lt is not None and gi < lt.num_groups else wv[:0]
            n_pg, n_l, n_w = pv.shape[0], lv.shape[0], wv.shape[0]
            if gi == 0 and n_pg == n_p and n_l == n_lt and n_w == n - n_p - n_lt:
                group_sim = sim
            else:
                group_sim = torch.cat([sim[:, n_p - n_pg:n_p], sim[:, n_p + n_lt - n_l:n_p + n_lt],
                                       sim[:, n - n_w:]], 1)
            weights, indices = topk_softmax(group_sim, self.top_k)
            if gi == 0 and self.long_term:  # permanent elements keep no usage: they are never candidates
                usage = column_usage(weights, indices, group_sim.shape[1])
                self.work.update_usage(usage[n_pg + n_l:])
                if lt is not None:
                    self.long.update_usage(usage[n_pg:n_pg + n_l])
            out = readout(weights, indices, [pv, lv, wv], sparse=self.sparse)
            outs.append(out.view(out.shape[0], -1, self.cv))
        return torch.cat(outs, 1)

    # ----------------------------------------------------------------- write
    def add(self, key: Tensor, shrinkage: Tensor | None, selection: Tensor | None, values: Tensor,
            objects: list[int], permanent: bool = False) -> None:
        """Write one memory frame: key (HW, CK), shrinkage (HW,), values (HW, O, CV).

        ``objects`` are the positions (0..K-1) of the objects in the label list, in increasing order.
        ``permanent`` stores the frame in permanent memory instead of working memory.
        """
        if self.hw == 0:
            self.hw, self.cv = key.shape[0], values.shape[2]
            self.protected = 0 if permanent else self.hw
        elif key.shape[0] != self.hw:
            raise ValueError(f"memory frames must keep their size ({key.shape[0]} != {self.hw} elements)")
        if permanent or self.perm.key is not None:
            self._align_groups(objects, values)
        if permanent:
            self.perm.add_frame(key, shrinkage, None, values, objects)
            return
        self.work.add_frame(key, shrinkage, selection if self.long_term else None, values, objects)
        if self.long_term and self.work.size >= self.max_frames * self.hw:
            target = self.max_long - self.num_prototypes
            if self.long.size >= target:
                self._prune(target)
            self._consolidate()

    def _align_groups(self, objects: list[int], values: Tensor) -> None:
        """Give permanent and working memory the same object groups (new objects form a new group in both),
        so that group ``g`` of one is read together with group ``g`` of the other."""
        base = self.work.groups if self.work.num_groups >= self.perm.num_groups else self.perm.groups
        known = [o for group in base for o in group]
        remaining = [o for o in objects if o not in known]
        if remaining and known and min(remaining) < max(known):
            raise ValueError("new objects must have larger labels than the objects already in memory")
        groups = [list(g) for g in base] + ([remaining] if remaining else [])
        for store in (self.work, self.perm):
            store.align_groups(groups, self.cv, values)

    def _prune(self, target: int) -> None:
        """Keep long-term elements whose usage is strictly above the (size - target)-th smallest."""
        before = self.long.size
        remove = before - target
        if remove <= 0:
            return  # the official code raises IndexError here; nothing needs removing
        if self.long.count_usage:
            usage = self.long.usage().cpu()  # at most max_long_term_elements; kthvalue lacks MPS support
            survived = usage > torch.kthvalue(usage, remove).values
        else:  # official: RuntimeError; keep the newest elements instead
            survived = torch.arange(before) >= remove
        self.long.keep_mask(survived.to(self.long.key.device))
        self.events.append({"event": "long_term_pruning", "long_size_before": before, "max_size": target,
                            "long_size_after": self.long.size})

    def _consolidate(self) -> None:
        """Turn the candidate frames of working memory into num_prototypes long-term elements."""
        hw, work, first = self.hw, self.work, self.protected
        # newest elements that stay in working memory (official: min_mid_term_frames frames with the first)
        tail = self.min_frames * hw - first
        size = work.size
        end = size - tail
        min_size = tail + 2 * first  # official: (min_mid_term_frames + 1) * HW
        cand_key, cand_s, cand_e = work.key[first:end], work.shrinkage[first:end], work.selection[first:end]
        n_c = cand_key.shape[0]
        cand_values: list[Tensor | None] = []
        for v in work.values:
            n_g = v.shape[0]
            full = n_g == size
            cand_values.append(v[first:n_g - tail] if full or n_g > min_size else None)
        usage = work.usage()[first:end]
        proto_idx = torch.topk(usage, k=min(self.num_prototypes, n_c), sorted=True).indices
        proto_key = cand_key[proto_idx]
        sim = similarity(cand_key, cand_s, proto_key, cand_e[proto_idx]).T  # (n_c, P)
        proto_values: list[Tensor | None] = []
        proto_s = None
        for gi, cv in enumerate(cand_values):
            if cv is None:
                proto_values.append(None)
                continue
            valid = proto_idx >= n_c - cv.shape[0]
            if not bool(valid.any()):
                proto_values.append(None)
                continue
            aff = torch.softmax(sim[n_c - cv.shape[0]:, valid], dim=0)  # (n_cg, P_valid)
            proto_values.append(aff.T @ cv)
            if gi == 0:
                proto_s = aff.T @ cand_s
        before_w, before_l = size, self.long.size
        work.remove_range(first, tail, min_size)
        self.long.add_prototypes(proto_key, proto_s, proto_values)
        self.events.append({"event": "consolidation", "work_size_before": before_w,
                            "long_size_before": before_l, "work_size_after": work.size,
                            "long_size_after": self.long.size,
                            "long_group_sizes_after": self.long.group_sizes()})
        logger.debug("consolidated %d -> %d working elements", before_w, work.size)
