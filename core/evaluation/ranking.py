"""Ranks of the positive entries of a score matrix within their labels, without a float sort.

The rank of a positive is 1 + #(greater scores of its label) + #(equal scores at a lower image
index): its position in a stable descending sort. Sorting 40M float scores is the slow part of mAP,
so each label's scores are reduced to 16-bit cells by an order-preserving integer key (subtracting
the label's minimum and shifting never reorders) and the cells are sorted with numpy's radix sort.
A positive alone in its cell gets its rank from the cell counts; the scores of a cell shared with a
positive are ranked exactly by their keys. Blocks of labels run on all cores (numpy releases the GIL).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = ["ordered_keys", "positive_ranks", "worker_count"]

_CELL_BITS = 16  # uint16 cells: numpy radix-sorts them
_BLOCK = 32  # labels per task (bounds temporary memory)


def ordered_keys(scores: np.ndarray, nonnegative: bool = False) -> np.ndarray:
    """Unsigned integers ordered like the float scores; -0.0 and +0.0 give equal keys.

    With ``nonnegative`` (every score >= 0) the float bits already sort correctly (cheaper).
    """
    bits = (scores + scores.dtype.type(0)).view(f"u{scores.dtype.itemsize}")  # + 0 turns -0.0 into +0.0
    return _keys_of_bits(bits, nonnegative)


def worker_count() -> int:
    """Threads for the label blocks: the CPUs this process may run on (at most 8)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(8, cpus))


def _keys_of_bits(bits: np.ndarray, nonnegative: bool) -> np.ndarray:
    """:func:`ordered_keys` of float bits (no -0.0 among them); nonnegative: the bits themselves."""
    if nonnegative:
        return bits
    sign = bits.dtype.type(1) << bits.dtype.type(8 * bits.dtype.itemsize - 1)
    return np.where(bits & sign, ~bits, bits | sign)


def _floats_of_keys(keys: np.ndarray, dtype: np.dtype, nonnegative: bool) -> np.ndarray:
    """The inverse of :func:`ordered_keys`."""
    if not nonnegative:
        sign = keys.dtype.type(1) << keys.dtype.type(8 * keys.dtype.itemsize - 1)
        keys = np.where(keys & sign, keys ^ sign, ~keys)
    return keys.view(dtype)


def positive_ranks(scores: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(label, rank)`` of every positive of ``targets`` (N x C bool) under ``scores`` (N x C float).

    Positives come back grouped by label (in no particular order within a label).
    """
    c = scores.shape[1]
    flat = np.flatnonzero(targets)
    image, label = np.divmod(flat, c)
    grouped = np.argsort(label, kind="stable")
    image, label = image[grouped], label[grouped]
    nonnegative = bool(scores.min(initial=0) >= 0)  # then the float bits sort like the floats
    starts = range(0, c, _BLOCK)
    bounds = np.searchsorted(label, [*starts, c])

    def block(b: int) -> tuple[np.ndarray, np.ndarray]:
        lo, hi, j0 = bounds[b], bounds[b + 1], starts[b]
        if lo == hi:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        columns = slice(j0, j0 + _BLOCK)
        col, rank = _block_ranks(
            scores[:, columns], targets[:, columns], label[lo:hi] - j0, image[lo:hi], nonnegative
        )
        return col + j0, rank

    with ThreadPoolExecutor(max_workers=worker_count()) as pool:
        parts = list(pool.map(block, range(len(starts))))
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]).astype(np.float64)


def _cells(scores: np.ndarray, nonnegative: bool) -> np.ndarray:
    """(labels x images) uint16 cells, non-decreasing in each label's scores.

    The sum of two order-preserving maps onto half the cells each: linear in the float bits (about
    logarithmic, good for scores crowded near zero) and linear in the score (good for evenly spread
    scores). A sum of non-decreasing maps never reorders.
    """
    half = _CELL_BITS - 1
    top = (1 << half) - 1
    values = scores + scores.dtype.type(0)  # a contiguous copy (fast reductions); -0.0 becomes +0.0
    keys = _keys_of_bits(values.view(f"u{values.dtype.itemsize}"), nonnegative)  # may share values' memory
    lo, hi = keys.min(axis=0), keys.max(axis=0)
    smallest, largest = (
        _floats_of_keys(lo, values.dtype, nonnegative),
        _floats_of_keys(hi, values.dtype, nonnegative),
    )
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf: NaN, handled below
        width = largest.astype(np.float64) - smallest
    linear = None
    if np.isfinite(width).all():  # with infinite scores the bits map works alone
        scale = np.divide(top, width, out=np.zeros_like(width), where=width > 0).astype(values.dtype)
        linear = values - smallest
        linear *= scale
        np.minimum(linear, top, out=linear)
        linear = linear.astype(keys.dtype)
    span = hi - lo
    shift = np.maximum(np.floor(np.log2(np.maximum(span.astype(np.float64), 1))) + 1 - half, 0)
    shift = shift.astype(keys.dtype)
    shift += (span >> shift) > top  # float log2 may be one bit short
    np.subtract(keys, lo, out=keys)
    np.right_shift(keys, shift, out=keys)
    if linear is not None:
        keys += linear
    cells = np.empty(keys.shape[::-1], dtype=np.uint16)
    cells[...] = keys.T  # < 2**16; one strided copy into label-major order
    return cells


def _block_ranks(
    scores: np.ndarray, targets: np.ndarray, col: np.ndarray, image: np.ndarray, nonnegative: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Ranks of the positives ``(image, col)`` of a block of labels (``scores``: images x labels)."""
    n = scores.shape[0]
    cells = _cells(scores, nonnegative)
    order = np.argsort(cells, axis=1, kind="stable")  # radix sort; equal cells keep image order
    cell = cells[col, image]
    left = _row_searchsorted(cells, order, col, cell)  # first position of the positive's cell
    after = np.minimum(left + 1, n - 1)
    alone = (left + 1 == n) | (cells[col, order[col, after]] != cell)  # the next score is in another cell
    right = left + 1
    if not alone.all():  # end of each shared cell: where the next cell starts (cells < 2**16, so + 1 fits)
        right[~alone] = _row_searchsorted(cells, order, col[~alone], cell[~alone].astype(np.int64) + 1)
    out_col, out_rank = [col[alone]], [n - right[alone] + 1]
    if not alone.all():
        # cells shared with other scores: rank all their scores by (key descending, image ascending)
        _, first = np.unique(col[~alone].astype(np.int64) << _CELL_BITS | cell[~alone], return_index=True)
        shared_col, start, stop = col[~alone][first], left[~alone][first], right[~alone][first]
        size = stop - start
        group = np.repeat(np.arange(len(size)), size)
        offset = np.arange(size.sum()) - np.repeat(np.cumsum(size) - size, size)
        member_col = shared_col[group]
        member = order[member_col, start[group] + offset]
        key = ordered_keys(scores[member, member_col], nonnegative)  # `keys` now hold cells
        by_rank = np.lexsort((member, ~key, group))
        group, member_col, member = group[by_rank], member_col[by_rank], member[by_rank]
        within = np.arange(len(group)) - np.searchsorted(group, group, side="left")
        positive = targets[member, member_col]
        out_col.append(member_col[positive])
        out_rank.append((n - stop[group] + within + 1)[positive])
    return np.concatenate(out_col), np.concatenate(out_rank)


def _row_searchsorted(
    rows: np.ndarray, order: np.ndarray, which: np.ndarray, value: np.ndarray
) -> np.ndarray:
    """``np.searchsorted(rows[w][order[w]], value[i])`` (side left) with ``w = which[i]``, for all i at once.

    A bisection (~log2 N steps) that reads the sorted rows through ``order``, so they are never built.
    """
    lo = np.zeros(len(which), dtype=np.int64)
    hi = np.full(len(which), rows.shape[1], dtype=np.int64)
    while (active := lo < hi).any():
        mid = (lo + hi) // 2
        probe = rows[which, order[which, np.minimum(mid, rows.shape[1] - 1)]]
        go_right = active & (probe < value)
        lo = np.where(go_right, mid + 1, lo)
        hi = np.where(active & ~go_right, mid, hi)
    return lo
