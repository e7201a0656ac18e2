"""The ledger audit's overlap sweep (every overlapping pair) on millions of serial ranges: seconds for 1 and 10 million, in random order,
with a stated number of planted overlaps, and a check that exactly those are found.

    python benchmarks/overlaps.py
"""

from __future__ import annotations

import time

import numpy as np

from vericarbon.screening.overlaps import overlapping_pairs


def ranges(n: int, groups: int, planted: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, set[int]]:
    """n disjoint ranges of 10 credits in `groups` registry blocks, shuffled; `planted` of them moved onto a neighbour."""
    rng = np.random.default_rng(seed)
    group = np.arange(n) % groups
    slot = np.arange(n) // groups
    first = slot * 10 + 1
    last = first + 9
    moved = rng.choice(np.flatnonzero(slot % 2 == 1), planted, replace=False)  # odd slots: the one before never moves
    first[moved] -= 5  # now shares 5 credits with the previous range of its block
    last[moved] -= 5
    order = rng.permutation(n)
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n)
    return group[order], first[order], last[order], set(position[moved].tolist())


def main() -> None:
    print(f"{'ranges':>12}{'planted':>9}{'seconds':>9}  found")
    for n in (1_000_000, 10_000_000):
        group, first, last, moved = ranges(n, groups=1000, planted=1000)
        start = time.perf_counter()
        pairs = overlapping_pairs(group, first, last)
        seconds = time.perf_counter() - start
        found = {i for i, _ in pairs} | {j for _, j in pairs}
        exact = all(int(i) in moved or int(j) in moved for i, j in pairs) and len(pairs) == len(moved)
        print(f"{n:>12,}{len(moved):>9}{seconds:>9.2f}  {'exactly the planted overlaps' if exact else f'{len(pairs)} pairs'} ({len(found)} ranges involved)")


if __name__ == "__main__":
    main()
