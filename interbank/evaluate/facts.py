"""Stylised facts of banking, measured on the model against their bands (``interbank facts``).

``FACTS`` declares every fact once: its name, unit, band, reference and the function that
computes it from the ``Measurements`` of a few seeded episodes. The CLI table, the JSON, the
docs and the tests all read it. ``check(config, policy, episodes, banks, seed)`` plays the
episodes and returns one ``FactResult`` per fact.

Profitability is per bank over the episode, annualised with ``steps_per_year`` and pooled
as the median over the banks alive at the end. Network facts are measured after reset and
after every step on the live banks' links of the last quarter (``NETWORK_WINDOW``: a pair that
had a loan outstanding at any of the last 13 steps); the degree tail on that of the last step.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from interbank.sim import funding
from interbank.sim.accounts import net_income
from interbank.sim import network_stats as ns

HORIZON = 10  # steps ahead for the predictability of market returns
EPISODES = 20
"""Episodes ``interbank facts`` and ``check`` play by default: enough that the verdict does not hang
on the draw (lend_surplus(3) at the scenarios' own sizes passed every held band from 20 blocks of
seeds each, where at 2 episodes 2 of 20 default and 9 of 20 stress blocks failed one: the
out-of-sample R^2 of a single test episode, cost / income, the rate-scarcity correlation;
benchmarks/facts_verdicts.py); about 3 seconds at 20-30 banks."""
TAIL_MIN_BANKS = 500  # below this the in-degree tail has too few banks to fit
NETWORK_MIN_BANKS = 100
"""The size from which the network's density and core-periphery bands apply: the empirical
networks are of hundreds to thousands of banks (Upper & Worms 2004; Craig & von Peter 2014), and
a few percent of possible links is less than one link per bank in a market of 20. Below it the
values are reported, not judged."""


def per_bank_from(min_banks: int) -> Callable[[int], float]:
    """A band set for a market of ``min_banks`` banks, carried to ``n`` banks as ``min_banks / n``:
    density's. The possible links grow as n^2 while each bank keeps a handful of counterparties, so
    real density falls as about 1/n: 1-8% of links at 100 banks is about 1-8 counterparties a bank,
    and the same at ~900 banks is under 1% (Boss et al. 2004, Austria). Supported up to about that
    size: Fedwire's payment network (Soramaki et al. 2007, 0.3% of ~6,600 banks) is denser than
    the scaling allows."""
    return lambda n: min_banks / n


@dataclass
class Measurements:
    """What the episodes leave for the facts (pooled over episodes).

    Per bank-episode (banks alive at the end; dollars): ``net_income``, ``nii`` (interest
    income - expense), ``fees``, ``operating_cost``, ``market_result``, ``mean_equity``,
    ``mean_assets``, ``years`` (episode length in years); ``losing`` (per bank-episode, all
    banks: net income < 0 or defaulted); ``negative_core_earnings`` (per bank-episode, all banks,
    gone ones over their time alive: net interest income + fees - operating costs below 0). Per
    step: ``density``, ``cp_error`` (and per episode its worst step, ``cp_error_episode``),
    ``interbank_share`` (interbank loans / total assets of live banks), ``rate`` (volume-weighted
    rate of the step's new loans, NaN without any), ``scarcity`` (requests / (requests + supply)),
    ``priced`` and ``above_ceiling`` (dollars priced this step, and those above the lending
    facility). ``tail_alpha``: in-degree tail exponent at the end of each episode (n >= 500).
    ``sources``: dollars of shortfalls covered by each source. ``obs``/``ahead``: observation
    rows and the mean 10-step-ahead log return over markets, ``groups`` the (episode, step)
    of each row.
    """

    n_banks: int = 0
    net_income: list[float] = field(default_factory=list)
    nii: list[float] = field(default_factory=list)
    fees: list[float] = field(default_factory=list)
    operating_cost: list[float] = field(default_factory=list)
    market_result: list[float] = field(default_factory=list)
    mean_equity: list[float] = field(default_factory=list)
    mean_assets: list[float] = field(default_factory=list)
    years: list[float] = field(default_factory=list)
    losing: list[bool] = field(default_factory=list)
    negative_core_earnings: list[bool] = field(default_factory=list)
    density: list[float] = field(default_factory=list)
    cp_error: list[float] = field(default_factory=list)
    cp_error_episode: list[float] = field(default_factory=list)
    interbank_share: list[float] = field(default_factory=list)
    rate: list[float] = field(default_factory=list)
    scarcity: list[float] = field(default_factory=list)
    priced: float = 0.0
    above_ceiling: float = 0.0
    tail_alpha: list[float] = field(default_factory=list)
    sources: dict[str, float] = field(default_factory=dict)
    obs: list[np.ndarray] = field(default_factory=list)
    ahead: list[np.ndarray] = field(default_factory=list)
    groups: list[np.ndarray] = field(default_factory=list)


# ------------------------------------------------------------------ statistics
RIDGE = 0.1
"""Ridge penalty of the predictability regression, per training row on standardised features:
small enough to leave a real signal (a planted R^2 of 0.33 reads 0.325 instead of 0.331), large
enough that nearly collinear features cannot blow the out-of-sample R^2 up (it read -2e7 at 100
banks without it). What is left below zero is honest: fitted on some episodes, the observation
predicts the others' returns worse than their mean."""


def predictability_r2(x: np.ndarray, y: np.ndarray, train: np.ndarray) -> float:
    """Out-of-sample R^2 of the least-squares regression of ``y`` on ``x`` (with an intercept):
    fitted on the rows where ``train`` is true, scored on the others (Campbell & Thompson 2008):
    1 - SSE / SST, both around the training mean. Out of sample, fitting noise cannot pass for
    predictability (in sample, thirty regressors and overlapping 10-step windows would: the
    rows of one step and of neighbouring steps share most of their return). Pure noise scores
    about 0 or below; a real predictable component scores its share of the variance. NaN when
    either part is empty. Weekly index returns are close to unpredictable (Fama 1970): target < 0.02."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    train = np.asarray(train, dtype=bool)
    if not train.any() or train.all():
        return float("nan")
    x = x.reshape(y.size, -1)
    # standardised on the training rows, constant columns dropped, with a light ridge: features
    # that are (nearly) collinear in the training half must not explode out of sample
    mu, sd = x[train].mean(axis=0), x[train].std(axis=0)
    keep = sd > 1e-12
    z = (x[:, keep] - mu[keep]) / sd[keep]
    ybar = y[train].mean()
    gram = z[train].T @ z[train] + RIDGE * train.sum() * np.eye(z.shape[1])
    coef = np.linalg.solve(gram, z[train].T @ (y[train] - ybar))
    test = ~train
    sst = float(((y[test] - ybar) ** 2).sum())
    if sst <= 0:
        return float("nan")
    return 1.0 - float(((y[test] - ybar - z[test] @ coef) ** 2).sum()) / sst


def _annual(m: Measurements, num: list[float], den: list[float]) -> float | None:
    """Median over bank-episodes of num / den per year."""
    if not num or not den:
        return None
    r = np.asarray(num) / np.maximum(np.asarray(den), 1e-12) / np.asarray(m.years)
    return float(np.median(r))


def _cost_income(m: Measurements) -> float | None:
    if not m.nii:
        return None
    income = np.asarray(m.nii) + np.asarray(m.fees) + np.asarray(m.market_result)
    cost = np.asarray(m.operating_cost)
    ok = income > 0
    return float(np.median(cost[ok] / income[ok])) if ok.any() else None


def _share(m: Measurements, key: str) -> float | None:
    if not m.sources:
        return None
    value = m.sources.get(key, 0.0)
    total = sum(v for v in m.sources.values() if np.isfinite(v))
    if total <= 0 or not np.isfinite(value):
        return None
    share = value / total
    return 0.0 if abs(share) < 1e-12 else share  # rounding dust (a fraction of a cent in millions) is none


def _correlation(a: list[float], b: list[float]) -> float | None:
    x, y = np.asarray(a), np.asarray(b)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3 or x[ok].std() == 0 or y[ok].std() == 0:
        return None
    return float(np.corrcoef(x[ok], y[ok])[0, 1])


def _finite(values: list[float], reduce: Callable[[np.ndarray], float]) -> float | None:
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    return float(reduce(v)) if v.size else None


def _r2(m: Measurements) -> float | None:
    if not m.obs:
        return None
    groups = np.concatenate(m.groups)
    episode, step = groups // 1_000_000, groups % 1_000_000
    # fitted on the even episodes, scored on the odd ones (one episode: its first half, then its second)
    train = episode % 2 == 0 if np.unique(episode).size > 1 else step < np.median(step)
    value = predictability_r2(np.concatenate(m.obs), np.concatenate(m.ahead), train)
    return value if np.isfinite(value) else None


# ------------------------------------------------------------------ the table
@dataclass(frozen=True)
class Fact:
    """One stylised fact: ``compute(measurements)`` gives the model's value in ``unit``
    (None: not measurable here); the band is [``low``, ``high``] (None: open side, both
    None: reported only), held only in markets of at least ``min_banks`` banks; ``scale(n)``
    multiplies both bounds in a market of n banks (None: the band is the same at every size);
    ``reference`` a short citation; ``how`` what is measured."""

    name: str
    unit: str
    low: float | None
    high: float | None
    reference: str
    how: str
    compute: Callable[[Measurements], float | None]
    min_banks: int = 0
    scale: Callable[[int], float] | None = None

    def band(self, n_banks: int | None = None) -> tuple[float | None, float | None]:
        """(low, high) in a market of ``n_banks``; unknown or below ``min_banks`` (where the band is
        not held), the band at ``min_banks``."""
        if self.scale is None:
            return self.low, self.high
        k = self.scale(max(n_banks or 0, self.min_banks))
        return (None if self.low is None else self.low * k), (None if self.high is None else self.high * k)


FACTS: tuple[Fact, ...] = (
    Fact("roe", "per year", 0.04, 0.10, "ECB Supervisory Banking Statistics; FDIC QBP",
         "net income / mean equity, annualised, median over banks alive at the end",
         lambda m: _annual(m, m.net_income, m.mean_equity)),
    Fact("roa", "per year", 0.003, 0.012, "ECB Supervisory Banking Statistics; FDIC QBP",
         "net income / mean assets, annualised, median over banks alive at the end",
         lambda m: _annual(m, m.net_income, m.mean_assets)),
    Fact("net_interest_margin", "per year", 0.01, 0.03, "ECB Supervisory Banking Statistics; FDIC QBP",
         "(interest income - interest expense) / mean assets, annualised, median",
         lambda m: _annual(m, m.nii, m.mean_assets)),
    Fact("cost_income", "ratio", 0.50, 0.70, "ECB Supervisory Banking Statistics; FDIC QBP",
         "operating costs / operating income (net interest income + fees + market result), median",
         _cost_income),
    Fact("share_losing_money", "share of banks", None, 0.10, "ECB Supervisory Banking Statistics",
         "banks with negative net income over the episode or defaulted, over all banks",
         lambda m: float(np.mean(m.losing)) if m.losing else None),
    Fact("share_negative_core_earnings", "share of banks", None, 0.10,
         "Federal Reserve DFAST methodology (PPNR, here without trading); Hirtle et al. 2016 (judgement band)",
         "banks whose core earnings over the episode (net interest income, the book's yield net of expected "
         "losses included, + fees - operating costs; before credit surprises, market results and other) are "
         "negative, over all banks: losses from the banks' structure, not from credit, runs or markets",
         lambda m: float(np.mean(m.negative_core_earnings)) if m.negative_core_earnings else None),
    Fact("interbank_assets_share", "share of assets", 0.02, 0.15,
         "ECB consolidated banking data (judgement band); Upper & Worms 2004",
         "interbank loans / total assets of the live banks, mean over steps",
         lambda m: _finite(m.interbank_share, np.mean)),
    Fact("density_lowest", "share of links", 0.01, 0.08, "Upper & Worms 2004; Boss et al. 2004; Soramaki et al. 2007 (judgement band at 100)",
         f"links / possible directed links among live banks, lowest step (band at {NETWORK_MIN_BANKS}+ banks, "
         f"set at {NETWORK_MIN_BANKS} and falling as 1/n: the same counterparties a bank)",
         lambda m: _finite(m.density, np.min), NETWORK_MIN_BANKS, per_bank_from(NETWORK_MIN_BANKS)),
    Fact("density_highest", "share of links", 0.01, 0.08, "Upper & Worms 2004; Boss et al. 2004; Soramaki et al. 2007 (judgement band at 100)",
         f"links / possible directed links among live banks, highest step (band at {NETWORK_MIN_BANKS}+ banks, "
         f"set at {NETWORK_MIN_BANKS} and falling as 1/n: the same counterparties a bank)",
         lambda m: _finite(m.density, np.max), NETWORK_MIN_BANKS, per_bank_from(NETWORK_MIN_BANKS)),
    Fact("core_periphery_error", "errors per link", None, 0.30, "Craig & von Peter 2014",
         f"Craig-von Peter error of the best core found at the episode's worst step, median over episodes (band at {NETWORK_MIN_BANKS}+ banks)",
         lambda m: _finite(m.cp_error_episode, np.median), NETWORK_MIN_BANKS),
    Fact("core_periphery_error_worst", "errors per link", None, None, "Craig & von Peter 2014",
         "Craig-von Peter error at the worst step of all episodes (a market shrunk by a default cascade)",
         lambda m: _finite(m.cp_error, np.max)),
    Fact("in_degree_tail_exponent", "exponent", 2.0, 3.0, "Boss et al. 2004",
         f"discrete power-law MLE (Clauset et al. 2009) on the last quarter's links at the end, mean over episodes; n/a below {TAIL_MIN_BANKS} banks",
         lambda m: _finite(m.tail_alpha, np.mean), TAIL_MIN_BANKS),
    Fact("rate_scarcity_correlation", "correlation", 0.5, None, "Poole 1968; Bindseil 2014 (judgement band)",
         "correlation over steps of the interbank rate with requests / (requests + supply)",
         lambda m: _correlation(m.rate, m.scarcity)),
    Fact("shortfalls_by_interbank", "share of shortfalls", None, None, "Afonso, Kovner & Schoar 2011",
         "dollars of shortfalls covered by the interbank market", lambda m: _share(m, "interbank")),
    Fact("shortfalls_by_facility", "share of shortfalls", None, None, "Bindseil 2014",
         "dollars of shortfalls covered by the central bank facility", lambda m: _share(m, "facility")),
    Fact("shortfalls_by_fire_sales", "share of shortfalls", None, 0.10, "Shleifer & Vishny 2011",
         "dollars of shortfalls covered by fire sales of market positions (the costly last resort)",
         lambda m: _share(m, "fire_sale")),
    Fact("volume_above_ceiling", "share of volume", None, 0.0, "Poole 1968; Bindseil 2014",
         "interbank volume priced this step (new loans and rollovers) above the lending facility",
         lambda m: m.above_ceiling / m.priced if m.priced > 0 else None),
    Fact("return_predictability_r2", "R^2", None, 0.02, "Fama 1970",
         f"out-of-sample R^2 of the mean {HORIZON}-step log return over markets on the observation, pooled (fit on even episodes, scored on odd; below 0: the fit predicts worse than the mean, i.e. nothing to predict)",
         _r2),
)
"""Every stylised fact ``interbank facts`` measures, in the order it prints them."""


@dataclass(frozen=True)
class FactResult:
    """A measured fact: ``value`` (None: n/a), the band, ``ok`` (None when there is no value,
    no band, the market is smaller than ``min_banks``, the size the band holds from, or the
    scenario is not held to the band: ``not_held``, its reason), the reference and the unit."""

    fact: str
    value: float | None
    low: float | None
    high: float | None
    ok: bool | None
    reference: str
    unit: str
    min_banks: int = 0
    not_held: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The fields ``--json`` prints (fact, value, low, high, ok, reference, unit): ``ok`` is
        null where the band waits for a larger market or the scenario file does not hold it (the
        reason is in the file's ``facts:`` section and under the table)."""
        row = asdict(self)
        del row["min_banks"], row["not_held"]
        return row


def below_size(min_banks: int, n_banks: int | None) -> bool:
    """Whether a market of ``n_banks`` is smaller than ``min_banks``, the size a fact's band holds
    from (an unknown size is not)."""
    return n_banks is not None and n_banks < min_banks


def judge(fact: Fact, value: float | None, n_banks: int | None = None, not_held: str | None = None) -> FactResult:
    """The fact's value against its band in a market of ``n_banks`` (``Fact.band``; ok None without
    a value, without a band, in a market below the fact's ``min_banks``, or where the scenario is
    not held to it: ``not_held``, its reason)."""
    if value is not None and not np.isfinite(value):
        value = None
    low, high = fact.band(n_banks)
    if value is None or (low is None and high is None) or below_size(fact.min_banks, n_banks) or not_held:
        ok = None
    else:
        ok = (low is None or value >= low - 1e-12) and (high is None or value <= high + 1e-12)
    return FactResult(fact.name, value, low, high, ok, fact.reference, fact.unit, fact.min_banks, not_held or None)


def scenario_not_held(config: Any) -> dict[str, str]:
    """The facts a scenario file is not held to, each with the reason: its ``facts:`` section,
    ``not_held`` (fact names) and ``reason`` (why: e.g. normal years' profitability bands in a
    scenario that is not a normal year). None for a dict or a config object, or a file without
    the section. A bad section is a one-line ``ConfigError``."""
    from interbank.config import ConfigError, read_yaml

    if not isinstance(config, (str, Path)):
        return {}
    section = read_yaml(config).get("facts")
    if section is None:
        return {}
    where = f"{config}: facts"
    if not isinstance(section, dict) or set(section) - {"not_held", "reason"}:
        raise ConfigError(f"{where} takes not_held (a list of facts) and reason (why), nothing else")
    names, reason = section.get("not_held", []), section.get("reason")
    if not isinstance(names, list) or not all(isinstance(x, str) for x in names):
        raise ConfigError(f"{where}.not_held must be a list of fact names")
    if names and (not isinstance(reason, str) or not reason.strip()):
        raise ConfigError(f"{where}.reason must say why the scenario is not held to {', '.join(names)}")
    known = {f.name for f in FACTS}
    unknown = [x for x in names if x not in known]
    if unknown:
        raise ConfigError(f"{where}.not_held: {unknown[0]!r} is not a fact (facts: {', '.join(sorted(known))})")
    return {name: reason.strip() for name in names}


# ------------------------------------------------------------------ policies
_POLICY = re.compile(r"^([a-z_]+)(?:\((.*)\))?$")


def parse_policy(text: str, seed: int | None = None):
    """A registry policy from ``name``, ``name(value)`` (the rule's first tunable parameter)
    or ``name(key=value, ...)``, e.g. ``lend_surplus(3)``; ValueError names the mistake."""
    from interbank.policies import BASELINES, RULE_GRIDS, make_policy

    match = _POLICY.match(text.strip())
    if not match or match.group(1) not in BASELINES:
        raise ValueError(f"unknown policy {text!r}; choose one of {', '.join(BASELINES)} (e.g. lend_surplus(3))")
    name, args = match.group(1), match.group(2)
    params: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in (args or "").split(","))):
        key, _, value = part.rpartition("=")
        key = key.strip() or next(iter(RULE_GRIDS.get(name, {})), "")
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"policy {text!r}: {value!r} is not a number") from None
        if not key:
            raise ValueError(f"policy {text!r}: {name} takes no parameters")
        if key in params:
            raise ValueError(f"policy {text!r} gives {key} twice")
        params[key] = number
    return make_policy(name, seed, **params)  # (it checks the names, and the numbers against the rule's bounds)


# ------------------------------------------------------------------ collection
NETWORK_WINDOW = 13
"""Steps (a quarter of weeks) over which a pair that had a loan outstanding counts as a link: the
empirical networks are measured from quarterly or annual exposure data (Craig & von Peter 2014;
Boss et al. 2004), not from one day's book."""


def _quarter_network(s, recent: list[np.ndarray], record: bool = True) -> tuple[np.ndarray, np.ndarray, int]:
    """The live banks' links over the last NETWORK_WINDOW steps (``recent`` holds each step's pairs;
    ``record``: first add the current step's, once per step)."""
    n_all = s.n
    if record:
        recent.append(np.unique(s.lender[s.amount > 0] * n_all + s.borrower[s.amount > 0]))
        del recent[:-NETWORK_WINDOW]
    keys = np.unique(np.concatenate(recent))
    lender, borrower = keys // n_all, keys % n_all
    alive = s.active
    keep = alive[lender] & alive[borrower]
    remap = np.cumsum(alive) - 1
    return remap[lender[keep]], remap[borrower[keep]], int(alive.sum())


def _measure_network(s, m: Measurements, recent: list[np.ndarray]) -> None:
    lender, borrower, n = _quarter_network(s, recent)
    m.density.append(ns.density(lender, borrower, n))
    m.cp_error.append(ns.core_periphery_error(lender, borrower, n, refine=20).error)
    assets = s.total_assets()[s.active].sum()
    m.interbank_share.append(float(s.loans_out()[s.active].sum() / assets) if assets > 0 else float("nan"))


def _play(env, policy, seed: int, episode: int, m: Measurements) -> None:
    from interbank.policies.rollout import rollout

    acc: dict[str, Any] = {}

    def on_reset(s) -> None:
        acc.update(eq_sum=np.zeros(s.n), as_sum=np.zeros(s.n), steps=0, log_price=[np.log(s.price).mean()],
                   obs=[env.observation_array().copy()], live=[s.active.copy()], recent=[])
        _measure_network(s, m, acc["recent"])

    def on_batch(s, batch) -> None:
        acc["eq_sum"] += np.where(s.active, s.equity(), 0.0)
        acc["as_sum"] += np.where(s.active, s.total_assets(), 0.0)
        acc["steps"] += 1
        acc["log_price"].append(np.log(s.price).mean())
        acc["obs"].append(env.observation_array().copy())
        acc["live"].append(s.active.copy())
        _measure_network(s, m, acc["recent"])
        f = s.funding
        asked, offered = float(np.sum(f["requested"])), float(f["offered"])
        m.scarcity.append(funding.scarcity(asked, offered))  # steps without loans have no rate: left out
        m.rate.append(float(f["rate"]))
        led = s.ledger
        now = (led.due == s.t + s.config.funding.maturity) & (led.amount > 0)
        m.priced += float(led.amount[now].sum())
        m.above_ceiling += float(led.amount[now & (led.rate > s.lending_rate + 1e-12)].sum())

    first = len(m.cp_error)
    rollout(env, policy, seed, on_reset=on_reset, on_batch=on_batch)
    worst = _finite(m.cp_error[first:], np.max)
    m.cp_error_episode.append(float("nan") if worst is None else worst)
    s = env.system
    steps = max(acc["steps"], 1)
    alive = s.active
    years = steps / s.config.steps_per_year
    inc = s.income
    net = net_income(inc)
    nii = net_income(inc, ("interest_income", "interest_expense"))
    for key, values in (("nii", nii), ("fees", inc["fee_income"]),
                        ("operating_cost", inc["operating_cost"]), ("market_result", inc["market_result"])):
        getattr(m, key).extend(values[alive].tolist())
    m.net_income.extend(net[alive].tolist())
    m.mean_equity.extend((acc["eq_sum"][alive] / steps).tolist())
    m.mean_assets.extend((acc["as_sum"][alive] / steps).tolist())
    m.years.extend([years] * int(alive.sum()))
    m.losing.extend((~alive | (net < 0)).tolist())
    m.negative_core_earnings.extend((nii + inc["fee_income"] - inc["operating_cost"] < 0).tolist())
    if s.n >= TAIL_MIN_BANKS:
        # on the same quarterly network as density and core-periphery (Boss et al. 2004 fit the tail
        # on quarterly exposure data), not on the last step's book alone
        lender, borrower, n = _quarter_network(s, acc["recent"], record=False)
        m.tail_alpha.append(ns.in_degree_tail_exponent(lender, borrower, n).alpha)
    for k, v in s.liquidity_sources.items():
        m.sources[k] = m.sources.get(k, 0.0) + float(v)
    # predictability: each step's observation rows against the mean log return HORIZON steps ahead
    lp = np.asarray(acc["log_price"])
    for t in range(len(lp) - HORIZON):
        rows = acc["obs"][t][acc["live"][t]]
        if rows.size:
            m.obs.append(rows)
            m.ahead.append(np.full(rows.shape[0], lp[t + HORIZON] - lp[t]))
            m.groups.append(np.full(rows.shape[0], episode * 1_000_000 + t))


def collect(config: Any, policy: str = "lend_surplus(3)", episodes: int = EPISODES, banks: int | None = None, seed: int = 0,
            progress: Callable[[int], None] | None = None) -> Measurements:
    """Play ``episodes`` seeded episodes (seeds seed, seed + 1, ...) of ``config`` (a path, dict
    or EnvConfig) with ``policy`` (see ``parse_policy``) and collect the ``Measurements``.
    ``progress(done)`` is called after each episode."""
    from interbank.envs import parallel_env

    if episodes < 1:
        raise ValueError(f"episodes = {episodes} must be at least 1")
    overrides = {"n_banks": banks} if banks is not None else {}
    env = parallel_env(config, **overrides)
    rule = parse_policy(policy, seed)
    m = Measurements(n_banks=env.system.n)
    for i in range(episodes):
        _play(env, rule, seed + i, i, m)
        if progress:
            progress(i + 1)
    return m


def check(config: Any, policy: str = "lend_surplus(3)", episodes: int = EPISODES, banks: int | None = None, seed: int = 0,
          progress: Callable[[int], None] | None = None) -> list[FactResult]:
    """Every fact of ``FACTS`` measured on seeded episodes, against its band (those a scenario file
    is not held to, ``scenario_not_held``, are reported with the reason, unjudged)."""
    not_held = scenario_not_held(config)
    m = collect(config, policy, episodes, banks, seed, progress)
    return [judge(f, f.compute(m), m.n_banks, not_held.get(f.name)) for f in FACTS]
