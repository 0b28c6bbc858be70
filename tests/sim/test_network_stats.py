"""Network measures solved by hand: density, Craig-von Peter error, power-law tail."""

import itertools

import numpy as np
import pytest

from interbank.sim import network_stats as ns


def _perfect(n_core: int, n: int):
    """A complete core 0..n_core-1; periphery bank p lends to and borrows from core bank p % n_core."""
    core = [(i, j) for i in range(n_core) for j in range(n_core) if i != j]
    per = [(p, p % n_core) for p in range(n_core, n)] + [(p % n_core, p) for p in range(n_core, n)]
    src, dst = np.array(core + per).T
    return src, dst


def test_density_counts_distinct_links_without_self_loops():
    src = np.array([0, 0, 1, 2, 2])
    dst = np.array([1, 1, 2, 2, 0])  # a repeated pair and a self-loop
    assert ns.density(src, dst, 4) == pytest.approx(3 / 12)


def test_a_perfect_core_periphery_network_has_error_zero():
    src, dst = _perfect(3, 12)
    cp = ns.core_periphery_error(src, dst, 12)
    assert cp.error == 0.0 and cp.core.tolist() == [0, 1, 2]


def test_error_of_a_small_network_counted_by_hand():
    # core {0, 1}: 0 -> 1 present, 1 -> 0 missing (1 error); periphery 2, 3, 4 with a link 3 -> 4 (1 error);
    # 0 lends to 2, 1 lends to 3 (rows fine); 2 lends to 0, nobody in the periphery lends to 1 (1 column error).
    src = np.array([0, 0, 1, 2, 3])
    dst = np.array([1, 2, 3, 0, 4])
    assert sum(ns._score(src, dst, np.isin(np.arange(5), [0, 1]))) == 3
    cp = ns.core_periphery_error(src, dst, 5)
    # the best core is {0} alone: 0 lends to 1 and 2 and borrows from 2; the periphery links 1 -> 3 and
    # 3 -> 4 are the only errors, 2 over 5 links (brute force over all 32 cores agrees)
    best = min(sum(ns._score(src, dst, np.array(c, bool))) for c in itertools.product([0, 1], repeat=5))
    assert best == 2 and cp.error == pytest.approx(2 / 5) and cp.core.tolist() == [0]


@pytest.mark.parametrize("seed", range(20))
def test_the_search_finds_no_worse_than_the_degree_prefix_and_no_better_than_the_optimum(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 8))
    adj = rng.random((n, n)) < rng.random()
    np.fill_diagonal(adj, False)
    src, dst = np.nonzero(adj)
    if src.size == 0:
        assert np.isnan(ns.core_periphery_error(src, dst, n).error)
        return
    best = min(sum(ns._score(src, dst, np.array(c, bool))) for c in itertools.product([0, 1], repeat=n))
    deg = np.bincount(src, minlength=n) + np.bincount(dst, minlength=n)
    order = np.lexsort((np.arange(n), -deg))
    prefix = min(sum(ns._score(src, dst, np.isin(np.arange(n), order[:k]))) for k in range(1, n + 1))
    plain, refined = ns.core_periphery_error(src, dst, n, refine=0), ns.core_periphery_error(src, dst, n)
    assert plain.error * src.size == pytest.approx(prefix)
    assert best / src.size - 1e-12 <= refined.error <= plain.error + 1e-12
    assert sum(refined.errors) == pytest.approx(refined.error * src.size)


def test_hurwitz_zeta_matches_known_values():
    assert ns.hurwitz_zeta(np.array(2.0), 1.0) == pytest.approx(np.pi ** 2 / 6, rel=1e-10)
    assert ns.hurwitz_zeta(np.array(3.0), 2.0) == pytest.approx(1.2020569031595942 - 1, rel=1e-10)


@pytest.mark.parametrize("alpha", [2.2, 2.5, 3.0])
def test_a_sampled_power_law_exponent_is_recovered(alpha):
    rng = np.random.default_rng(7)
    k = np.arange(1, 1_000_001)
    cdf = np.cumsum(k ** -alpha)
    x = np.searchsorted(cdf / cdf[-1], rng.random(5000)) + 1
    fit = ns.power_law_fit(x)
    assert fit.alpha == pytest.approx(alpha, abs=0.1)


def test_in_degree_tail_counts_distinct_lenders():
    src = np.array([1, 1, 2, 3])
    dst = np.array([0, 0, 0, 0])
    assert ns.in_degree_tail_exponent(src, dst, 4, min_tail=1).n_tail == 1
    assert np.isnan(ns.in_degree_tail_exponent(src, dst, 4).alpha)  # too short a tail
