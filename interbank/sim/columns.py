"""Column-wise forms of the per-bank x per-market array operations of the step.

The balance sheet keeps market positions as C-ordered ``float[n_banks, n_markets]`` with few
markets (2 by default). numpy's reductions and broadcasts over such a short inner axis pay a
per-row cost (a ``sum(axis=1)`` of 10,000 x 2 takes as long as a few dozen 10,000-element
ufuncs), so these helpers run one 1-D ufunc per market instead. Each returns exactly the
bits of the numpy expression it replaces (same operations in the same order):

- ``a.sum(axis=1)`` over fewer than 8 columns adds them left to right (numpy's pairwise
  summation only splits blocks of 8 or more); with more columns the helper calls numpy;
- ``a.sum(axis=0)`` of a C-ordered array accumulates the rows in order: the last row of a
  cumulative sum, per column;
- ``a * v`` (``v`` one value per column) and ``max(axis=1, initial=x)`` are exact elementwise;
- gathers and updates of rows or cells (``a[rows]``, ``a[rows, cols]``, ``a[rows, cols] += x``) move
  the same values: numpy copies a fancy-indexed row element block by block (``take`` copies it
  whole), and resolves two index arrays through a slower iterator than one flat index;
- ``np.maximum(a, 0.0)`` against a stored array of zeros (``positive_part``) is the same maximum,
  by numpy's faster loop for two arrays.
"""

from __future__ import annotations

import functools

import numpy as np

_SEQUENTIAL = 8  # numpy's pairwise summation leaves blocks shorter than this to a plain loop


def row_sums(a: np.ndarray) -> np.ndarray:
    """``a.sum(axis=1)`` for a 2-D float array, bit for bit for the inputs the core gives it (a row
    of only -0.0 sums to -0.0 here, +0.0 in numpy)."""
    m = a.shape[1]
    if m == 0 or m >= _SEQUENTIAL:
        return a.sum(axis=1)
    if m == 1:
        return a[:, 0].copy()
    out = a[:, 0] + a[:, 1]
    for j in range(2, m):
        out += a[:, j]
    return out


def column_sums(a: np.ndarray) -> np.ndarray:
    """``a.sum(axis=0)`` for a C-ordered 2-D float array (rows accumulated in order), bit for bit for
    the inputs the core gives it: a column of only -0.0 sums to -0.0 here (+0.0 in numpy), and which of
    two NaNs of different payload comes out may differ."""
    n, m = a.shape
    if n == 0 or m < 2 or not a.flags.c_contiguous:  # one column is contiguous: numpy sums it pairwise
        return a.sum(axis=0)
    if a.dtype == np.float64 and m % 2 == 0:
        # two adjacent float64 columns read as one complex128 column: its running sum adds the real
        # and imaginary parts apart, each in row order (the same bits), in one pass instead of two
        pairs = a.view(np.complex128)
        out = np.empty(m)
        for j in range(m // 2):
            total = np.add.accumulate(pairs[:, j])[-1]
            out[2 * j], out[2 * j + 1] = total.real, total.imag
        return out
    return np.array([np.add.accumulate(a[:, j])[-1] for j in range(m)], dtype=a.dtype)


def _per_column(op: np.ufunc, a: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``op(a, v)`` with ``v`` one value per column, as a new C-ordered array, a column at a time."""
    out = np.empty(a.shape, dtype=np.result_type(a, v))
    for j in range(a.shape[1]):
        op(a[:, j], v[j], out=out[:, j])
    return out


def scale_columns(a: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``a * v`` with ``v`` one factor per column, as a new C-ordered array."""
    return _per_column(np.multiply, a, v)


def row_max(a: np.ndarray, initial: float) -> np.ndarray:
    """``a.max(axis=1, initial=initial)``: the largest of ``initial`` and each row."""
    out = np.full(a.shape[0], initial, dtype=a.dtype)
    for j in range(a.shape[1]):
        np.maximum(out, a[:, j], out=out)
    return out


@functools.lru_cache(maxsize=8)
def _zeros(shape: tuple[int, ...]) -> np.ndarray:
    """float[shape] of zeros, read-only (one per shape, kept for ``positive_part``)."""
    zeros = np.zeros(shape)
    zeros.flags.writeable = False
    return zeros


def positive_part(a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``np.maximum(a, 0.0, out=out)`` for a float64 array, against a stored array of zeros of its
    shape: the same elementwise maximum (the same bits, NaN and -0.0 included), but numpy's loop for
    two arrays runs at about twice the speed of its loop for an array and a scalar."""
    return np.maximum(a, _zeros(a.shape), out=out)


def gather_rows(a: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``a[rows]`` of a 2-D array (a new C-ordered array), by ``take`` (which copies each row as one
    block: a third to a fifth of the time of a column at a time, and of the fancy index)."""
    return a.take(rows, axis=0)


def flat_cells(rows: np.ndarray, cols: np.ndarray, m: int) -> np.ndarray:
    """The positions of the cells ``(rows, cols)`` in the flat view of a C-ordered array of ``m``
    columns: ``at`` for ``gather_cells`` and ``update_cells``, worked out once for arrays of one shape."""
    return rows * m + cols


def gather_cells(a: np.ndarray, rows: np.ndarray, cols: np.ndarray, at: np.ndarray | None = None) -> np.ndarray:
    """``a[rows, cols]`` of a 2-D array, through its flat view when it is C-ordered (``at``: ``flat_cells``
    when the caller has them)."""
    if a.flags.c_contiguous:
        return a.reshape(-1)[flat_cells(rows, cols, a.shape[1]) if at is None else at]
    return a[rows, cols]


def update_cells(a: np.ndarray, rows: np.ndarray, cols: np.ndarray, op: np.ufunc, values: np.ndarray | float,
                 at: np.ndarray | None = None) -> None:
    """``a[rows, cols] = op(a[rows, cols], values)`` in place (distinct cells: what ``a[rows, cols]
    += values`` does), through the flat view when ``a`` is C-ordered (``at``: ``flat_cells`` when
    the caller has them)."""
    if a.flags.c_contiguous:
        flat = a.reshape(-1)  # a view: writing it writes ``a``
        at = flat_cells(rows, cols, a.shape[1]) if at is None else at
        flat[at] = op(flat[at], values)
    else:
        a[rows, cols] = op(a[rows, cols], values)
