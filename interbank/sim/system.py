"""The banking system: balance sheets, interbank ledger, markets, shocks, defaults.

Pure numpy, vectorised over banks and loans: a step costs O(banks + loans) and
has no Python loop over banks or loans except where events are written (the
event stream is off in training).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from interbank.sim import network as netgen
from interbank.sim.actions import ACTIONS, BORROW, DIVEST, HOLD, INVEST, LEND, MARKETS, N_ACTIONS, PRIORITIES
from interbank.sim.clearing import greatest_clearing_vector
from interbank.sim.events import EventLog

if TYPE_CHECKING:  # the core never imports pydantic at run time
    from interbank.config import EnvConfig

MOMENTUM_WINDOW = 5


@dataclass
class StepOutcome:
    """What one step did, per bank (arrays of length n_banks).

    ``executed``: the action carried out (HOLD for a masked action, -1 for banks
    that were already gone); ``invalid``: a masked action was sent;
    ``new_defaults``: indices of banks that defaulted this step;
    ``shortfall``: dollars of calls and withdrawals a bank could not pay.
    """

    executed: np.ndarray
    invalid: np.ndarray
    new_defaults: np.ndarray
    shortfall: np.ndarray
    cascade_depth: int
    done: bool


class BankingSystem:
    """An interbank network of banks with real balance sheets.

    Models: N banks, each with cash, interbank loans out (assets), market
    positions in BANK_INDEX and FIN_SERVICES (units, marked to market), interbank
    borrowings and deposits (liabilities). equity = assets - liabilities,
    leverage = assets / equity. Loans live in a double-entry ledger: one record
    per directed lender -> borrower edge of the network (``lender``,
    ``borrower``, ``amount`` arrays), so the sum of loans out always equals the
    sum of borrowings.

    Step order: validate actions against the mask (masked -> HOLD); LEND, INVEST,
    DIVEST, then loan calls (with fire sales by borrowers short of cash); market
    prices move with the net flow plus seeded noise and crashes; interest
    accrues on every loan; seeded deposit withdrawals; profit booking every
    ``profit_booking_every`` steps; defaults (equity < 0) are settled by the
    clearing model, fire sales of the defaulted banks move prices, and the
    cascade repeats until no new default.

    Units: dollars for money, index points for prices; one step is one period
    of ``interest_rate``.
    """

    def __init__(self, config: "EnvConfig", record_events: bool = True) -> None:
        self.config = config
        self.log = EventLog(record_events)
        self.n = config.n_banks
        self.names = [f"bank_{i}" for i in range(self.n)]
        self.m = len(MARKETS)
        self.max_steps = config.max_steps
        self.t = 0
        self.done = False
        self.run_info: dict[str, Any] = {}  # extra, JSON-ready facts for the init event (policy, resolved config)

    # ------------------------------------------------------------------ reset
    def reset(self, seed: int | None = None) -> None:
        cfg = self.config
        seed = cfg.seed if seed is None else seed
        self.seed = seed
        # separate streams: drawing the network and banks must not shift the step noise
        gen_rng, self._step_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
        n, m = self.n, self.m
        self.t = 0
        self.done = False
        self.log = EventLog(self.log.enabled)

        if cfg.banks is not None:
            self.capital0 = np.array([b.capital for b in cfg.banks], dtype=np.float64)
            self.target_leverage = np.array([b.target_leverage for b in cfg.banks], dtype=np.float64)
            self.risk = np.array([b.risk for b in cfg.banks], dtype=np.float64)
        else:
            g = cfg.generation
            self.capital0 = g.capital_median * np.exp(g.capital_sigma * gen_rng.standard_normal(n))
            self.target_leverage = gen_rng.uniform(g.leverage_low, g.leverage_high, n)
            self.risk = gen_rng.uniform(g.risk_low, g.risk_high, n)

        assets0 = self.capital0 * self.target_leverage
        net = cfg.network
        if net.type == "explicit":
            lender, borrower, amount = netgen.explicit(net.edges, n)
        else:
            if net.type == "erdos_renyi":
                lender, borrower = netgen.erdos_renyi(n, net.avg_degree, gen_rng)
            elif net.type == "scale_free":
                lender, borrower = netgen.scale_free(n, net.avg_degree, net.exponent, gen_rng)
            else:
                lender, borrower = netgen.core_periphery(n, net.avg_degree, net.core_fraction, gen_rng)
            outdeg = np.bincount(lender, minlength=n)
            per_edge = cfg.balance_sheet.interbank_share * assets0 / np.maximum(outdeg, 1)
            amount = per_edge[lender]
        self.lender = lender.astype(np.int64)
        self.borrower = borrower.astype(np.int64)
        self.amount = amount.astype(np.float64).copy()
        self.initial_connections = (self.lender.copy(), self.borrower.copy(), self.amount.copy())

        mk = cfg.markets
        self.price0 = np.full(m, mk.initial_price)
        self.price = self.price0.copy()
        self._price_hist = np.tile(self.price, (MOMENTUM_WINDOW + 1, 1))
        self.last_return = np.zeros(m)
        self.depth = mk.depth_fraction * float(assets0.sum()) if n else 1.0
        corr = mk.correlation
        self._chol = np.linalg.cholesky(np.array([[1.0, corr], [corr, 1.0]]) + 1e-12 * np.eye(2))

        invest = cfg.balance_sheet.market_share * (0.5 + self.risk) * assets0
        self.basis = np.repeat((invest / m)[:, None], m, axis=1)
        self.holdings = self.basis / self.price
        loans_out = np.bincount(self.lender, weights=self.amount, minlength=n)
        borrowings = np.bincount(self.borrower, weights=self.amount, minlength=n)
        self.deposits = np.maximum(assets0 - self.capital0 - borrowings, 0.0)
        # cash is the plug that makes equity equal the starting capital
        self.cash = self.capital0 + self.deposits + borrowings - loans_out - invest
        if (self.cash < 0).any():
            # explicit networks can lend more than a bank holds: fund it with deposits
            extra = np.maximum(-self.cash, 0.0)
            self.deposits += extra
            self.cash += extra

        self.active = np.ones(n, dtype=bool)
        self.defaulted = np.zeros(n, dtype=bool)
        self.deleted = np.zeros(n, dtype=bool)
        # balance sheets of gone banks at the moment they left (cash, loans out, borrowings, deposits, investments...)
        self.frozen = np.zeros((n, 4 + m))
        self.total_defaults = 0
        self.cascades: list[int] = []
        self._priorities = np.zeros(n, dtype=np.int64)
        self._refresh_edges()
        self._mask: np.ndarray | None = None
        self.last_outcome: StepOutcome | None = None
        self._emit_init()

    # ------------------------------------------------------------ accounting
    def loans_out(self) -> np.ndarray:
        return np.bincount(self.lender, weights=self.amount, minlength=self.n)

    def borrowings(self) -> np.ndarray:
        return np.bincount(self.borrower, weights=self.amount, minlength=self.n)

    def investment_values(self) -> np.ndarray:
        return self.holdings * self.price

    def investment_total(self) -> np.ndarray:
        return self.holdings @ self.price

    def balance_sheet(self) -> dict[str, np.ndarray]:
        """Every bank's balance sheet as arrays (dollars)."""
        lo, bo = self.loans_out(), self.borrowings()
        inv = self.investment_values()
        assets = self.cash + lo + inv.sum(axis=1)
        liabilities = bo + self.deposits
        equity = assets - liabilities
        return {
            "cash": self.cash, "loans_out": lo, "borrowings": bo, "investments": inv,
            "deposits": self.deposits, "assets": assets, "liabilities": liabilities, "equity": equity,
        }

    def equity(self) -> np.ndarray:
        return (
            self.cash + self.loans_out() + self.investment_total()
            - self.borrowings() - self.deposits
        )

    def momentum(self) -> np.ndarray:
        """Return of each market over the last MOMENTUM_WINDOW steps."""
        return self.price / self._price_hist[0] - 1.0

    def _refresh_edges(self) -> None:
        """Index the edges whose two ends are both still active (sorted by lender)."""
        alive = self.active[self.lender] & self.active[self.borrower]
        self._alive_idx = np.flatnonzero(alive)
        self._alive_count = np.bincount(self.lender[self._alive_idx], minlength=self.n)
        self._alive_start = np.concatenate([[0], np.cumsum(self._alive_count)[:-1]]).astype(np.int64)
        gone = ~self.active
        deg = np.bincount(self.lender, minlength=self.n) + np.bincount(self.borrower, minlength=self.n)
        hit = np.bincount(self.lender, weights=gone[self.borrower], minlength=self.n) + np.bincount(
            self.borrower, weights=gone[self.lender], minlength=self.n
        )
        self.neighbour_default_fraction = np.divide(hit, deg, out=np.zeros(self.n), where=deg > 0)
        self._mask = None

    def action_mask(self) -> np.ndarray:
        """bool[n_banks, 5]: which actions each bank may take now (gone banks: HOLD only)."""
        if self._mask is not None:
            return self._mask
        a = self.config.actions
        floor = a.min_trade * self.capital0
        cash = np.maximum(self.cash, 0.0)
        scale = 0.5 + self.risk
        mask = np.zeros((self.n, N_ACTIONS), dtype=bool)
        mask[:, LEND] = (self._alive_count > 0) & (np.minimum(a.lend_fraction * scale, 1.0) * cash >= floor)
        mask[:, BORROW] = self.loans_out() >= floor
        mask[:, INVEST] = np.minimum(a.invest_fraction * scale, 1.0) * cash >= floor
        mask[:, DIVEST] = self.investment_values().max(axis=1) >= floor
        mask[:, HOLD] = True
        mask[~self.active, :HOLD] = False
        self._mask = mask
        return mask

    # ------------------------------------------------------------- liquidity
    def _fire_sell(self, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sell up to ``target`` dollars (at market value) of each bank's positions,
        pro rata over markets. Returns (cash proceeds after discount, value sold per market).
        The caller moves prices."""
        total = self.investment_total()
        frac = np.clip(np.divide(target, total, out=np.zeros(self.n), where=total > 0), 0.0, 1.0)
        if not frac.any():
            return np.zeros(self.n), np.zeros(self.m)
        sold_units = self.holdings * frac[:, None]
        self.holdings -= sold_units
        self.basis *= (1.0 - frac)[:, None]
        sold = sold_units.T @ np.ones(self.n) * self.price
        proceeds = frac * total * (1.0 - self.config.clearing.fire_sale_discount)
        return proceeds, sold

    def _pay(self, demand: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each bank pays ``demand`` from cash, fire-selling for the rest.
        Returns (amount paid, value fire-sold per market)."""
        from_cash = np.clip(np.minimum(self.cash, demand), 0.0, None)
        short = demand - from_cash
        sold_m = np.zeros(self.m)
        proceeds = np.zeros(self.n)
        if (short > 0).any():
            proceeds, sold_m = self._fire_sell(short / (1.0 - self.config.clearing.fire_sale_discount))
        paid = np.minimum(demand, from_cash + proceeds)
        self.cash += proceeds - paid
        return paid, sold_m

    def _impact(self, flow: np.ndarray) -> None:
        mk = self.config.markets
        self.price *= np.exp(mk.impact * flow / self.depth)
        np.maximum(self.price, mk.price_floor * self.price0, out=self.price)

    # ------------------------------------------------------------------ step
    def step(self, actions: np.ndarray, priorities: np.ndarray | None = None) -> StepOutcome:
        """Advance one step. ``actions``: int[n_banks] (entries of gone banks are ignored);
        ``priorities``: int[n_banks] priority in force per bank (for the events)."""
        if self.done:
            raise RuntimeError("the episode is over; call reset()")
        cfg, n, log = self.config, self.n, self.log
        a = cfg.actions
        self.t += 1
        t = self.t
        if priorities is not None:
            self.set_priorities(priorities)
        log.emit(t, "step_start", {"active_banks": int(self.active.sum())})

        acts = np.asarray(actions, dtype=np.int64).copy()
        if acts.shape != (n,):
            raise ValueError(f"actions must have shape ({n},), got {acts.shape}")
        mask = self.action_mask()
        in_range = (acts >= 0) & (acts < N_ACTIONS)
        valid = np.zeros(n, dtype=bool)
        valid[in_range] = mask[np.flatnonzero(in_range), acts[in_range]]
        invalid = self.active & ~valid
        acts[invalid] = HOLD
        acts[~self.active] = -1
        self._mask = None

        # the step's random numbers are drawn whatever the actions, so two
        # policies on the same seed face the same shocks
        rng = self._step_rng
        u_cp, u_mkt, u_wd = rng.random(n), rng.random(n), rng.random(n)
        z = self._chol @ rng.standard_normal(self.m)
        u_crash = rng.random(self.m)

        scale = 0.5 + self.risk
        flow = np.zeros(self.m)
        tx: dict[int, tuple[str | None, str | None, float]] = {}
        record = log.enabled

        # LEND: one uniformly drawn surviving borrower on an out-edge
        lenders = np.flatnonzero(acts == LEND)
        if lenders.size:
            amt = np.minimum(a.lend_fraction * scale[lenders], 1.0) * self.cash[lenders]
            k = np.minimum((u_cp[lenders] * self._alive_count[lenders]).astype(np.int64), self._alive_count[lenders] - 1)
            edge = self._alive_idx[self._alive_start[lenders] + k]
            self.amount[edge] += amt
            self.cash[lenders] -= amt
            self.cash += np.bincount(self.borrower[edge], weights=amt, minlength=n)
            if record:
                for i, e, x in zip(lenders.tolist(), edge.tolist(), amt.tolist()):
                    tx[i] = (self.names[self.borrower[e]], None, x)

        # INVEST: momentum-tilted market choice
        investors = np.flatnonzero(acts == INVEST)
        if investors.size:
            mom = self.momentum()
            p_bi = 1.0 / (1.0 + np.exp(-(mom[0] - mom[1]) / a.momentum_temperature))
            mkt = (u_mkt[investors] >= p_bi).astype(np.int64)
            amt = np.minimum(a.invest_fraction * scale[investors], 1.0) * self.cash[investors]
            self.holdings[investors, mkt] += amt / self.price[mkt]
            self.basis[investors, mkt] += amt
            self.cash[investors] -= amt
            flow += np.bincount(mkt, weights=amt, minlength=self.m)
            if record:
                for i, mm, x in zip(investors.tolist(), mkt.tolist(), amt.tolist()):
                    tx[i] = (None, MARKETS[mm], x)

        # DIVEST: part of the largest position, at the market price
        sellers = np.flatnonzero(acts == DIVEST)
        if sellers.size:
            mkt = np.argmax(self.holdings[sellers] * self.price, axis=1)
            units = a.divest_fraction * self.holdings[sellers, mkt]
            proceeds = units * self.price[mkt]
            self.holdings[sellers, mkt] -= units
            self.basis[sellers, mkt] *= 1.0 - a.divest_fraction
            self.cash[sellers] += proceeds
            flow -= np.bincount(mkt, weights=proceeds, minlength=self.m)
            if record:
                for i, mm, x in zip(sellers.tolist(), mkt.tolist(), proceeds.tolist()):
                    tx[i] = (None, MARKETS[mm], x)

        # BORROW: call back part of every loan out
        shortfall = np.zeros(n)
        calling = acts == BORROW
        if calling.any():
            demand_e = a.call_fraction * self.amount * calling[self.lender]
            demand = np.bincount(self.borrower, weights=demand_e, minlength=n)
            paid, sold = self._pay(demand)
            flow -= sold
            ratio = np.divide(paid, demand, out=np.ones(n), where=demand > 0)
            repay = demand_e * ratio[self.borrower]
            self.amount -= repay
            self.cash += np.bincount(self.lender, weights=repay, minlength=n)
            shortfall += demand - paid
            if record:
                got = np.bincount(self.lender, weights=repay, minlength=n)
                hit = np.flatnonzero(repay > 0)
                order = hit[np.lexsort((-repay[hit], self.lender[hit]))]
                first = order[np.r_[True, self.lender[order][1:] != self.lender[order][:-1]]] if order.size else order
                top = dict(zip(self.lender[first].tolist(), self.borrower[first].tolist()))
                for i in np.flatnonzero(calling).tolist():
                    cp = top.get(i)
                    tx[i] = (self.names[cp] if cp is not None else None, None, float(got[i]))

        if record:
            prio = self._priorities
            for i in sorted(tx):
                cp, mk_name, x = tx[i]
                log.emit(t, "transaction", {
                    "bank": self.names[i], "action": ACTIONS[acts[i]], "counterparty": cp,
                    "market": mk_name, "amount": float(x), "priority": PRIORITIES[int(prio[i])],
                })

        # markets: flow impact, noise, crashes
        mk, sh = cfg.markets, cfg.shocks
        before = self.price.copy()
        fundamental = self.price0 * np.exp(mk.drift * t)
        self.price *= np.exp(
            mk.impact * flow / self.depth - mk.reversion * np.log(self.price / fundamental)
            + mk.drift - 0.5 * mk.volatility ** 2 + mk.volatility * z
        )
        self.price[u_crash < sh.crash_prob] *= 1.0 - sh.crash_size
        scheduled = [s for s in sh.scheduled if s.step == t]
        for s in scheduled:
            if s.type == "market_crash":
                self.price[MARKETS.index(s.market)] *= 1.0 - s.size
        np.maximum(self.price, mk.price_floor * self.price0, out=self.price)

        # interest accrues on every loan (the borrower owes more, the lender is owed more)
        if cfg.interest_rate:
            self.amount *= 1.0 + cfg.interest_rate
        # scheduled amortisation: borrowers repay ``repayment_rate`` of each loan from cash (no fire sale)
        if cfg.repayment_rate:
            due_e = cfg.repayment_rate * self.amount
            due = np.bincount(self.borrower, weights=due_e, minlength=n)
            ratio = np.divide(np.clip(self.cash, 0.0, due), due, out=np.zeros(n), where=due > 0)
            repaid = due_e * ratio[self.borrower]
            self.amount -= repaid
            self.cash += np.bincount(self.lender, weights=repaid, minlength=n) - due * ratio

        # deposit withdrawals and operational losses
        demand = np.where(self.active & (u_wd < sh.withdrawal_prob), sh.withdrawal_size * self.deposits, 0.0)
        for s in scheduled:
            if s.type == "deposit_withdrawal" and self.active[s.bank]:
                demand[s.bank] += s.size * self.deposits[s.bank]
            elif s.type == "capital_loss" and self.active[s.bank]:
                self.cash[s.bank] -= s.size * self.capital0[s.bank]
        demand = np.minimum(demand, self.deposits)
        if demand.any():
            paid, sold = self._pay(demand)
            self.deposits -= paid
            shortfall += demand - paid
            self._impact(-sold)

        if t % cfg.profit_booking_every == 0:
            self._book_profits(t)

        new_defaults, depth = self._resolve_defaults(t)

        self._price_hist = np.roll(self._price_hist, -1, axis=0)
        self._price_hist[-1] = self.price
        self.last_return = self.price / before - 1.0
        self._mask = None

        reason = None
        if not self.active.any():
            reason = "all_defaulted"
        elif t >= self.max_steps:
            reason = "max_steps"
        if record:
            self._emit_step_end(t)
        if reason is not None:
            self.done = True
            self._emit_complete(reason)
        outcome = StepOutcome(acts, invalid, new_defaults, shortfall, depth, reason is not None)
        self.last_outcome = outcome
        return outcome

    def _book_profits(self, t: int) -> None:
        """Realise market P&L: gains are sold to cash at the price, losses written into the basis.
        Equity does not change (positions are already marked to market)."""
        value = self.investment_values()
        pos = (self.holdings > 0) & self.active[:, None]
        profit = np.where(pos, value - self.basis, 0.0)
        gain = profit > 0
        self.holdings -= np.where(gain, profit / self.price, 0.0)
        self.cash += np.where(gain, profit, 0.0).sum(axis=1)
        if self.log.enabled:
            rows, cols = np.nonzero(pos)
            for i, mm, b, p in zip(rows.tolist(), cols.tolist(), self.basis[rows, cols].tolist(), profit[rows, cols].tolist()):
                self.log.emit(t, "profit_booking", {
                    "bank": self.names[i], "market": MARKETS[mm], "invested": b,
                    "return": p / b if b > 0 else 0.0, "profit": p,
                })
        self.basis = np.where(pos, self.holdings * self.price, self.basis)

    # -------------------------------------------------------------- defaults
    def _recovery(self, closing: np.ndarray) -> np.ndarray:
        """Fraction of its interbank debts each closing bank pays (per bank)."""
        cl = self.config.clearing
        if cl.model == "fixed_recovery":
            return np.full(self.n, cl.recovery)
        p_bar = self.borrowings() + self.deposits
        # edges are sorted by lender, so Pi^T (rows = creditors) is CSR without a sort
        share = self.amount / np.where(p_bar > 0, p_bar, 1.0)[self.borrower]
        indptr = np.concatenate([[0], np.cumsum(np.bincount(self.lender, minlength=self.n))])
        pi_t = sp.csr_matrix((share, self.borrower, indptr), shape=(self.n, self.n))
        external = np.maximum(self.cash + self.investment_total(), 0.0)
        alpha, beta = (1.0, 1.0) if cl.model == "eisenberg_noe" else (cl.alpha, cl.beta)
        p = greatest_clearing_vector(pi_t, p_bar, external, alpha, beta)
        return np.clip(np.divide(p, p_bar, out=np.ones(self.n), where=p_bar > 0), 0.0, 1.0)

    def _close(self, banks: np.ndarray, cause: str) -> tuple[float, float]:
        """Settle and remove ``banks``. Returns (creditor losses, value fire-sold)."""
        n = self.n
        self.frozen[banks, 0] = self.cash[banks]
        self.frozen[banks, 1] = self.loans_out()[banks]
        self.frozen[banks, 2] = self.borrowings()[banks]
        self.frozen[banks, 3] = self.deposits[banks]
        self.frozen[banks, 4:] = self.investment_values()[banks]
        # fire sale of the closing banks' positions: the second contagion channel
        target = np.zeros(n)
        target[banks] = np.inf
        proceeds, sold = self._fire_sell(target)
        self.cash += proceeds
        self._impact(-sold)
        rho = self._recovery(banks)
        closing = np.zeros(n, dtype=bool)
        closing[banks] = True
        owed = closing[self.borrower] & (self.amount > 0)
        recovered = self.amount[owed] * rho[self.borrower[owed]]
        losses = float((self.amount[owed] - recovered).sum())
        self.cash += np.bincount(self.lender[owed], weights=recovered, minlength=n)
        self.amount[owed] = 0.0
        # claims of a closed bank pass to its external creditors: same debt, now a deposit-like liability
        claims = closing[self.lender] & (self.amount > 0)
        self.deposits += np.bincount(self.borrower[claims], weights=self.amount[claims], minlength=n)
        self.amount[claims] = 0.0
        self.active[banks] = False
        if cause == "deleted":
            self.deleted[banks] = True
        else:
            self.defaulted[banks] = True
        self.cash[banks] = 0.0
        self.deposits[banks] = 0.0
        self.holdings[banks] = 0.0
        self.basis[banks] = 0.0
        self._refresh_edges()
        return losses, float(sold.sum())

    def _insolvent(self, eq: np.ndarray) -> np.ndarray:
        """Active banks that default: equity < 0, or <= 0 with ``clearing.default_at_zero_equity``
        (zero meaning within 1e-9 of the bank's initial assets, to absorb rounding)."""
        tol = 1e-9 * self.capital0 * self.target_leverage
        if self.config.clearing.default_at_zero_equity:
            return np.flatnonzero(self.active & (eq <= tol))
        return np.flatnonzero(self.active & (eq < -tol))

    def wipe_external_assets(self, banks: np.ndarray, fraction: float = 1.0) -> None:
        """Exogenous shock: ``banks`` lose ``fraction`` of their cash and market positions
        (no fire sale: the assets are simply gone). Used by the validation experiments."""
        banks = np.asarray(banks, dtype=np.int64)
        self.cash[banks] *= 1.0 - fraction
        self.holdings[banks] *= 1.0 - fraction
        self.basis[banks] *= 1.0 - fraction
        self._mask = None

    def resolve_defaults(self, first_cause: str = "insolvency") -> tuple[np.ndarray, int]:
        """Run the default and cascade resolution now (as at the end of a step).
        Returns (defaulted bank indices, cascade depth)."""
        return self._resolve_defaults(self.t, first_cause)

    def _resolve_defaults(self, t: int, first_cause: str = "insolvency") -> tuple[np.ndarray, int]:
        """Default every insolvent active bank, repeat until no new default."""
        eq = self.equity()
        new = self._insolvent(eq)
        if new.size == 0:
            return new, 0
        trigger = [self.names[i] for i in new.tolist()]
        all_new: list[np.ndarray] = []
        depth, losses, volume = 0, 0.0, 0.0
        while new.size:
            depth += 1
            cause = first_cause if depth == 1 else "contagion"
            for i, e in zip(new.tolist(), eq[new].tolist()):
                self.log.emit(t, "default", {"bank": self.names[i], "equity": e, "cause": cause})
            l_, v_ = self._close(new, cause)
            losses += l_
            volume += v_
            all_new.append(new)
            eq = self.equity()
            new = self._insolvent(eq)
        out = np.concatenate(all_new)
        self.total_defaults += int(out.size)
        self.cascades.append(int(out.size))
        self.log.emit(t, "cascade", {
            "trigger": trigger, "defaulted": [self.names[i] for i in out.tolist()],
            "depth": depth, "losses": losses, "fire_sale_volume": volume,
        })
        return out, depth

    def set_priorities(self, priorities: np.ndarray) -> None:
        """The priority in force per bank (for events); gone banks keep their last one."""
        p = np.asarray(priorities, dtype=np.int64)
        self._priorities = np.where(self.active, p, self._priorities)

    # --------------------------------------------------- interactive hooks
    def add_capital(self, bank: int, amount: float) -> None:
        """Inject ``amount`` dollars of new equity as cash."""
        self.cash[bank] += amount
        self._mask = None

    def delete_bank(self, bank: int) -> dict[str, float]:
        """Remove an active bank, settling its positions like a default (fire sale of its
        market positions, its creditors paid by the clearing model, its claims passed to
        external creditors). Returns the settlement figures."""
        eq = float(self.equity()[bank])
        losses, volume = self._close(np.array([bank]), "deleted")
        return {"equity": eq, "creditor_losses": losses, "fire_sale_volume": volume}

    # --------------------------------------------------------------- events
    def _snapshots(self, idx: np.ndarray | None = None) -> list[dict[str, Any]]:
        """Balance sheets as event dicts; gone banks show their sheet at the moment they left."""
        bs = self.balance_sheet()
        rows = np.arange(self.n) if idx is None else np.asarray(idx)
        gone = ~self.active[rows]
        cash, lo, bo, dep = (bs[k][rows].copy() for k in ("cash", "loans_out", "borrowings", "deposits"))
        inv_arr = bs["investments"][rows].copy()
        if gone.any():
            f = self.frozen[rows[gone]]
            cash[gone], lo[gone], bo[gone], dep[gone], inv_arr[gone] = f[:, 0], f[:, 1], f[:, 2], f[:, 3], f[:, 4:]
        assets = cash + lo + inv_arr.sum(axis=1)
        eq = assets - bo - dep
        lev = np.divide(assets, eq, out=np.full(rows.size, np.nan), where=eq > 0)
        inv = inv_arr.tolist()
        out = []
        for k, (i, c, lo, bo, d, e, lv) in enumerate(zip(
            rows.tolist(), cash.tolist(), lo.tolist(), bo.tolist(), dep.tolist(), eq.tolist(), lev.tolist(),
        )):
            out.append({
                "id": self.names[i], "cash": c, "loans_out": lo, "borrowings": bo,
                "investments": dict(zip(MARKETS, inv[k])), "deposits": d, "equity": e,
                "leverage": None if lv != lv else lv, "defaulted": bool(self.defaulted[i]),
                "deleted": bool(self.deleted[i]), "priority": PRIORITIES[int(self._priorities[i])],
            })
        return out

    def market_states(self) -> list[dict[str, Any]]:
        return [
            {"name": name, "price": float(p), "initial_price": float(p0), "return": float(p / p0 - 1.0),
             "last_return": float(r)}
            for name, p, p0, r in zip(MARKETS, self.price, self.price0, self.last_return)
        ]

    def total_capital(self) -> float:
        return float(self.equity()[self.active].sum())

    def _emit_init(self) -> None:
        if not self.log.enabled:
            return
        cfg = self.config
        lender, borrower, amount = self.initial_connections
        self.log.emit(0, "init", {
            "banks": [
                {"id": name, "capital": c, "target_leverage": lv, "risk": r}
                for name, c, lv, r in zip(self.names, self.capital0.tolist(), self.target_leverage.tolist(), self.risk.tolist())
            ],
            "markets": self.market_states(),
            "connections": [
                {"lender": self.names[i], "borrower": self.names[j], "amount": x}
                for i, j, x in zip(lender.tolist(), borrower.tolist(), amount.tolist())
            ],
            "config": {
                "n_banks": self.n, "max_steps": self.max_steps, "seed": self.seed,
                "network": cfg.network.type, "avg_degree": cfg.network.avg_degree,
                "clearing": cfg.clearing.model, "interest_rate": cfg.interest_rate,
                "profit_booking_every": cfg.profit_booking_every, "actions": list(ACTIONS),
                "markets": list(MARKETS), "digest": cfg.digest(), **self.run_info,
            },
        })

    def _emit_step_end(self, t: int) -> None:
        banks = self._snapshots()
        total = self.total_capital()
        self.log.emit(t, "step_end", {
            "step": t, "active_banks": int(self.active.sum()), "defaults": int(self.defaulted.sum()),
            "total_capital": total, "banks": banks, "markets": self.market_states(),
            "totals": {
                "cash": float(self.cash[self.active].sum()),
                "interbank_loans": float(self.amount.sum()),
                "investments": float(self.investment_values()[self.active].sum()),
                "deposits": float(self.deposits[self.active].sum()),
            },
        })

    def _emit_complete(self, reason: str) -> None:
        self.log.emit(self.t, "complete", {"reason": reason, "summary": self.summary()})

    def summary(self) -> dict[str, Any]:
        return {
            "steps": self.t, "active_banks": int(self.active.sum()), "defaults": int(self.defaulted.sum()),
            "deleted": int(self.deleted.sum()), "cascades": len(self.cascades),
            "max_cascade": max(self.cascades, default=0), "total_capital": self.total_capital(),
            "initial_capital": float(self.capital0.sum()),
        }

    def stop(self, reason: str = "stopped") -> None:
        """End the episode early (interactive runner)."""
        if not self.done:
            self.done = True
            self._emit_complete(reason)
