"""The column-wise gathers and updates move the same bits as numpy's fancy indexing."""

import numpy as np
import pytest

from interbank.sim.columns import column_sums, gather_cells, gather_rows, positive_part, update_cells


def _arrays(seed: int, contiguous: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((50, 3)) * 1e3
    if not contiguous:  # a strided view: the flat form must not be used on it
        a = np.asfortranarray(a)
    rows = rng.choice(50, 17, replace=False)
    cols = rng.integers(0, 3, 17)
    values = rng.standard_normal((17, 3))
    return a, rows, cols, values


@pytest.mark.parametrize("contiguous", [True, False])
def test_gathers_read_what_fancy_indexing_reads(contiguous):
    a, rows, cols, _ = _arrays(0, contiguous)
    assert gather_rows(a, rows).tobytes() == np.ascontiguousarray(a[rows]).tobytes()
    assert gather_rows(a, rows).flags.c_contiguous
    assert gather_cells(a, rows, cols).tobytes() == a[rows, cols].tobytes()


def test_positive_part_gives_the_bits_of_its_numpy_expression():
    # NaN (with a payload), signed zeros and infinities included: the two-array loop is the same maximum
    a = np.array([1.5, -2.0, 0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, 3e-310, -3e-310] * 3)
    a[6] = np.frombuffer(np.uint64(0x7FF8000000000123).tobytes(), np.float64)[0]
    assert positive_part(a).tobytes() == np.maximum(a, 0.0).tobytes()
    out = a.copy()
    assert positive_part(out, out=out) is out and out.tobytes() == np.maximum(a, 0.0).tobytes()
    stacked = a.reshape(3, -1)
    assert positive_part(stacked).tobytes() == np.maximum(stacked, 0.0).tobytes()


@pytest.mark.parametrize("contiguous", [True, False])
@pytest.mark.parametrize("op", [np.add, np.subtract, np.multiply])
def test_cell_updates_write_in_place_what_fancy_indexing_writes(contiguous, op):
    a, rows, cols, values = _arrays(2, contiguous)
    expected = a.copy()
    expected[rows, cols] = op(expected[rows, cols], values[:, 0])
    same = a  # the update writes the array it is given, not a copy
    update_cells(a, rows, cols, op, values[:, 0])
    assert same is a and np.array_equal(a, expected)
    update_cells(a, rows, cols, np.multiply, 0.5)
    expected[rows, cols] *= 0.5
    assert np.array_equal(a, expected)


@pytest.mark.parametrize("m", [2, 3, 4, 5])
def test_column_sums_give_the_bits_of_numpys_row_order_sum(m):
    rng = np.random.default_rng(m)
    # magnitudes over 16 decades: any other order of the additions shows in the last bits
    a = rng.standard_normal((999, m)) * np.logspace(-8, 8, 999)[:, None]
    assert column_sums(a).tobytes() == a.sum(axis=0).tobytes()
    assert column_sums(a[:1]).tobytes() == a[:1].sum(axis=0).tobytes()
