"""The fitness network and the tiered funding market: sparse, core-periphery, fat-tailed."""

import numpy as np
import pytest

from interbank.config import NetworkConfig
from interbank.sim import funding, network_stats as ns
from interbank.sim.network import NETWORKS, fitness, fitness_ranks


@pytest.mark.parametrize("name", sorted(set(NETWORKS) - {"explicit"}))
def test_every_generator_is_sorted_without_self_loops_or_repeats(name):
    sizes = np.random.default_rng(1).lognormal(size=200)
    lender, borrower, amount = NETWORKS[name](200, NetworkConfig(type=name), np.random.default_rng(0), sizes=sizes)
    key = lender * 200 + borrower
    assert amount is None and (lender != borrower).all() and (np.diff(key) > 0).all()


def test_fitness_network_is_sparse_tiered_and_its_core_is_the_largest_banks():
    n = 200
    sizes = np.random.default_rng(3).lognormal(size=n)
    lender, borrower = fitness(n, 4.0, 2.5, 4.0, np.random.default_rng(0), sizes)
    rank = fitness_ranks(sizes, n)
    assert 0.01 <= ns.density(lender, borrower, n) <= 0.08
    assert np.bincount(lender, minlength=n).min() >= 1 and np.bincount(borrower, minlength=n).min() >= 1
    drawn = rank[lender] * rank[borrower] <= 4.0 * n
    assert drawn.mean() > 0.95  # within reach (a lonely bank of the lowest ranks may reach the top two banks)
    cp = ns.core_periphery_error(lender, borrower, n)
    assert cp.error <= 0.3
    assert np.median(rank[cp.core]) <= 0.1 * n  # the core is the largest banks


def test_tiered_match_keeps_small_pairs_apart_while_the_large_banks_can_absorb_the_flow():
    # ranks = index + 1; reach 1 with n = 6: pairs with rank product <= 6
    request = np.array([0.0, 0.0, 0.0, 0.0, 2.0, 3.0])  # banks 4, 5 (ranks 5, 6) ask
    supply = np.array([10.0, 0.0, 0.0, 4.0, 0.0, 0.0])  # bank 0 (rank 1) and bank 3 (rank 4) offer
    none = np.zeros(0, np.int64)
    lender, borrower, amount = funding.match(request, supply, none, none, np.arange(6), np.zeros(6), reach=1.0)
    got = {(int(a), int(b)): float(x) for a, b, x in zip(lender, borrower, amount)}
    # bank 3 may lend to nobody (4 x 5 > 6): bank 0 serves both
    assert got == pytest.approx({(0, 4): 2.0, (0, 5): 3.0})
    # untiered, the line-up would have paired bank 0 and then bank 3 with the borrowers by risk
    lender, borrower, amount = funding.match(request, supply, none, none, np.array([3, 0, 1, 2, 4, 5]), np.zeros(6))
    assert 3 in lender.tolist()


def test_what_the_tiers_cannot_absorb_is_still_lent():
    request = np.array([0.0, 0.0, 0.0, 0.0, 2.0, 3.0])
    supply = np.array([1.0, 0.0, 0.0, 4.0, 0.0, 0.0])
    none = np.zeros(0, np.int64)
    lender, borrower, amount = funding.match(request, supply, none, none, np.arange(6), np.zeros(6), reach=1.0)
    assert amount.sum() == pytest.approx(5.0)
    assert np.bincount(borrower, weights=amount, minlength=6) == pytest.approx(request)


@pytest.mark.parametrize("seed", range(10))
def test_tiered_pairs_get_the_largest_volume_their_reach_allows(seed):
    from scipy.optimize import linprog

    rng = np.random.default_rng(seed)
    n = 24
    request = np.where(rng.random(n) < 0.4, rng.exponential(5, n), 0.0)
    supply = np.where((request == 0) & (rng.random(n) < 0.5), rng.exponential(5, n), 0.0)
    order = rng.permutation(n)
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(1, n + 1)
    none = np.zeros(0, np.int64)
    lender, borrower, amount = funding.match(request, supply, none, none, order, rng.random(n), reach=1.0)
    tiered = rank[lender] * rank[borrower] <= n
    lenders, borrowers = np.flatnonzero(supply > 0), np.flatnonzero(request > 0)
    pairs = [(i, j) for i in lenders for j in borrowers if rank[i] * rank[j] <= n]
    if pairs:
        a_ub = np.zeros((lenders.size + borrowers.size, len(pairs)))
        for k, (i, j) in enumerate(pairs):
            a_ub[np.searchsorted(lenders, i), k] = a_ub[lenders.size + np.searchsorted(borrowers, j), k] = 1
        best = -linprog(-np.ones(len(pairs)), A_ub=a_ub, b_ub=np.r_[supply[lenders], request[borrowers]]).fun
    else:
        best = 0.0
    assert amount[tiered].sum() == pytest.approx(best, abs=1e-9)
    assert amount.sum() == pytest.approx(min(request.sum(), supply.sum()))


def _pieces(lender, borrower, amount):
    got: dict[tuple[int, int], float] = {}
    for a, b, x in zip(lender.tolist(), borrower.tolist(), amount.tolist()):
        got[(a, b)] = got.get((a, b), 0.0) + x
    return got


@pytest.mark.parametrize("capacity, carried", [(10.0, 3.0), (2.0, 2.0)])
def test_a_dealer_within_reach_of_both_carries_what_the_tiers_cannot(capacity, carried):
    # ranks = index + 1, reach 1, n = 6: bank 3 (rank 4) offers 4, bank 5 (rank 6) asks 3;
    # 4 x 6 > 6, so they may not deal directly; only bank 0 (rank 1) is within reach of both
    request = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 3.0])
    supply = np.array([0.0, 0.0, 0.0, 4.0, 0.0, 0.0])
    dealers = np.array([capacity, 50.0, 0.0, 0.0, 0.0, 0.0])  # bank 1 (rank 2): 2 x 6 > 6, out of reach
    none = np.zeros(0, np.int64)
    lender, borrower, amount = funding.match(request, supply, none, none, np.arange(6), np.zeros(6), reach=1.0,
                                             dealers=dealers)
    assert _pieces(lender, borrower, amount) == pytest.approx({(3, 0): carried, (0, 5): carried})
    net = np.bincount(borrower, weights=amount, minlength=6) - np.bincount(lender, weights=amount, minlength=6)
    assert net[0] == pytest.approx(0.0)  # the dealer's cash does not move


def test_without_a_dealer_in_reach_small_banks_do_not_deal():
    request = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 3.0])
    supply = np.array([0.0, 0.0, 0.0, 4.0, 0.0, 0.0])
    none = np.zeros(0, np.int64)
    dealers = np.array([0.0, 50.0, 50.0, 0.0, 0.0, 0.0])
    lender, _, _ = funding.match(request, supply, none, none, np.arange(6), np.zeros(6), reach=1.0, dealers=dealers)
    assert lender.size == 0  # the borrower goes to the central bank


@pytest.mark.parametrize("seed", range(10))
def test_with_dealers_every_new_link_is_within_reach_and_nobody_gets_more_than_asked(seed):
    rng = np.random.default_rng(seed)
    n = 40
    request = np.where(rng.random(n) < 0.4, rng.exponential(5, n), 0.0)
    supply = np.where((request == 0) & (rng.random(n) < 0.5), rng.exponential(5, n), 0.0)
    dealers = np.where(rng.random(n) < 0.7, rng.exponential(3, n), 0.0)
    order = rng.permutation(n)
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(1, n + 1)
    none = np.zeros(0, np.int64)
    lender, borrower, amount = funding.match(request, supply, none, none, order, rng.random(n), reach=1.0,
                                             dealers=dealers)
    assert (rank[lender] * rank[borrower] <= n).all()
    net = np.bincount(borrower, weights=amount, minlength=n) - np.bincount(lender, weights=amount, minlength=n)
    assert (net <= request + 1e-9).all() and (-net <= supply + 1e-9).all()
    carried = np.bincount(lender, weights=amount, minlength=n) - np.maximum(-net, 0.0)  # a dealer's outgoing leg
    assert (carried <= dealers + 1e-9).all()


def _dealt_through_every_dealer(lender, borrower, amount, order, rank, capacity, limit):
    """The dealers' routing with every bank's capacity lined up (the formulation before the
    capacity was asked only of the banks within reach)."""
    dealer = order[capacity[order] > funding._EPS]
    if dealer.size == 0 or amount.size == 0:
        return (np.zeros(0, np.int64),) * 2 + (np.zeros(0),)
    far = np.maximum(rank[lender], rank[borrower])
    line = np.argsort(-far, kind="stable")
    reachable = np.searchsorted(rank[dealer], np.floor(limit / far[line]), side="right")
    piece, via, carried = funding._intersect(line, dealer, amount[line], capacity[dealer], reachable)
    lo, bo = lender[piece], borrower[piece]
    direct = (via == lo) | (via == bo)
    return (np.concatenate([lo[direct], lo[~direct], via[~direct]]),
            np.concatenate([bo[direct], via[~direct], bo[~direct]]),
            np.concatenate([carried[direct], carried[~direct], carried[~direct]]))


@pytest.mark.parametrize("seed", range(40))
def test_dealers_asked_only_within_reach_route_exactly_as_with_every_capacity(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 60))
    order = rng.permutation(n)
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(1, n + 1)
    k = int(rng.integers(0, 12))
    lender, borrower = rng.integers(0, n, k), rng.integers(0, n, k)
    amount = rng.exponential(5, k)
    # scarce capacity near the top half the time, so that the banks within reach cannot carry it all
    capacity = np.where(rng.random(n) < 0.6, rng.exponential(rng.choice([0.5, 50.0]), n), 0.0)
    limit = float(rng.choice([1.0, 2.0, 4.0])) * n
    asked = []
    def capacity_of(banks):
        asked.append(banks.size)
        return capacity[banks]
    got = funding._intermediate(lender, borrower, amount, order, rank, capacity_of, limit)
    want = _dealt_through_every_dealer(lender, borrower, amount, order, rank, capacity, limit)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.tobytes() == w.tobytes()
    if k:
        assert asked[0] <= n


def test_explicit_edges_are_sorted_and_duplicate_pairs_summed():
    cfg = NetworkConfig(type="explicit", edges=[[2, 0, 5.0], [0, 1, 3.0], [2, 0, 1.5]])
    lender, borrower, amount = NETWORKS["explicit"](3, cfg, np.random.default_rng(0))
    assert list(zip(lender.tolist(), borrower.tolist(), amount.tolist())) == [(0, 1, 3.0), (2, 0, 6.5)]


@pytest.mark.parametrize("name", sorted(set(NETWORKS) - {"explicit"}))
def test_same_seed_same_network(name):
    draw = lambda: NETWORKS[name](100, NetworkConfig(type=name), np.random.default_rng(7), sizes=np.arange(1.0, 101.0))
    (l1, b1, _), (l2, b2, _) = draw(), draw()
    assert np.array_equal(l1, l2) and np.array_equal(b1, b2)
