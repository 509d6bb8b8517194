"""One key-value memory (working, long-term or permanent) with object groups and usage counters.

Keys are shared by all objects; values are kept per *object group* (objects added to memory at the same
time). A group's values always cover the **last** n_g memory elements, which is how the official code pairs
them with keys (including its mis-pairings after consolidation, README 6.5 quirks 1 and 2).
"""

from __future__ import annotations

import torch
from torch import Tensor


def _keep(x: Tensor, start: int, tail: int) -> Tensor:
    """Rows [0, start) and the last ``tail`` rows."""
    return torch.cat([x[:start], x[x.shape[0] - tail:]], 0) if tail > 0 else x[:start]


class KeyValueStore:
    """Rows are memory elements: keys (N, CK), shrinkage (N,), selection (N, CK) or None, values per
    group (n_g, O_g*CV) with n_g <= N, usage counters (N,) when ``count_usage``."""

    def __init__(self, count_usage: bool) -> None:
        self.count_usage = count_usage
        self.key: Tensor | None = None
        self.shrinkage: Tensor | None = None
        self.selection: Tensor | None = None
        self.use_count: Tensor | None = None
        self.life_count: Tensor | None = None
        self.values: list[Tensor] = []
        self.groups: list[list[int]] = []  # object indices (label - 1) per group

    @property
    def size(self) -> int:
        return 0 if self.key is None else self.key.shape[0]

    @property
    def num_groups(self) -> int:
        return len(self.values)

    def group_sizes(self) -> list[int]:
        return [v.shape[0] for v in self.values]

    def _append(self, key: Tensor, shrinkage: Tensor | None, selection: Tensor | None) -> None:
        n = key.shape[0]
        cat = (lambda old, new: new if old is None else torch.cat([old, new], 0))  # noqa: E731
        self.key = cat(self.key, key)
        if shrinkage is not None:
            self.shrinkage = cat(self.shrinkage, shrinkage)
        if selection is not None:
            self.selection = cat(self.selection, selection)
        if self.count_usage:
            self.use_count = cat(self.use_count, key.new_zeros(n))
            self.life_count = cat(self.life_count, key.new_full((n,), 1e-7))

    def add_frame(self, key: Tensor, shrinkage: Tensor | None, selection: Tensor | None,
                  values: Tensor, objects: list[int]) -> None:
        """Working-memory write: ``values`` (HW, O, CV) for ``objects`` (positions in the label list).

        Existing groups append their objects' values; objects in no group form a new group, which must
        come after all existing objects (labels arrive in increasing order).
        """
        self._append(key, shrinkage, selection)
        remaining = list(objects)
        known: list[int] = []
        for gi, group in enumerate(self.groups):
            for obj in group:
                remaining.remove(obj)
            known += group
            self.values[gi] = torch.cat([self.values[gi], values[:, group].flatten(1)], 0)
        if remaining:
            if known and min(remaining) < max(known):
                raise ValueError("new objects must have larger labels than the objects already in memory")
            self.values.append(values[:, remaining].flatten(1).contiguous())
            self.groups.append(remaining)

    def align_groups(self, groups: list[list[int]], cv: int, like: Tensor) -> None:
        """Adopt the object groups ``groups`` (this store's own groups followed by newer ones).

        Used when permanent and working memory are written separately: both must number their groups the
        same way for the readout to pair them, so a group this store has no values for yet gets an empty
        block of width ``len(group) * cv`` (dtype/device of ``like``).
        """
        if [list(g) for g in groups[:self.num_groups]] != self.groups:
            raise ValueError(f"object groups {groups} do not extend this memory's groups {self.groups}")
        for group in groups[self.num_groups:]:
            self.values.append(like.new_zeros(0, len(group) * cv))
            self.groups.append(list(group))

    def add_prototypes(self, key: Tensor, shrinkage: Tensor, values: list[Tensor | None]) -> None:
        """Long-term write: per working-memory group, prototype values (n, O_g*CV) or None.

        A group may receive fewer rows than there are keys (official quirk 1); a missing group before a
        present one gets an empty block so group indices stay aligned with working memory.
        """
        self._append(key, shrinkage, None)
        for gi, gv in enumerate(values):
            if gv is None:
                continue
            while self.num_groups < gi:
                self.values.append(gv.new_zeros(0, gv.shape[1]))
            if gi < self.num_groups:
                self.values[gi] = torch.cat([self.values[gi], gv], 0)
            else:
                self.values.append(gv)

    def update_usage(self, usage: Tensor) -> None:
        """Accumulate one read: every element ages by one, used ones gain their attention weight."""
        if not self.count_usage or self.use_count is None or self.life_count is None:
            return
        self.use_count += usage
        self.life_count += 1

    def usage(self) -> Tensor:
        """Normalised usage use_count / life_count, (N,)."""
        if self.use_count is None or self.life_count is None:
            raise RuntimeError("usage is not counted in this memory")
        return self.use_count / self.life_count

    def remove_range(self, start: int, tail: int, min_size: int) -> None:
        """Keep elements [0, start) and the last ``tail``; groups shorter than ``min_size`` keep values."""
        for name in ("key", "shrinkage", "selection", "use_count", "life_count"):
            x = getattr(self, name)
            if x is not None:
                setattr(self, name, _keep(x, start, tail))
        self.values = [_keep(v, start, tail) if v.shape[0] >= min_size else v for v in self.values]

    def keep_mask(self, survived: Tensor) -> None:
        """Keep the elements where ``survived`` (N,) is true; each group keeps the matching tail rows.

        ``survived`` may also be int64 indices (which may reorder the elements) when every group covers all
        elements, as in Cutie's single-group stores.
        """
        n = self.size
        for name in ("key", "shrinkage", "selection", "use_count", "life_count"):
            x = getattr(self, name)
            if x is not None:
                setattr(self, name, x[survived])
        self.values = [v[survived[n - v.shape[0]:]] for v in self.values]
