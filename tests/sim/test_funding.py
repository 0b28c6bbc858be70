"""The funding market and the liquidity fallback, solved by hand.

Three banks, each: capital 10, leverage 10 -> assets 100; a loan book of 80 (book_share 0.8),
cash 20, deposits 90, no interbank loans, no markets, no interest or costs, no deposit flows.
Reserve requirement 10% of deposits; LEND offers lend_fraction 0.5 x (0.5 + risk 0.5) = 0.5 of
the cash above the requirement.

Step 1: B (bank_1) loses 20% of its deposits: deposits 72, cash 20 - 18 = 2, required 7.2,
so B requests 5.2. A (bank_0) LENDs: cash 20, required 9, spare 11, offer 5.5. C (bank_2)
holds. Matching: A and B have no loan yet, so a new connection A -> B of 5.2 (B gets exactly
what it asked for; A keeps the other 0.3). Price: the corridor runs from 0 (deposit facility)
to 2% (lending facility); demand 5.2 against supply 5.5 puts the market rate at
2% x 5.2 / 10.7 = 0.972%; B's leverage when priced: assets 2 + 80 = 82 over equity 10 = 8.2,
so B pays 0.972% + 0.1% x 8.2 = 1.792%.
"""

import numpy as np
import pytest

from interbank.envs import parallel_env
from interbank.sim import funding
from interbank.sim.actions import HOLD, LEND
from tests.sim.scenarios import everything_off

BANK = {"capital": 10, "target_leverage": 10, "risk": 0.5}
QUIET = everything_off(
    max_steps=5, banks=[BANK] * 3,
    balance_sheet={"book_share": 0.8},
    central_bank={"policy_rate": 0.01, "lending_rate": 0.02},
    funding={"spread_per_leverage": 0.001},
    regulation={"reserve_requirement": 0.1},
    actions={"lend_fraction": 0.5},
    shocks={"scheduled": [{"step": 1, "type": "deposit_withdrawal", "bank": 1, "size": 0.2}]},
)


def _step(config, actions):
    env = parallel_env(config, record_events=True)
    env.reset(seed=0)
    env.drain_events()
    env.step(dict(zip(env.possible_agents, actions)))
    return env, env.drain_events()


def test_surplus_bank_lends_to_deficit_bank_by_hand():
    env, events = _step(QUIET, [LEND, HOLD, HOLD])
    s = env.system
    led = s.ledger
    assert led.lender.tolist() == [0] and led.borrower.tolist() == [1]
    assert led.amount[0] == pytest.approx(5.2)
    assert s.market_rate == pytest.approx(0.02 * 5.2 / 10.7)
    assert led.rate[0] == pytest.approx(0.02 * 5.2 / 10.7 + 0.001 * 8.2)
    assert s.cash.tolist() == pytest.approx([14.8, 7.2, 20.0])
    assert s.equity().tolist() == pytest.approx([10, 10, 10])
    assert s.funding["unmet"].tolist() == pytest.approx([0, 0, 0])
    (tx,) = [e["data"] for e in events if e["type"] == "transaction"]
    assert (tx["bank"], tx["action"], tx["counterparty"]) == ("bank_0", "LEND", "bank_1")
    assert tx["amount"] == pytest.approx(5.2)
    (end,) = [e["data"] for e in events if e["type"] == "step_end"]
    assert end["totals"]["connections"] == 1 and end["totals"]["funding_matched"] == pytest.approx(5.2)


def test_nobody_receives_a_loan_it_did_not_request():
    # everybody lends: only B asks, so only B borrows, and no more than it asked
    env, _ = _step(QUIET, [LEND, HOLD, LEND])
    led = env.system.ledger
    assert set(led.borrower.tolist()) == {1}
    assert led.amount.sum() == pytest.approx(5.2)
    # without the withdrawal nobody asks, so LEND lends nothing
    calm = {**QUIET, "shocks": {"crash_prob": 0.0, "withdrawal_prob": 0.0}}
    env, events = _step(calm, [LEND, LEND, LEND])
    assert len(env.system.ledger) == 0
    assert all(e["data"]["amount"] == 0 and e["data"]["counterparty"] is None for e in events if e["type"] == "transaction")


def test_existing_counterparties_come_first():
    # lender 0 already lends to 2; both 1 and 2 request 4; 0 offers 5 and 3 offers 10
    request = np.array([0.0, 4.0, 4.0, 0.0])
    supply = np.array([5.0, 0.0, 0.0, 10.0])
    lender, borrower, amount = funding.match(request, supply, np.array([0]), np.array([2]), np.arange(4), np.zeros(4))
    got = {(int(a), int(b)): float(x) for a, b, x in zip(lender, borrower, amount)}
    # step 1 gives 0's supply to its existing borrower 2 (4 of 5); step 2 lines up 0 (1 left) then 3 for bank 1
    assert got == pytest.approx({(0, 2): 4.0, (0, 1): 1.0, (3, 1): 3.0})
    assert np.bincount(borrower, weights=amount, minlength=4) == pytest.approx(request)


@pytest.mark.parametrize("seed", range(5))
def test_matching_never_exceeds_requests_or_offers(seed):
    rng = np.random.default_rng(seed)
    n = 40
    request = np.where(rng.random(n) < 0.4, rng.exponential(5, n), 0.0)
    supply = np.where((request == 0) & (rng.random(n) < 0.5), rng.exponential(5, n), 0.0)
    edges = rng.integers(0, n, (2, 60))
    lender, borrower, amount = funding.match(request, supply, edges[0], edges[1], rng.permutation(n), rng.random(n))
    got = np.bincount(borrower, weights=amount, minlength=n)
    gave = np.bincount(lender, weights=amount, minlength=n)
    assert (got <= request + 1e-9).all() and (gave <= supply + 1e-9).all()
    assert got.sum() == pytest.approx(min(request.sum(), supply.sum()))
    assert (lender != borrower).all()


FALLBACK = {
    **QUIET,
    "balance_sheet": {"market_share": 0.1, "book_share": 0.7},  # markets 10 (0.1 x (0.5 + 0.5) x 100), cash 20
    "clearing": {"fire_sale_discount": 0.05, "book_discount": 0.3},
    "shocks": {"crash_prob": 0.0, "withdrawal_prob": 0.0,
               "scheduled": [{"step": 1, "type": "deposit_withdrawal", "bank": 1, "size": 0.5}]},
}
# B: deposits 90 -> 45, cash 20 - 45 = -25; nobody lends. Required reserves 4.5, so B is short 29.5.


def test_a_short_bank_uses_the_facility_before_a_fire_sale():
    env, events = _step(FALLBACK, [HOLD] * 3)
    s = env.system
    # facility first (a week at the penalty rate costs far less than a fire sale): capacity
    # 0.7 x 70 (book after a 30% haircut) + 0.5 x 10 (markets after 50%) = 54 >= 29.5
    assert s.cb_loans[1] == pytest.approx(29.5) and s.cash[1] == pytest.approx(4.5)
    assert s.investment_total()[1] == pytest.approx(10.0) and s.fire_sales == 0  # nothing fire-sold
    assert s.book[1] == pytest.approx(70.0)
    (cb,) = [e["data"] for e in events if e["type"] == "central_bank"]
    assert (cb["operation"], cb["bank"], cb["amount"]) == ("lending_facility", "bank_1", pytest.approx(29.5))
    assert s.equity()[1] == pytest.approx(10)  # no discount paid
    assert s.liquidity_sources["facility"] == pytest.approx(29.5) and s.liquidity_sources["fire_sale"] == 0
    assert s.active.all()


def test_without_a_central_bank_a_fire_sale_comes_before_the_book():
    # fire sale of all 10 of markets at 5% off: cash -15.5, then 15.5 / 0.7 of the book at 30% off
    env, _ = _step({**FALLBACK, "central_bank": {"enabled": False, "deposit_rate": 0.0, "policy_rate": 0.01,
                                                 "lending_rate": 0.02}}, [HOLD] * 3)
    s = env.system
    # cash -15.5 covered by selling 15.5 / 0.7 of the book
    assert s.book[1] == pytest.approx(70 - 15.5 / 0.7)
    assert s.cash[1] == pytest.approx(0.0)
    assert s.equity()[1] == pytest.approx(10 - 0.5 - 0.3 * 15.5 / 0.7)
    assert s.funding["unmet"][1] == pytest.approx(4.5 + 25)  # what it asked the market for: nobody lent
    assert s.active.all()


def test_a_bank_that_still_cannot_pay_defaults_by_illiquidity():
    config = {**FALLBACK, "central_bank": {"enabled": False, "deposit_rate": 0.0, "policy_rate": 0.01, "lending_rate": 0.02},
              "clearing": {"fire_sale_discount": 0.05, "book_discount": 0.9}}
    env, events = _step(config, [HOLD] * 3)
    # the whole book of 70 fetches 7 < 15.5
    (d,) = [e["data"] for e in events if e["type"] == "default"]
    assert (d["bank"], d["cause"]) == ("bank_1", "illiquidity")
    assert not env.system.active[1]


@pytest.mark.parametrize("requested, supplied, rate", [
    (0.0, 10.0, 0.01),  # plenty of liquidity, nobody short: the deposit facility (floor)
    (5.0, 5.0, 0.02),   # demand = supply: the middle of the symmetric corridor, the policy rate
    (10.0, 0.0, 0.03),  # nobody supplies: the lending facility (ceiling)
    (3.0, 1.0, 0.025),  # three quarters of the way up
])
def test_the_market_rate_is_set_by_scarcity_inside_the_corridor(requested, supplied, rate):
    assert funding.market_rate(requested, supplied, 0.01, 0.03) == pytest.approx(rate)


def test_no_loan_is_priced_above_the_lending_facility():
    # leverage 10 at 0.05% a unit is 0.5% over a market at 2.8%: capped at the 3% ceiling
    quotes = funding.quote(np.array([2.0, 10.0, np.inf]), 0.028, 0.0005, 0.2, 0.03)
    assert quotes.tolist() == pytest.approx([0.029, 0.03, 0.03])


def test_a_maturing_loan_is_repaid_out_of_spare_cash_and_the_rest_rolls_over():
    # A lent 30 to B and 10 to C, both due at step 1 (maturity 1); reserve requirement 10% of deposits,
    # B's working balance 1.5 x its requirement. B: cash 20 + 30 borrowed... see the figures below
    banks = [{"capital": 10, "target_leverage": 10, "risk": 0.5}] * 3
    config = everything_off(
        max_steps=3, banks=banks, network={"edges": [[0, 1, 30], [0, 2, 10]]},
        balance_sheet={"book_share": 0.6}, regulation={"reserve_requirement": 0.1},
        funding={"maturity": 1, "repay_buffer": 1.5},
    )
    env = parallel_env(config)
    env.reset(seed=0)
    s = env.system
    # B: assets 100 = book 60 + cash 40; borrowings 30, deposits 60 -> spare 40 - 1.5 x 6 = 31 >= 30
    # C: assets 100 = book 60 + cash 40; borrowings 10, deposits 80 -> spare 40 - 1.5 x 8 = 28 >= 10
    # A: assets 100 = loans 40 + book 60; deposits 90, cash 0 (its requirement 9 unmet until repaid)
    assert s.cash.tolist() == pytest.approx([0.0, 40.0, 40.0])
    env.step({a: HOLD for a in env.agents})
    assert len(s.ledger) == 0  # both repaid in full: borrowers keep no borrowed cash they do not need
    assert s.cash.tolist() == pytest.approx([40.0, 10.0, 30.0])
    # with less spare cash, B repays what it can and rolls the rest over
    env = parallel_env({**config, "regulation": {"reserve_requirement": 0.5}})
    env.reset(seed=0)
    s = env.system
    env.step({a: HOLD for a in env.agents})
    # B: spare 40 - 1.5 x 30 < 0: nothing repaid, the 30 rolls over; C: spare 40 - 1.5 x 40 < 0 too
    assert s.ledger.amount.tolist() == pytest.approx([30.0, 10.0]) and (s.ledger.due == 2).all()


def test_a_relationship_outlives_its_loan_for_the_memory_and_no_longer():
    rel = funding.Relationships(n=5, memory=3)
    rel.remember(np.array([0, 0, 1]), np.array([2, 2, 3]), t=0)  # pairs may repeat
    rel.remember(np.array([4]), np.array([2]), t=2)
    assert sorted(zip(*map(np.ndarray.tolist, rel.pairs(3)))) == [(0, 2), (1, 3), (4, 2)]
    rel.remember(np.array([1]), np.array([3]), t=4)  # dealt again: remembered from step 4
    assert sorted(zip(*map(np.ndarray.tolist, rel.pairs(4)))) == [(1, 3), (4, 2)]  # 0 -> 2 forgotten
    assert sorted(zip(*map(np.ndarray.tolist, rel.pairs(6)))) == [(1, 3)]
    assert len(rel) == 2  # forgotten pairs are dropped at the next remember, memory stays bounded
    off = funding.Relationships(n=5, memory=0)
    off.remember(np.array([0]), np.array([1]), t=0)
    assert len(off) == 0 and off.pairs(0)[0].size == 0


def test_the_pairs_asked_for_at_a_step_do_not_hide_the_pairs_remembered_then():
    rel = funding.Relationships(n=5, memory=2)
    rel.remember(np.array([0, 1]), np.array([2, 3]), t=0)
    assert sorted(zip(*map(np.ndarray.tolist, rel.pairs(3)))) == []  # both forgotten by step 3
    rel.remember(np.array([4, 1]), np.array([2, 3]), t=3)  # same step: the pairs worked out again
    assert sorted(zip(*map(np.ndarray.tolist, rel.pairs(3)))) == [(1, 3), (4, 2)]
    assert rel.last.tolist() == [3, 3] and len(rel) == 2


@pytest.mark.parametrize("fresh", [0, 3, 40])
def test_relationships_keep_the_last_step_each_pair_dealt_whether_few_or_many_pairs_are_new(fresh):
    """Against a dict of pair -> last step: known pairs get the new step, new pairs join in key
    order (a few are inserted run by run, many at once), pairs past the memory are forgotten; the
    same step's pairs reflect what was remembered then (no answer from before the remember)."""
    rng = np.random.default_rng(fresh)
    n, memory = 40, 5
    rel, expected = funding.Relationships(n=n, memory=memory), {}
    for t in range(12):
        known = list(expected)
        pick = [known[i] for i in rng.choice(len(known), min(len(known), 10), replace=False)] if known else []
        pairs = pick + [tuple(rng.integers(0, n, 2).tolist()) for _ in range(fresh)]
        lender = np.array([p[0] for p in pairs], np.int64)
        borrower = np.array([p[1] for p in pairs], np.int64)
        rel.pairs(t)  # the funding market asks first, then remembers the step's pairs
        rel.remember(lender, borrower, t)
        expected = {p: s for p, s in expected.items() if s >= t - memory} | {p: t for p in pairs}
        keys = sorted(expected, key=lambda p: p[0] * n + p[1])
        assert rel.key.tolist() == [p[0] * n + p[1] for p in keys]
        assert rel.last.tolist() == [expected[p] for p in keys]
        got = sorted(zip(*map(np.ndarray.tolist, rel.pairs(t))))
        assert got == sorted(p for p, s in expected.items() if s >= t - memory)


def test_the_tiers_follow_the_order_they_are_given_each_call():
    # matching under one order, then another, then the first again gives what each gives when it
    # comes first, and the ranks a caller keeps (the system's, drawn at reset) give the same
    rng = np.random.default_rng(4)
    n = 40
    request = np.where(rng.random(n) < 0.3, rng.uniform(1, 5, n), 0.0)
    supply = np.where(request == 0, rng.uniform(0, 3, n), 0.0)
    none = np.zeros(0, np.int64)
    orders = [rng.permutation(n), rng.permutation(n)]

    def run(order):
        return [x.tolist() for x in funding.match(request, supply, none, none, order, np.zeros(n), reach=0.1)]

    fresh = [run(order) for order in orders]
    assert fresh[0] != fresh[1]
    assert [run(orders[0]), run(orders[1]), run(orders[0])] == [fresh[0], fresh[1], fresh[0]]
    kept = [x.tolist() for x in funding.match(request, supply, none, none, orders[1], np.zeros(n), reach=0.1,
                                              lender_rank=funding.ranks_of(orders[1]))]
    assert kept == fresh[1]


def test_a_repaid_borrower_goes_back_to_its_recent_lender():
    # bank 0 lent to 1, repaid at step 1; at step 2 bank 1 is short again, and 0 and 3 both lend
    config = everything_off(
        max_steps=2, banks=[{"capital": 10, "target_leverage": 10, "risk": 0.5}] * 4,
        network={"edges": [[0, 1, 5]], "reach": 0.0}, balance_sheet={"book_share": 0.6},
        funding={"maturity": 1, "relationship_memory": 26},
    )
    env = parallel_env(config)
    env.reset(seed=0)
    s = env.system
    env.step({a: HOLD for a in env.agents})
    assert len(s.ledger) == 0  # repaid: no loan outstanding, but the relationship is remembered
    assert (0, 1) in set(zip(*map(np.ndarray.tolist, s.relationships.pairs(s.t))))
    request = np.array([0.0, 4.0, 0.0, 0.0])
    supply = np.array([5.0, 0.0, 0.0, 5.0])
    rl, rb = s.relationships.pairs(s.t)
    lender, borrower, amount = funding.match(request, supply, rl, rb, np.array([3, 0, 1, 2]), np.zeros(4))
    assert lender.tolist() == [0] and borrower.tolist() == [1] and amount.tolist() == pytest.approx([4.0])


def test_the_positions_of_lenders_that_reach_nobody_are_left_out_with_the_same_bits():
    # nested limits with a long run of lenders that may serve nobody (limit 0) first: the positions
    # kept are the whole line-up's p = S + min(0, cummin(bound - S)) to the last bit, those left out 0
    rng = np.random.default_rng(7)
    for lead in (0, 1, 5, 300):
        sup, req = rng.exponential(3.0, lead + 40), rng.exponential(5.0, 12)
        limit = np.concatenate([np.zeros(lead, np.int64), np.sort(rng.integers(0, 13, 40))])
        cs, cr = np.cumsum(sup), np.cumsum(req)
        whole = cs + np.minimum(0.0, np.minimum.accumulate(np.concatenate([[0.0], cr])[limit] - cs))
        first, kept, sums = funding._positions(sup, req, limit)
        assert kept.tobytes() == whole[first:].tobytes() and sums.tobytes() == cr.tobytes()
        assert (whole[:first] == 0).all() and first <= max(lead + (limit[lead:] == 0).sum() - 1, 0)


def test_the_untiered_line_up_looks_only_as_far_as_the_supply_covers_the_requests():
    # the first lenders in line hold dust: the head that covers the requests grows past them, and
    # the pieces are those of the whole line-up intersected at once
    rng = np.random.default_rng(3)
    n = 5000
    request = np.where(rng.random(n) < 0.01, rng.uniform(1, 5, n), 0.0)
    order = rng.permutation(n)
    supply = np.where(request == 0, rng.uniform(0, 3, n), 0.0)
    supply[order[:3000]] = np.where(request[order[:3000]] == 0, 1e-4, 0.0)
    none = np.zeros(0, np.int64)
    risk = rng.random(n)
    got = funding.match(request, supply, none, none, order, risk)
    lenders = order[supply[order] > funding._EPS]
    asking = (request > funding._EPS).nonzero()[0]
    borrowers = asking[np.argsort(risk[asking], kind="stable")]
    whole = funding._intersect(lenders, borrowers, supply[lenders], request[borrowers])
    assert [x.tobytes() for x in got] == [x.tobytes() for x in whole]
    assert np.bincount(got[0], minlength=n)[order[:3000]].sum() > 0  # the dust lenders did lend


def test_the_relationships_among_lending_and_asking_banks_are_their_pairs_filtered():
    rng = np.random.default_rng(11)
    n, memory = 30, 3
    rel = funding.Relationships(n=n, memory=memory)
    for t in range(10):
        rel.pairs(t)
        rel.remember(rng.integers(0, n, 25), rng.integers(0, n, 25), t)
        lends, asks = rng.random(n) < 0.5, rng.random(n) < 0.3
        lender, borrower = rel.pairs(t + 1)
        ok = lends[lender] & asks[borrower]
        got = rel.among(t + 1, lends, asks)
        assert [x.tolist() for x in got] == [lender[ok].tolist(), borrower[ok].tolist()]
        request = np.where(asks, rng.uniform(1, 5, n), 0.0)
        supply = np.where(lends & ~asks, rng.uniform(0, 3, n), 0.0)
        order = rng.permutation(n)
        by_pairs = funding.match(request, supply, lender, borrower, order, np.zeros(n), reach=0.5)
        none = np.zeros(0, np.int64)
        by_among = funding.match(request, supply, none, none, order, np.zeros(n), reach=0.5,
                                 known=lambda lending, asking: rel.among(t + 1, lending, asking))
        assert [x.tobytes() for x in by_among] == [x.tobytes() for x in by_pairs]


def test_a_forgotten_pair_dealt_again_before_the_sweep_is_remembered_once_from_then():
    # the pairs forgotten stay stored (unseen) until swept: dealt again meanwhile, a pair is back
    # in place with the new step, as if inserted anew, and readers never see the forgotten ones
    rel = funding.Relationships(n=10, memory=2)
    rel.remember(np.array([1, 2, 3]), np.array([4, 5, 6]), t=0)
    rel.remember(np.array([2]), np.array([5]), t=2)
    rel.remember(np.array([7]), np.array([8]), t=3)  # 1 -> 4 and 3 -> 6 forgotten (not yet swept)
    assert rel.key.tolist() == [25, 78] and rel.last.tolist() == [2, 3] and len(rel) == 2
    rel.remember(np.array([3]), np.array([6]), t=4)  # dealt again
    assert rel.key.tolist() == [25, 36, 78] and rel.last.tolist() == [2, 4, 3]
    assert sorted(zip(*map(np.ndarray.tolist, rel.pairs(5)))) == [(3, 6), (7, 8)]
    assert [x.tolist() for x in rel.among(5, np.ones(10, bool), np.ones(10, bool))] == [[3, 7], [6, 8]]
    for t in range(5, 5 + 2 * funding._SWEEP):
        rel.remember(np.array([9]), np.array([0]), t=t)
    assert rel._key.tolist() == [90] and rel.key.tolist() == [90]  # swept
