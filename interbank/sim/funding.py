"""The interbank funding market: requests matched to LEND supply, priced by risk.

Notation (per bank i, dollars): ``request[i]`` what a bank short of its reserve
requirement asks for; ``supply[i]`` what a LEND-ing bank offers out of cash
above its own requirement. A bank never both requests and supplies.

Matching rule (vectorised: bincount, sort, cumsum, searchsorted; no loop over banks):

1. **Existing counterparties first.** For every pair (j -> i) that already has
   a loan outstanding, with j supplying and i requesting, lender j splits its
   supply over its requesting borrowers in proportion to their requests;
   borrower i accepts at most its request, scaling its offers down pro rata.
2. **Then new counterparties.** The remaining supply and requests are lined up
   and matched by intersecting their cumulative sums: the first lender fills
   the first borrowers until its supply is gone, and so on. Each piece is a new
   loan, so lending creates connections.

   *Tiered first* (``reach > 0``, the default scenarios): banks are ranked as
   counterparties by ``lender_order`` (rank 1 first; the system orders banks by
   initial capital, so larger, better-capitalised banks are preferred), and the
   new links i -> j with rank_i x rank_j <= ``reach`` x n are made first (a
   threshold fitness model, Caldarelli et al. 2002; De Masi, Iori & Caldarelli
   2006 for the Italian interbank market): the largest banks deal with everybody
   and with each other, two small banks only when the large ones cannot absorb
   the flow (Craig & von Peter 2014's tiering). Borrowers are lined up by rank,
   lenders most constrained first (the smallest lends to the largest borrowers),
   and a lender stops where its reach ends: the greedy that fills these nested
   constraints is the largest volume they allow.

   *Then anyone*: what is left -- everything when ``reach = 0`` -- is lined up
   with lenders in ``lender_order`` and borrowers safest first (lowest
   ``borrower_risk``), every pair allowed, so the market clears
   min(supply, requests).

Relationships come first (Afonso, Kovner & Schoar 2011: banks borrow repeatedly
from the same lenders), and new links go to the large banks, so the network stays
sparse and core-periphery over an episode instead of decaying to random. A
relationship outlives the loan: the "existing counterparties" of step 1 are the
pairs that dealt within the last ``memory`` steps (:class:`Relationships`), not
only those with a loan outstanding now. Cocco, Gomes & Martins (2009) find
Portuguese banks borrowing from lenders they dealt with in the recent past on
better terms and more readily, and Afonso, Kovner & Schoar (2011) that fed funds
borrowers concentrate on a few recent lenders: a repaid loan does not end the
relationship, so a bank that repays at maturity goes back to the same lenders
the next time it is short, and the network keeps its shape when loans are repaid.
Nobody receives more than it requested, and no lender gives more than it offered.
Pricing (annual rates). The market rate is set by scarcity inside the central
bank's corridor (Poole 1968; Bindseil 2014, ch. 3-4; Whitesell 2006): with
``D`` the requests and ``S`` the LEND supply of the step,

    market_rate = floor + (ceiling - floor) * D / (D + S)

from the deposit facility (``floor``: nobody short, a lender's alternative is
the facility) through the policy rate (D = S in a symmetric corridor) to the
lending facility (``ceiling``: nobody supplies). A borrower pays the market
rate plus ``min(spread_per_leverage * leverage, max_spread)`` (its leverage is
what a lender sees of its risk; Castillo's model prices pairwise loans from the
borrower's leverage the same way), and never more than the ceiling: a borrower
with collateral would go to the lending facility instead.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from interbank.sim.ledger import distinct_keys, run_starts

_EPS = 1e-12
_ORIGIN = np.zeros(1)  # where the cumulative sums start
_ORIGIN.flags.writeable = False


def scarcity(requested: float, supplied: float) -> float:
    """The funding market's scarcity D / (D + S): the share of requests in requests plus LEND
    supply, in [0, 1] (0 when nobody asks)."""
    return requested / (requested + supplied) if requested > 0 else 0.0


def market_rate(requested: float, supplied: float, floor: float, ceiling: float) -> float:
    """The annual market rate for the scarcity of the step: ``floor + (ceiling - floor) * D / (D + S)``
    (the floor when nobody asks)."""
    return floor + (ceiling - floor) * scarcity(requested, supplied)


def quote(leverage: np.ndarray, market: float, spread_per_leverage: float, max_spread: float,
          ceiling: float) -> np.ndarray:
    """Annual interbank rate for borrowers of the given leverage (inf or <= 0 leverage: the spread cap),
    ``market`` + the borrower's spread, never above ``ceiling``."""
    ok = np.isfinite(leverage) & (leverage > 0)
    spread = np.where(ok, spread_per_leverage * np.where(ok, leverage, 0.0), max_spread)
    return np.minimum(market + np.minimum(spread, max_spread), max(ceiling, market))


_FEW = 32  # up to this many insertions, ``Relationships.remember_keys`` copies the runs between them


def _insert_at(a: np.ndarray, points: list[int], values: np.ndarray) -> np.ndarray:
    """``np.insert(a, points, values)`` for a few non-decreasing ``points``: the runs of ``a``
    between them copied as slices (a boolean scatter of every entry costs several times more)."""
    if not points:
        return a
    pieces, start = [], 0
    for j, p in enumerate(points):
        pieces += [a[start:p], values[j:j + 1]]
        start = p
    pieces.append(a[start:])
    return np.concatenate(pieces)


_SWEEP = 8  # steps a forgotten pair may stay in ``Relationships``' arrays (unseen) before they are swept


class Relationships:
    """Who dealt with whom recently: the pairs (lender -> borrower) of the loans made or rolled
    over within the last ``memory`` steps, with the step of their last dealing.

    Kept as parallel arrays sorted by pair key (``lender * n + borrower``): ``key`` and ``last``
    (the step), so memory is O(pairs dealt in ``memory`` steps) and every operation a sort or
    a merge over them (no loop over banks); ``pairs`` splits the keys of the pairs alive, ``among``
    those of the lending banks only.
    ``memory = 0`` keeps nothing: the counterparties are then only the pairs with a loan
    outstanding (the ledger), as before relationships outlived their loans.

    The pairs forgotten are left in the stored arrays (``_key``, ``_last``) for up to ``_SWEEP``
    steps and swept out together: every reader sees only the pairs alive (``key`` and ``last``
    are those as of the last ``remember``), and a forgotten pair dealt again gets the new step
    in place, where it would be inserted anew.
    """

    def __init__(self, n: int, memory: int) -> None:
        self.n, self.memory = int(n), int(memory)
        self._key = np.zeros(0, np.int64)
        self._last = np.zeros(0, np.int64)
        self._t: int | None = None  # the step of the last ``remember``
        self._swept: int | None = None  # every pair stored was last dealt at this step or later
        self._alive: tuple[int, np.ndarray, np.ndarray, np.ndarray] | None = None  # see ``alive``

    @property
    def key(self) -> np.ndarray:
        """int64: the keys of the pairs alive as of the last ``remember``, sorted (read only)."""
        return self.alive(self._t)[0] if self._t is not None else self._key

    @property
    def last(self) -> np.ndarray:
        """int64: the step each of the pairs ``key`` last dealt (read only)."""
        return self.alive(self._t)[1] if self._t is not None else self._last

    def __len__(self) -> int:
        return int(self.key.size)

    def remember(self, lender: np.ndarray, borrower: np.ndarray, t: int) -> None:
        """The pairs dealt at step ``t`` (new loans and rollovers; pairs may repeat); pairs
        last dealt more than ``memory`` steps before ``t`` are forgotten."""
        if self.memory <= 0:
            return
        self.remember_keys(distinct_keys(np.asarray(lender, np.int64) * self.n + np.asarray(borrower, np.int64)), t)

    def remember_keys(self, new: np.ndarray, t: int) -> None:
        """``remember`` with the pairs given as their keys ``lender * n + borrower``, sorted and distinct."""
        if self.memory <= 0:
            return
        key, last = self._key, self._last.copy()  # (a reader may hold the arrays: not written)
        self._alive = None  # the keys may stay the same array below: ``alive`` must not answer from before
        # a sorted merge: known pairs (forgotten ones too) get the new step, the others are inserted in order
        at = np.searchsorted(key, new)
        # a new key is known where the key at its insertion point is itself (past the end: not)
        known = key.take(at, mode="clip") == new if key.size else np.zeros(new.size, bool)
        last[at[known]] = t
        unknown = ~known
        added = new[unknown]
        if added.size <= _FEW:  # most pairs dealt are known (relationships repeat): a few to insert
            points = at[unknown].tolist()
            key = _insert_at(key, points, added)
            last = _insert_at(last, points, np.full(added.size, t, np.int64))
        else:
            # np.insert of the unknown pairs into both arrays, its positions computed once: ``new`` is
            # sorted, so the insertion points are non-decreasing and the k-th lands k places further on
            pos = at[unknown] + np.arange(added.size)
            old = np.ones(key.size + added.size, dtype=bool)
            old[pos] = False
            merged_key, merged_last = np.empty(old.size, np.int64), np.empty(old.size, np.int64)
            merged_key[pos], merged_key[old] = added, key
            merged_last[pos], merged_last[old] = t, last
            key, last = merged_key, merged_last
        self._key, self._last, self._t = key, last, t
        if self._swept is None or t - self.memory - self._swept >= _SWEEP:
            fresh = last >= t - self.memory
            if not fresh.all():
                self._key, self._last = key[fresh], last[fresh]
            self._swept = t - self.memory

    def alive(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """(``key``, ``last``) of the pairs last dealt within ``memory`` steps of step ``t`` (the
        arrays stored themselves when all are): worked out once for a step and again once the
        keys change. Readers must not write them."""
        cached = self._alive
        if cached is not None and cached[0] == t and cached[1] is self._key:
            return cached[2], cached[3]
        fresh = self._last >= t - self.memory
        key, last = (self._key, self._last) if fresh.all() else (self._key[fresh], self._last[fresh])
        self._alive = (t, self._key, key, last)
        return key, last

    def among(self, t: int, lends: np.ndarray, asks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(lender, borrower) of the relationships alive at step ``t`` whose lender lends and whose
        borrower asks (``lends``, ``asks``: bool per bank), in key order: ``pairs(t)`` filtered, with
        the borrowers and the freshness worked out for the lending banks' pairs only."""
        if self.memory <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        lender = self._key // self.n
        hit = lends[lender].nonzero()[0]
        lender = lender.take(hit)
        borrower = self._key.take(hit) - lender * self.n
        hit = (asks[borrower] & (self._last.take(hit) >= t - self.memory)).nonzero()[0]
        return lender.take(hit), borrower.take(hit)

    def pairs(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """(lender, borrower) of the relationships still alive at step ``t``, in key order."""
        key = self.alive(t)[0] if self.memory > 0 else self._key
        lender = key // self.n
        return lender, key - lender * self.n


def _distinct(x: np.ndarray) -> np.ndarray:
    """``np.unique(x)`` (``x`` is sorted in place) for a float array without NaN made of a few sorted runs (the cumulative
    sums): the stable sort merges the runs in near-linear time, and equal values are equal bits
    (no -0.0 here: the sums start at 0.0 and add non-negative amounts), so the result is the same."""
    x.sort(kind="stable")
    return x[run_starts(x)]


def _positions(sup: np.ndarray, req: np.ndarray, limit: np.ndarray | None) -> tuple[int, np.ndarray, np.ndarray]:
    """(first, cumulative positions of the lenders from ``first`` on, cumulative requests):
    ``_intersect``'s line-up (supplies non-negative). The leading lenders whose ``limit`` is 0 may
    serve nobody: their positions stay at 0.0 (S - S) and cut nothing, so all but the last are left
    out; the running minimum of ``bound - S`` starts from theirs, -S of the last of them (S never
    goes down), so the positions kept are those of the whole line-up to the last bit."""
    cs, cr = sup.cumsum(), req.cumsum()
    if limit is None:
        return 0, cs, cr
    first = max(int(limit.searchsorted(0, side="right")) - 1, 0)
    bound = np.concatenate((_ORIGIN, cr))[limit[first:]]
    low = np.minimum.accumulate(bound - cs[first:])
    if first:
        np.minimum(low, 0.0 - cs[first - 1], out=low)
    return first, cs[first:] + np.minimum(0.0, low), cr


def _cut(lenders: np.ndarray, borrowers: np.ndarray, cs: np.ndarray, cr: np.ndarray
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pieces of the line-up ``_positions`` made: where the cumulative sums cross."""
    total = min(cs[-1], cr[-1])
    cuts = _distinct(np.concatenate((_ORIGIN, cs[cs < total], cr[cr < total], np.minimum(cs[-1:], cr[-1:]))))
    size = cuts[1:] - cuts[:-1]  # (``np.diff``'s arithmetic, without its checks)
    mid = cuts[:-1] + 0.5 * size
    keep = size > _EPS * max(1.0, total)
    mid = mid[keep]
    li = np.minimum(cs.searchsorted(mid, side="right"), lenders.size - 1)
    bi = np.minimum(cr.searchsorted(mid, side="right"), borrowers.size - 1)
    return lenders[li], borrowers[bi], size[keep]


def _intersect(
    lenders: np.ndarray, borrowers: np.ndarray, sup: np.ndarray, req: np.ndarray, limit: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lenders and borrowers in line, matched by intersecting cumulative supply and requests.

    ``limit[l]``: lender l may serve only the first ``limit[l]`` borrowers (non-decreasing
    along the lenders, so the constraints are nested); it stops where they end. Its
    cumulative position is then p_l = min(p_{l-1} + s_l, requests of those borrowers), which
    unrolls to p = S + min(0, cummin(bound - S)) with S the cumulative supply: the greedy
    that serves the most constrained lenders first, the largest volume the limits allow.
    """
    first, cs, cr = _positions(sup, req, limit)
    return _cut(lenders[first:], borrowers, cs, cr)


def _intermediate(
    lender: np.ndarray, borrower: np.ndarray, amount: np.ndarray, order: np.ndarray, rank: np.ndarray,
    capacity: np.ndarray | Callable[[np.ndarray], np.ndarray], limit: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Route the pieces (lender, borrower, amount) that the tiers could not match through dealers.

    ``order``: the banks by rank (rank 1 first), ``rank`` its inverse; ``capacity``: per bank,
    or a function giving the capacity of the banks it is given (only those within reach are
    asked, see below).
    A dealer d may carry a piece when it is within reach of both ends (rank_d x max(rank_l,
    rank_b) <= ``limit``) and has ``capacity`` left. Dealers are lined up by rank (the largest
    first) and the pieces most constrained first (the smallest end first), and matched by the
    same nested-limit intersection as the tiered pairs: the largest volume the reach and the
    capacities allow. Each carried dollar becomes two loans, lender -> dealer and dealer ->
    borrower; what no dealer can carry is not lent (the borrower goes to the central bank).
    A piece whose end is itself the chosen dealer is lent directly.
    """
    capacity_of = capacity.__getitem__ if isinstance(capacity, np.ndarray) else capacity
    none = (np.zeros(0, np.int64),) * 2 + (np.zeros(0),)
    if amount.size == 0:
        return none
    far = np.maximum(rank[lender], rank[borrower])
    line: np.ndarray | None = None  # the pieces, most constrained first: sorted once a dealer is found
    # only the banks ranked within reach of the nearest piece can carry: the dealers after them
    # add cumulative capacity beyond every piece's bound, which changes no cut as long as the
    # line-up ends within the capacity of those asked (checked; else all are asked, as before)
    near = order[:min(order.size, int(np.floor(limit / far.min())))]
    for banks in (near, order):
        cap = capacity_of(banks)
        has = cap > _EPS
        dealer, cap = banks[has], cap[has]  # by rank (``order``: the banks, rank 1 first)
        if dealer.size == 0:  # nobody within reach of any piece: nothing is carried
            return none
        if line is None:
            line = np.argsort(-far, kind="stable")
        reachable = np.searchsorted(rank[dealer], np.floor(limit / far[line]), side="right")
        first, cs, cr = _positions(amount[line], cap, reachable)
        if banks is order or cs[-1] <= cr[-1] or near.size == order.size:
            break
    piece, via, carried = _cut(line[first:], dealer, cs, cr)
    lo, bo = lender[piece], borrower[piece]
    direct = (via == lo) | (via == bo)
    hop = ~direct
    return (np.concatenate([lo[direct], lo[hop], via[hop]]), np.concatenate([bo[direct], via[hop], bo[hop]]),
            np.concatenate([carried[direct], carried[hop], carried[hop]]))


def ranks_of(order: np.ndarray) -> np.ndarray:
    """int64[n]: the rank of each bank in ``order`` (1 for ``order[0]``)."""
    rank = np.empty(order.size, np.int64)
    rank[order] = np.arange(1, order.size + 1)
    return rank


def _drop_dust(left: np.ndarray, banks: np.ndarray, start: np.ndarray) -> None:
    """``left[left < _EPS * max(1, start)] = 0`` (rounding dust of a round of matching), tested on
    ``banks`` only, among them those the round moved: every other entry is still 0 or its start,
    which is above the threshold (``match`` keeps only starts above ``_EPS``), or was tested before."""
    left[banks[left[banks] < _EPS * np.maximum(1.0, start[banks])]] = 0.0


def _leading(line: np.ndarray, sup: np.ndarray, need: float) -> tuple[np.ndarray, np.ndarray]:
    """The banks of ``line`` with supply left (``sup`` > 0), in line, with their cumulative supply:
    a head of them whose supply reaches ``need`` (the requests' total; all when none does), found
    in growing heads of the line. ``_cut`` gives the same pieces for it as for all of them: the
    cumulative sums of a head are those of the whole line (the sum is sequential and never goes
    down), no cut lies beyond the total, and no piece's midpoint past the head's last sum."""
    head = 64
    while True:
        banks = line[:head]
        banks = banks[sup[banks] > 0]
        cs = sup[banks].cumsum()
        if head >= line.size or (cs.size and cs[-1] >= need):
            return banks, cs
        head *= 8


def match(
    request: np.ndarray, supply: np.ndarray, loan_lender: np.ndarray, loan_borrower: np.ndarray,
    lender_order: np.ndarray, borrower_risk: np.ndarray, reach: float = 0.0,
    dealers: np.ndarray | Callable[[np.ndarray], np.ndarray] | None = None,
    lender_rank: np.ndarray | None = None,
    known: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """New loans (lender, borrower, amount) matching ``supply`` to ``request``.

    ``loan_lender``/``loan_borrower``: the existing counterparties (pairs may repeat): the
    outstanding loan records and/or the recent relationships (:class:`Relationships`);
    ``lender_order``: a permutation of the banks, the most attractive counterparty
    first (untiered: the order in which step 2 lines up lenders); ``borrower_risk``:
    per bank, lower is served first in step 2 when untiered (ties by index);
    ``reach``: the tiering of new links (0: none), see the module card;
    ``dealers``: per bank, the dollars it can intermediate this step (tiered markets): what
    the tiers leave unmatched goes lender -> dealer -> borrower through a dealer within reach
    of both, instead of directly between two small banks (module card, step 3). A dealer's
    two legs show as two pieces, so its cash does not change. Either an array over the banks
    or a function giving the capacity of the banks it is given (called only when pieces are
    left, and mostly for the few banks within reach of them). ``lender_rank``: ``ranks_of(lender_order)``
    when the caller keeps it (the system works it out once an episode). ``known``: the existing
    counterparties as a function instead of ``loan_lender``/``loan_borrower`` (then empty): given
    the supplying and the requesting banks (bool per bank), the distinct pairs among them in key
    order (``Relationships.among``), so that the pairs of other banks need not be split.
    """
    n = request.shape[0]
    asking = request > _EPS
    # the requesting banks (a bank that requests supplies nothing) and what each still asks, kept
    # for them only (a few dozen of the banks; ``slot``: a requesting bank's place among them)
    askers = asking.nonzero()[0]
    start = request[askers]
    req = start.copy()
    dust = _EPS * np.maximum(1.0, start)  # below this, a request left is rounding dust
    slot = np.empty(n, np.intp)
    slot[askers] = np.arange(askers.size)
    sup = np.where(supply > _EPS, supply, 0.0)
    sup[askers] = 0.0
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    # 1. existing counterparties
    # the supplying banks' pairs first (fewer pairs than the requesting hubs'), then those of
    # them whose borrower requests: the same pairs in the same order, whichever filter runs first
    if known is None:
        hit = (sup > 0)[loan_lender].nonzero()[0]
        hit = hit.take(asking[loan_borrower.take(hit)].nonzero()[0])  # (a gather: a scattered boolean index is slower)
        lo, bo = loan_lender[hit], loan_borrower[hit]
        key = lo * n + bo
        if key.size > 1 and not (key[1:] > key[:-1]).all():  # the relationships come sorted and distinct
            key = distinct_keys(key)
            lo, bo = key // n, key % n
    else:
        lo, bo = known(sup > 0, asking)
    if lo.size:
        at = slot[bo]
        asks = req[at]
        asked = np.bincount(lo, weights=asks, minlength=n)
        offer = sup[lo] * asks / asked[lo]
        offered = np.bincount(at, weights=offer, minlength=askers.size)
        take = offer * np.minimum(1.0, asks / offered[at])
        parts.append((lo, bo, take))
        sup -= np.bincount(lo, weights=take, minlength=n)  # (both arrays are this call's own)
        req -= np.bincount(at, weights=take, minlength=askers.size)
        _drop_dust(sup, lo[run_starts(lo)], supply)  # (each lender once: the pairs come in key order)
        req[req < dust] = 0.0

    # 2. new counterparties: tiered pairs first (when reach > 0), then anyone
    if reach > 0:
        rank = ranks_of(lender_order) if lender_rank is None else lender_rank
        # lenders from the lowest rank up, borrowers from the highest down (ranks are distinct:
        # filtering the ranked order is the sort; the few requesting banks are sorted by rank)
        supplying = (sup > 0)[lender_order].nonzero()[0]  # their ranks less 1 (``rank`` is the order's)
        tiered = lender_order.take(supplying)
        lenders = tiered[::-1]
        waiting = (req > 0).nonzero()[0]
        waiting = waiting[np.argsort(rank[askers[waiting]])]
        borrowers = askers[waiting]
        if lenders.size and borrowers.size:
            # lender l may fill the borrowers up to rank reach * n / rank_l (non-decreasing along the
            # lenders): those that reach no borrower, most of them, have limit 0 without a search
            reached = np.floor(reach * n / (supplying[::-1] + 1))
            limit = np.zeros(lenders.size, np.int64)
            none = int(np.searchsorted(reached, rank[borrowers[0]]))
            limit[none:] = np.searchsorted(rank[borrowers], reached[none:], side="right")
            lo, bo, amount = _intersect(lenders, borrowers, sup[lenders], req[waiting], limit)
            parts.append((lo, bo, amount))
            sup -= np.bincount(lo, weights=amount, minlength=n)
            req -= np.bincount(slot[bo], weights=amount, minlength=askers.size)
            _drop_dust(sup, lo, supply)
            req[req < dust] = 0.0
    # in ``lender_order``; after the tiers, among the tiers' lenders (supply only goes down)
    # (``_intersect`` without a limit, on the head of the lenders that can take part)
    waiting = (req > 0).nonzero()[0]
    if waiting.size:
        waiting = waiting[np.argsort(borrower_risk[askers[waiting]], kind="stable")]
        borrowers = askers[waiting]
        cr = req[waiting].cumsum()
        lenders, cs = _leading(tiered if reach > 0 else lender_order, sup, cr[-1])
        if lenders.size:
            pieces = _cut(lenders, borrowers, cs, cr)
            if reach > 0 and dealers is not None:
                pieces = _intermediate(*pieces, lender_order, rank, dealers, reach * n)
            parts.append(pieces)

    if not parts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    lender, borrower, amount = (np.concatenate(x) for x in zip(*parts))
    keep = amount > 0
    if keep.all():  # (as a rule)
        return lender, borrower, amount
    return lender[keep], borrower[keep], amount[keep]
