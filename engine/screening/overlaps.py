"""Overlapping serial ranges among millions, by a sorted sweep in NumPy: O(n log n), never pairwise.

Ranges are grouped by key (registry, block, action); within a group, sorted by first number, a range
overlaps an earlier one exactly when it starts at or before the largest last number seen so far. Each
overlapping range is reported once, with the earlier range that reaches furthest as its partner."""

from __future__ import annotations

import numpy as np


def overlapping(group: np.ndarray, first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Pairs (i, j) of indices into the inputs: range i overlaps range j, which is in the same group (an
    integer code per registry, block and action) and starts no later than i."""
    n = len(first)
    if n < 2:
        return np.empty((0, 2), dtype=np.int64)
    group = np.asarray(group, dtype=np.int64)
    first = np.asarray(first, dtype=np.int64)
    last = np.asarray(last, dtype=np.int64)
    order = np.lexsort((last, first, group))
    g, f, l = group[order], first[order], last[order]
    position = np.arange(n)
    # Running maximum of `last` that restarts in each group: the index of the reach-furthest range so far.
    starts_group = np.ones(n, dtype=bool)
    starts_group[1:] = g[1:] != g[:-1]
    furthest = np.empty(n, dtype=np.int64)
    _grouped_argmax_accumulate(l, starts_group, position, furthest)
    previous = np.empty(n, dtype=np.int64)
    previous[0] = -1
    previous[1:] = furthest[:-1]
    hit = ~starts_group & (f <= l[np.maximum(previous, 0)])
    return np.column_stack((order[hit], order[previous[hit]]))


def _grouped_argmax_accumulate(values: np.ndarray, starts_group: np.ndarray, position: np.ndarray, out: np.ndarray) -> None:
    """out[i] = index of the largest value in values[group start .. i] (the latest index on ties)."""
    group_start = np.maximum.accumulate(np.where(starts_group, position, 0))
    # Lift each group above every earlier one so one global running maximum restarts per group; ranks, not
    # the serial numbers themselves, keep the lifted values inside int64 whatever the serials are.
    _, rank = np.unique(values, return_inverse=True)
    lifted = rank.astype(np.int64) + np.cumsum(starts_group, dtype=np.int64) * (int(rank.max()) + 1)
    running = np.maximum.accumulate(lifted)
    candidates = np.where(lifted == running, position, group_start)
    np.maximum.accumulate(candidates, out=out)
