"""Every pair of overlapping serial ranges among millions: a sorted sweep in NumPy finds the few clusters
of ranges that overlap anything, and only those are walked pair by pair. O(n log n + pairs), never n².

Ranges are grouped by key (registry, block, action); within a group, sorted by first number, a range
overlaps an earlier one exactly when it starts at or before the largest last number seen so far. A run of
such ranges is a cluster; inside a cluster, each range overlaps exactly the earlier ones that are still
open (their last number reaches its first), which a heap of open ranges lists."""

from __future__ import annotations

import heapq
from typing import Sequence

import numpy as np

_INT64_MAX = 2**63 - 1


def overlapping_pairs(group: np.ndarray, first: Sequence[int], last: Sequence[int]) -> list[tuple[int, int]]:
    """Every pair (i, j) of indices into the inputs where range i overlaps range j, which is in the same
    group (an integer code per registry, block and action) and comes no later than i in (first, last)
    order. Serial numbers may be Python integers of any size."""
    n = len(first)
    if n < 2:
        return []
    f, l = _as_int64(first, last)
    group = np.asarray(group, dtype=np.int64)
    order = np.lexsort((l, f, group))
    g, f, l = group[order], f[order], l[order]
    starts_group = np.ones(n, dtype=bool)
    starts_group[1:] = g[1:] != g[:-1]
    reach = _grouped_running_max(l, starts_group)
    continues = np.zeros(n, dtype=bool)
    continues[1:] = ~starts_group[1:] & (f[1:] <= reach[:-1])  # overlaps something before it in its group
    cluster_start = np.flatnonzero(~continues)
    sizes = np.diff(np.append(cluster_start, n))
    pairs: list[tuple[int, int]] = []
    for start, size in zip(cluster_start[sizes > 1].tolist(), sizes[sizes > 1].tolist()):
        open_ranges: list[tuple[int, int]] = []  # (last, position) of the cluster's ranges still open
        for position in range(start, start + size):
            begins = int(f[position])
            while open_ranges and open_ranges[0][0] < begins:
                heapq.heappop(open_ranges)
            pairs += [(int(order[position]), int(order[earlier])) for _, earlier in open_ranges]
            heapq.heappush(open_ranges, (int(l[position]), position))
    return pairs


def _as_int64(first: Sequence[int], last: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """The numbers as int64; serials beyond it are replaced by their ranks among all the numbers, which
    keep every comparison the sweep makes (and so every overlap) exactly as it was."""
    if isinstance(first, np.ndarray) and isinstance(last, np.ndarray) and first.dtype.kind == last.dtype.kind == "i":
        return first.astype(np.int64, copy=False), last.astype(np.int64, copy=False)
    if max(max(first), max(last)) <= _INT64_MAX:
        return np.asarray(first, dtype=np.int64), np.asarray(last, dtype=np.int64)
    rank = {number: position for position, number in enumerate(sorted(set(first) | set(last)))}
    return np.fromiter((rank[x] for x in first), np.int64, len(first)), np.fromiter((rank[x] for x in last), np.int64, len(last))


def _grouped_running_max(values: np.ndarray, starts_group: np.ndarray) -> np.ndarray:
    """out[i] = the largest of values[group start .. i]: one global running maximum over values lifted so
    that each group lies above every earlier one (ranks, not the numbers, keep the lift inside int64)."""
    unique, rank = np.unique(values, return_inverse=True)
    lift = np.cumsum(starts_group, dtype=np.int64) * (len(unique) + 1)
    running = np.maximum.accumulate(rank.astype(np.int64) + lift)
    return unique[running - lift]
