"""Typed, validated configuration for interbank scenarios.

A scenario YAML file holds one top-level ``env:`` mapping (training configs add
their own sections beside it). Every field below has a default, so an empty
file is the built-in default scenario. Validation is strict: an unknown key, a
wrong type or a value out of range raises :class:`ConfigError` with a one-line
message that names the key, e.g.
``configs/stress.yaml: env.banks[2].risk = 1.5 is outside [0, 1]``.

Units: money is in dollars (any consistent currency unit), rates are per
simulation step, fractions are in [0, 1].

Every number is finite and bounded, so the simulation's arithmetic cannot
overflow: a bank's capital is at most ``MAX_CAPITAL`` and its initial assets
(capital x target leverage) at most ``MAX_ASSETS``. Types are strict: a number
must be a number (``n_banks: true`` or ``capital: "50"`` is refused).

YAML is read as UTF-8, nested at most ``MAX_YAML_DEPTH`` levels, and aliases may
expand to at most ``MAX_YAML_NODES`` values (no alias bombs); ``1e6`` is a number; a key
written twice in one mapping is refused (not the last one silently kept).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_serializer, model_validator

MIN_CAPITAL = 1e-6  # dollars per bank: below it ratios lose precision
MAX_CAPITAL = 1e12  # dollars per bank
MAX_ASSETS = 1e13  # a bank's initial assets: capital x target_leverage
MAX_MONEY = 1e13  # any other amount of money (explicit network edges)
MAX_YAML_DEPTH = 64
MAX_YAML_NODES = 1_000_000
MAX_YAML_BYTES = 16_000_000


class ConfigError(ValueError):
    """A user mistake in a configuration: the message is one line naming the key."""


def _registered(name: str, registry: dict[str, Any]) -> str:
    """A name chosen from a registry: an unknown one is a config error, never a silent fallback."""
    if name not in registry:
        raise ValueError(f"is not one of {sorted(registry)}")
    return name


class _Strict(BaseModel):
    # strict: no coercion of strings or booleans into numbers or flags (an int is still a float)
    model_config = ConfigDict(extra="forbid", frozen=False, validate_assignment=True, strict=True)


class _WithOwnParams(_Strict):
    """A section with a registered plug-in's own ``params``: dumped without them when empty, as
    before plug-ins had parameters (digests, init events and saved configs unchanged)."""

    @model_serializer(mode="wrap")
    def _without_empty_params(self, handler):
        data = handler(self)
        if isinstance(data, dict) and not data.get("params"):
            data.pop("params", None)
        return data


class BankSpec(_Strict):
    """One bank as in the seed's playground.

    Fields: ``capital`` (initial equity, dollars, > 0), ``target_leverage``
    (assets / equity, >= 1), ``risk`` (risk appetite in [0, 1]: scales how much
    the bank lends and invests per action and its initial market share).
    """

    capital: float = Field(ge=MIN_CAPITAL, le=MAX_CAPITAL, allow_inf_nan=False)
    target_leverage: float = Field(ge=1, le=100, allow_inf_nan=False)
    risk: float = Field(ge=0, le=1, allow_inf_nan=False)

    @model_validator(mode="after")
    def _assets(self) -> BankSpec:
        if self.capital * self.target_leverage > MAX_ASSETS:
            raise ValueError(f"capital x target_leverage = {self.capital * self.target_leverage:.3g} is more than "
                             f"{MAX_ASSETS:.0e} (the initial assets of one bank)")
        return self


Share = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]  # a finite number in [0, 1]: rates, shares, probabilities


def _check_order(model: BaseModel, *names: str, subject: str = "", why: str = "") -> None:
    """Raise (a validation error) unless the fields ``names`` of ``model`` do not decrease."""
    values = [getattr(model, name) for name in names]
    if any(low > high for low, high in itertools.pairwise(values)):
        raise ValueError(f"{subject or 'values'} must satisfy {' <= '.join(names)}{why}")


class BankGeneration(_Strict):
    """Seeded distribution used when ``banks`` is not given.

    capital ~ lognormal(log(capital_median), capital_sigma);
    target_leverage ~ uniform(leverage_low, leverage_high); risk ~ uniform(risk_low, risk_high).
    """

    capital_median: float = Field(default=100.0, ge=MIN_CAPITAL, le=MAX_CAPITAL, allow_inf_nan=False)
    capital_sigma: float = Field(default=0.5, ge=0, le=3, allow_inf_nan=False)
    leverage_low: float = Field(default=8.0, ge=1, le=100, allow_inf_nan=False)
    leverage_high: float = Field(default=12.0, ge=1, le=100, allow_inf_nan=False)
    risk_low: Share = 0.1
    risk_high: Share = 0.9

    @model_validator(mode="after")
    def _ordered(self) -> "BankGeneration":
        _check_order(self, "leverage_low", "leverage_high", subject="leverages")
        _check_order(self, "risk_low", "risk_high", subject="risks")
        return self


class NetworkConfig(_WithOwnParams):
    """Directed lending network drawn at reset (an edge i -> j: i may lend to j).

    ``type``: ``fitness`` (the default: heavy-tailed fitness by bank size,
    density ~ x^-``exponent``, links between small banks excluded by the tiering
    rule below: sparse, core-periphery, fat-tailed degrees like real interbank
    networks), ``erdos_renyi`` (each ordered pair independently),
    ``scale_free`` (Chung-Lu with power-law expected degrees, exponent
    ``exponent``), ``core_periphery`` (a dense core of ``core_fraction`` of the
    banks, periphery banks linked only to the core) or ``explicit`` (the
    ``edges`` list). ``avg_degree`` is the mean out-degree.
    ``edges`` entries are ``[lender, borrower, amount]`` with bank indices.
    ``params``: the own parameters of a generator registered from
    ``interbank/sim/networks/`` (e.g. ``ring``: ``{k: 2}``), checked by its class.

    ``reach``: the tiering of new links, for ``fitness`` and for the funding market
    whatever the type: with banks ranked by initial capital (1 = largest), a pair
    i, j may form a new link only if rank_i x rank_j <= ``reach`` x n_banks
    (a threshold fitness model, Caldarelli et al. 2002): about the
    sqrt(reach x n) largest banks deal with each other, a small bank only with large
    ones. ``0`` lifts the rule (any pair, lenders met in a random order).
    """

    type: str = "fitness"
    avg_degree: float = Field(default=4.0, ge=0, le=1_000_000, allow_inf_nan=False)
    exponent: float = Field(default=2.5, gt=2, le=5, allow_inf_nan=False)
    core_fraction: float = Field(default=0.2, gt=0, lt=1, allow_inf_nan=False)
    reach: float = Field(default=1.0, ge=0, le=1_000_000, allow_inf_nan=False)
    edges: list[tuple[int, int, float]] = Field(default_factory=list)
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("edges", mode="before")
    @classmethod
    def _edge_rows(cls, value: Any) -> Any:
        # YAML and JSON give lists; the strict tuple wants tuples (their items stay strict)
        if isinstance(value, list):
            return [tuple(row) if isinstance(row, list) else row for row in value]
        return value

    @field_validator("type")
    @classmethod
    def _known(cls, value: str) -> str:
        from interbank.sim.network import NETWORKS

        return _registered(value, NETWORKS)

    @model_validator(mode="after")
    def _own_params(self) -> "NetworkConfig":
        # a registered generator's own parameters (``interbank/sim/networks/``), checked by its class
        from interbank.sim.network import NETWORK_REGISTRY

        NETWORK_REGISTRY.own_params(self.type, self.params)
        return self


class BalanceSheetConfig(_Strict):
    """How the initial balance sheet splits a bank's assets (fractions of assets).

    ``interbank_share`` of assets is lent over the bank's out-edges (ignored for
    explicit edges, which carry their own amounts); ``market_share`` (scaled by
    ``0.5 + risk``) is invested, split evenly over the markets; ``book_share`` is
    the illiquid loan book to the real economy; the rest is cash (reduced book
    first if the other parts exceed the assets). Liabilities are the borrowings
    the network implies plus deposits.
    """

    interbank_share: float = Field(default=0.15, ge=0, le=0.6, allow_inf_nan=False)
    market_share: float = Field(default=0.02, ge=0, le=0.6, allow_inf_nan=False)
    book_share: float = Field(default=0.70, ge=0, le=0.95, allow_inf_nan=False)


class RatesConfig(_Strict):
    """Annual rates, converted to per-step rates by ``steps_per_year``.

    The income statement of a bank (``interbank.sim.phases.interest_and_maturities``):
    ``deposit``: what deposits pay (below the policy rate: deposit betas are well
    under 1); ``book``: yield of the real-economy loan book, net of expected
    credit losses; ``book_volatility``: annual standard deviation of the book's
    idiosyncratic return (credit surprises, per bank); ``fees``: fee and
    commission income, as a share of the loan book (customer business);
    ``operating_cost``: variable non-interest expenses, as a share of the loan
    book (nothing is charged on cash, reserves, interbank claims or market
    positions); ``fixed_cost``: the rest of the cost base, a share of the
    bank's *initial* assets (dollars a year that do not shrink with the book).
    Reserves (cash) earn the central bank's deposit facility rate.
    """

    deposit: Share = 0.005
    book: float = Field(default=0.028, ge=-1, le=1, allow_inf_nan=False)
    book_volatility: Share = 0.005
    fees: Share = 0.006
    operating_cost: Share = 0.014
    fixed_cost: Share = 0.005


class FundingConfig(_Strict):
    """The interbank funding market (see ``interbank.sim.funding``).

    Loans run ``maturity`` steps; at maturity a borrower repays what its cash
    above ``repay_buffer`` times its reserve requirement covers (the central bank
    facility first, the dearest source), and the rest rolls over, repriced at
    the borrower's current rate. A lender that calls (BORROW) gets its share
    back now. The annual rate is the market rate, set by scarcity inside the
    central bank's corridor (``interbank.sim.funding.market_rate``), plus
    ``spread_per_leverage`` times the borrower's leverage (assets / equity),
    the spread capped at ``max_spread``, the rate capped at the lending
    facility (a borrower with collateral would go there instead).

    ``dealers``: in a tiered market (``network.reach`` > 0), what the tiers leave
    unmatched is intermediated by the large banks (lender -> dealer -> borrower,
    a dealer within reach of both, within its capital and liquidity headroom)
    instead of lent directly between two small banks: the core intermediates and
    periphery banks do not trade with each other (Craig & von Peter 2014; in 't Veld
    & van Lelyveld 2014). Off: those leftovers are lent directly, any pair allowed.

    ``relationship_memory``: steps a lending relationship outlives its last loan
    (made or rolled over): a lender and a borrower that dealt within it are
    each other's existing counterparties in the funding market, served first
    (relationship lending: Afonso, Kovner & Schoar 2011; Cocco, Gomes & Martins
    2009). ``0``: only pairs with a loan outstanding.
    """

    maturity: int = Field(default=4, ge=1, le=10_000)
    relationship_memory: int = Field(default=26, ge=0, le=10_000)
    spread_per_leverage: Share = 0.0002
    max_spread: float = Field(default=0.2, ge=0, le=5, allow_inf_nan=False)
    repay_buffer: float = Field(default=1.5, ge=1, le=1000, allow_inf_nan=False)
    dealers: bool = True


class DepositFlowConfig(_Strict):
    """Seeded deposit flows between banks each step (Iori, Jafarey & Padilla 2006).

    Bank i's flow is ``volatility * D_i * z_i`` with z ~ N(0, 1), made zero-sum
    across active banks by removing the deposit-weighted mean, so one bank's
    outflow is another's inflow; plus ``reversion * (D0_i - D_i)``, which pulls
    deposits back toward their initial level (new depositors replace those lost
    to runs).
    """

    volatility: Share = 0.03
    reversion: Share = 0.1


class RiskWeights(_Strict):
    """Basel risk weights per asset class (fractions of exposure)."""

    cash: float = Field(default=0.0, ge=0, le=10, allow_inf_nan=False)
    interbank: float = Field(default=0.4, ge=0, le=10, allow_inf_nan=False)
    book: float = Field(default=1.0, ge=0, le=10, allow_inf_nan=False)
    markets: float = Field(default=2.5, ge=0, le=10, allow_inf_nan=False)


class RegulationConfig(_Strict):
    """Reserve requirement, capital and liquidity minimums (see ``interbank.sim.regulation``).

    ``reserve_requirement``: cash >= this fraction of deposits after the flows;
    ``min_capital_ratio`` and ``min_lcr``: LEND and INVEST are masked when the
    trade would leave the bank below either minimum (the ratios as they would be
    right after the trade, at the amount the action would move); ``min_lcr``: liquidity coverage minimum, with
    ``lcr_deposit_runoff`` of deposits, all interbank and central bank
    borrowing as outflows, ``lcr_market_haircut`` on market positions in the
    liquid assets and inflows capped at ``lcr_inflow_cap`` of outflows.
    """

    reserve_requirement: Share = 0.02
    min_capital_ratio: Share = 0.08
    min_lcr: float = Field(default=1.0, ge=0, le=10, allow_inf_nan=False)
    lcr_deposit_runoff: Share = 0.1
    lcr_market_haircut: Share = 0.5
    lcr_inflow_cap: Share = 0.75
    risk_weights: RiskWeights = Field(default_factory=RiskWeights)


class CentralBankConfig(_Strict):
    """Standing facilities (annual rates). With ``enabled`` false there is no lending
    facility (cash still earns ``deposit_rate``). The lending facility lends at
    ``lending_rate`` against the book and market positions after ``book_haircut``
    and ``market_haircut``; ``policy_rate`` is the base of interbank rates.

    The central bank as an agent (``interbank.envs.central_bank``, off by default): with
    ``agent`` true the env has one more agent, ``central_bank``, deciding every ``every`` steps;
    its reward is the change in welfare minus ``loss_weight`` x the change in its own losses
    (minus its net worth, over initial equity). When no action is sent for it, the rule ``rule`` (``never``, ``taylor``,
    ``ccyb``, ``bagehot``; parameters ``rule_params``) decides. Instruments: the policy rate in
    steps of ``rate_step`` within [0, ``max_policy_rate``] (the corridor moves with it); a
    countercyclical capital buffer in steps of ``ccyb_step`` within [0, ``max_ccyb``] on top of
    ``regulation.min_capital_ratio``; the facility's haircuts tight / normal / wide; and loans of
    ``lend_share`` x initial capital to each of the ``lend_banks`` banks with the highest
    DebtRank, at the lending rate.

    Pass-through: when the policy rate is moved away from ``policy_rate`` (by the agent or a typed
    ``set_policy_rate``), what deposits pay moves by ``deposit_pass_through`` x the move (a deposit
    beta, floored at 0) and what the loan book yields by ``book_pass_through`` x the move (the book
    reprices as a floating-rate book); both 0 by default: the customers' rates are fixed."""

    enabled: bool = True
    deposit_rate: Share = 0.01
    policy_rate: Share = 0.02
    lending_rate: Share = 0.03
    book_haircut: Share = 0.3
    market_haircut: Share = 0.5
    # the central bank as an agent (``interbank.envs.central_bank``); off: the env has banks only
    agent: bool = False
    every: int = Field(default=1, ge=1, le=1_000_000)
    loss_weight: float = Field(default=1.0, ge=0, le=1000, allow_inf_nan=False)
    rule: Literal["never", "taylor", "ccyb", "bagehot"] = "never"
    rule_params: dict[str, float] = Field(default_factory=dict)
    rate_step: float = Field(default=0.0025, gt=0, le=0.1, allow_inf_nan=False)
    max_policy_rate: Share = 0.1
    ccyb_step: float = Field(default=0.00625, gt=0, le=0.1, allow_inf_nan=False)
    max_ccyb: float = Field(default=0.025, ge=0, le=0.5, allow_inf_nan=False)
    lend_banks: int = Field(default=3, ge=1, le=1_000_000)
    lend_share: float = Field(default=0.5, gt=0, le=10, allow_inf_nan=False)
    # pass-through of the policy rate to the rates of the banks' customers (0: fixed, as in env v3)
    deposit_pass_through: Share = 0.0
    book_pass_through: float = Field(default=0.0, ge=0, le=1.5, allow_inf_nan=False)

    @model_validator(mode="after")
    def _corridor(self) -> "CentralBankConfig":
        _check_order(self, "deposit_rate", "policy_rate", "lending_rate", subject="rates", why=" (a corridor)")
        if self.agent and self.policy_rate > self.max_policy_rate:
            raise ValueError(f"policy_rate = {self.policy_rate} is above max_policy_rate = {self.max_policy_rate}")
        if self.rule_params:
            from interbank.envs.central_bank_rules import check_rule_params  # envs: only when a rule has parameters

            check_rule_params(self.rule, self.rule_params)
        return self

    @model_serializer(mode="wrap")
    def _without_unused_agent(self, handler):
        # the agent's settings at their defaults are dumped as before they existed (digests, init events)
        data = handler(self)
        if isinstance(data, dict):
            for name in _AGENT_FIELDS:
                if name in data and data[name] == _AGENT_DEFAULTS[name]:
                    data.pop(name)
        return data


_AGENT_FIELDS: tuple[str, ...] = (
    "agent", "every", "loss_weight", "rule", "rule_params", "rate_step", "max_policy_rate", "ccyb_step", "max_ccyb",
    "lend_banks", "lend_share", "deposit_pass_through", "book_pass_through",
)
_AGENT_DEFAULTS: dict[str, Any] = {
    name: (f.default_factory() if f.default_factory is not None else f.default)
    for name, f in CentralBankConfig.model_fields.items() if name in _AGENT_FIELDS
}


class MarketDynamicConfig(_Strict):
    """Which dynamic moves the markets' values each step (``interbank.sim.market.MARKET_DYNAMICS``).

    ``type``: ``random_walk`` (the default: the random walk with drift of ``MarketConfig``) or a
    dynamic registered from ``interbank/sim/market_dynamics/`` (e.g. ``regime_switching``);
    ``params``: that dynamic's own parameters, checked by its parameter class.
    """

    type: str = "random_walk"
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("type")
    @classmethod
    def _known(cls, value: str) -> str:
        from interbank.sim.market import MARKET_DYNAMICS

        return _registered(value, MARKET_DYNAMICS.entries)

    @model_validator(mode="after")
    def _own_params(self) -> "MarketDynamicConfig":
        from interbank.sim.market import MARKET_DYNAMICS

        MARKET_DYNAMICS.own_params(self.type, self.params)
        return self


class MarketConfig(_Strict):
    """Flow-priced markets, one per entry of ``names`` (BANK_INDEX and FIN_SERVICES by default).

    The price is a random walk with drift (``interbank.sim.market``): log price =
    log value + transient impact. Each step the value moves by ``drift`` (the
    expected return per step, crashes included: the diffusion is compensated
    for them) plus ``volatility`` * noise, plus ``permanent_impact`` of the flow's
    impact; the rest of the impact is transient and decays with a half-life of
    ``impact_half_life`` steps (Bouchaud et al. 2004), so a crowd pays for its
    own impact and cannot farm it. A flow's impact is ``impact`` * net_flow /
    depth, depth = ``depth_fraction`` * total initial bank assets (so the impact
    is scale-aware: the seed's 0.001 per dollar corresponds to a depth of 1,000
    dollars at impact 1). The markets' noises have pairwise ``correlation``.
    ``reversion`` > 0 restores env v2's pull toward a drifting fundamental path,
    which makes prices predictable from the observation (0, a martingale after
    the drift, by default). Prices never fall below ``price_floor`` * initial.
    ``dynamic``: the value's random step, a registered dynamic with its own
    parameters (``{type: random_walk}``, the walk above, by default).
    """

    names: list[str] = Field(default_factory=lambda: ["BANK_INDEX", "FIN_SERVICES"], min_length=1, max_length=32)
    initial_price: float = Field(default=100.0, gt=0, le=1e9, allow_inf_nan=False)
    impact: float = Field(default=1.0, ge=0, le=10, allow_inf_nan=False)
    depth_fraction: float = Field(default=3.0, ge=0.1, le=1e6, allow_inf_nan=False)
    reversion: Share = 0.0
    permanent_impact: Share = 0.5
    impact_half_life: float = Field(default=2.0, gt=0, le=1e6, allow_inf_nan=False)
    drift: float = Field(default=0.001, ge=-0.1, le=0.1, allow_inf_nan=False)
    volatility: Share = 0.02
    correlation: Share = 0.5
    price_floor: float = Field(default=0.01, gt=0, lt=1, allow_inf_nan=False)
    dynamic: MarketDynamicConfig = Field(default_factory=MarketDynamicConfig)

    @model_serializer(mode="wrap")
    def _without_default_dynamic(self, handler):
        # the default dynamic is dumped as before dynamics existed (digests, init events, saved configs)
        data = handler(self)
        if isinstance(data, dict) and data.get("dynamic") in ({"type": "random_walk", "params": {}}, {"type": "random_walk"}):
            data.pop("dynamic")
        elif isinstance(data, dict) and isinstance(data.get("dynamic"), dict) and not data["dynamic"].get("params"):
            data["dynamic"].pop("params", None)
        return data

    @model_validator(mode="after")
    def _unique(self) -> "MarketConfig":
        if len(set(self.names)) != len(self.names):
            raise ValueError(f"names must be distinct, got {self.names}")
        return self


class ScheduledShock(_Strict):
    """A shock at a fixed step: a ``market_crash`` (``market`` loses ``size`` of
    its price) or a ``deposit_withdrawal`` (``bank`` loses ``size`` of deposits,
    paid from cash, then the funding market, fire sales, the central bank) or a
    ``capital_loss`` (``bank``'s cash drops by ``size`` times its initial
    capital, an operational loss)."""

    step: int = Field(ge=1, le=1_000_000)
    type: Literal["market_crash", "deposit_withdrawal", "capital_loss"]
    size: float = Field(gt=0, le=1000, allow_inf_nan=False)
    market: str | None = None
    bank: int | None = Field(default=None, ge=0, le=1_000_000)

    @model_validator(mode="after")
    def _target(self) -> "ScheduledShock":
        if self.type == "market_crash" and self.market is None:
            raise ValueError("a market_crash needs market")
        if self.type != "market_crash" and self.bank is None:
            raise ValueError(f"a {self.type} needs bank")
        if self.type in ("market_crash", "deposit_withdrawal") and self.size > 1:
            raise ValueError(f"size = {self.size} is outside (0, 1] for a {self.type}")
        return self


class ShockConfig(_Strict):
    """Seeded exogenous stress on top of the deposit flows: per step, each market
    crashes with probability ``crash_prob`` (losing ``crash_size`` of its price)
    and each bank faces a deposit run with probability ``withdrawal_prob``
    (losing ``withdrawal_size`` of its deposits: money that leaves the system).
    ``scheduled`` lists deterministic shocks."""

    crash_prob: Share = 0.01
    crash_size: float = Field(default=0.15, ge=0, le=0.99, allow_inf_nan=False)
    withdrawal_prob: Share = 0.01
    withdrawal_size: Share = 0.1
    scheduled: list[ScheduledShock] = Field(default_factory=list)


class ClearingConfig(_WithOwnParams):
    """How a default is settled.

    ``model``: a name from ``interbank.sim.clearing.CLEARING_MODELS``:
    ``rogers_veraart`` (the default: a defaulted bank realises only ``alpha`` of
    its external and ``beta`` of its interbank assets), ``eisenberg_noe``
    (greatest clearing vector, no default costs) or ``fixed_recovery``
    (creditors recover ``recovery`` of their claims). A defaulted bank's market
    positions are fire-sold at ``fire_sale_discount`` below the price and move
    the price like any other outflow; a bank short of cash sells its loan book
    early at ``book_discount``. A bank defaults when its equity is below 0
    (with ``default_at_zero_equity`` also when it is exactly 0) or when it
    cannot pay an obligation. ``params``: the own parameters of a model registered
    from ``interbank/sim/clearing_models/`` (e.g. ``bankruptcy_cost``: ``{cost: 0.1}``),
    checked by its class.
    """

    model: str = "rogers_veraart"
    recovery: Share = 0.4
    alpha: Share = 0.7
    beta: Share = 0.9
    fire_sale_discount: float = Field(default=0.05, ge=0, lt=1, allow_inf_nan=False)
    book_discount: float = Field(default=0.3, ge=0, lt=1, allow_inf_nan=False)
    default_at_zero_equity: bool = False
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("model")
    @classmethod
    def _known(cls, value: str) -> str:
        from interbank.sim.clearing import CLEARING_MODELS

        return _registered(value, CLEARING_MODELS)

    @model_validator(mode="after")
    def _own_params(self) -> "ClearingConfig":
        from interbank.sim.clearing import CLEARING

        CLEARING.own_params(self.model, self.params)
        return self


class ActionConfig(_Strict):
    """Sizes of the five actions (fractions), see ``interbank.sim.actions``.

    LEND offers ``lend_fraction`` * (0.5 + risk) of the cash above the reserve
    requirement to the funding market; BORROW refuses to roll over
    ``call_fraction`` of every loan the bank has out (it is due now);
    INVEST moves ``invest_fraction`` * (0.5 + risk) of the cash above the
    reserve requirement into one market; DIVEST sells ``divest_fraction`` of
    the bank's largest position. An action whose amount would be below
    ``min_trade`` * initial capital is masked.
    """

    lend_fraction: float = Field(default=0.5, gt=0, le=1, allow_inf_nan=False)
    call_fraction: float = Field(default=0.5, gt=0, le=1, allow_inf_nan=False)
    invest_fraction: float = Field(default=0.2, gt=0, le=1, allow_inf_nan=False)
    divest_fraction: float = Field(default=0.5, gt=0, le=1, allow_inf_nan=False)
    min_trade: Share = 0.01
    momentum_temperature: float = Field(default=0.02, ge=1e-6, le=1000, allow_inf_nan=False)


OBJECTIVES: tuple[str, ...] = ("selfish", "social", "difference")
"""``reward.objective``'s choices (``interbank train --objective`` offers the same)."""


class RewardConfig(_Strict):
    """A shareholder's reward (see ``interbank.envs.rewards``).

    Per step: equity change / initial capital, plus ``buffer_weight`` times the
    buffer the priority in force asks for (LIQUIDITY: the liquidity coverage
    buffer over its minimum, STABILITY: the capital buffer over its minimum,
    each clipped to [0, 1]; PROFIT: none). A default costs the bank its
    remaining equity (limited liability) plus ``default_penalty`` (in initial
    capital), so defaulting never pays.

    ``objective``: ``selfish`` (default) pays each bank the above; ``social`` replaces
    the equity term with the change in system welfare (``BankingSystem.welfare``:
    equity of open banks minus losses pushed onto depositors, outside creditors and
    the central bank, over initial total equity), the same for every bank, so one
    shared policy learns what a planner would want. The buffer term is kept.
    ``difference`` is the social objective with credit assignment: the equity term is
    the welfare change the bank's own action caused, against the same step with the
    bank on HOLD (``interbank.envs.difference``), per unit of its initial capital;
    ``difference_samples`` caps the counterfactual re-runs per step (none: one per
    bank that did not HOLD; K: K of them drawn at random, paid with weight
    candidates / K, the others 0 that step).
    """

    objective: Literal[OBJECTIVES] = "selfish"  # type: ignore[valid-type]
    difference_samples: int | None = Field(default=None, ge=1, le=1_000_000)

    @model_serializer(mode="wrap")
    def _without_unset_samples(self, handler):
        # unset: dumped as before the key existed (digests, init events, saved configs)
        data = handler(self)
        if isinstance(data, dict) and data.get("difference_samples") is None:
            data.pop("difference_samples", None)
        return data
    buffer_weight: Share = 0.002
    default_penalty: float = Field(default=0.5, ge=0, le=1000, allow_inf_nan=False)


PRIORITY_MODELS: tuple[str, ...] = ("rule_based", "fixed_profit", "fixed_liquidity", "fixed_stability")
"""``priority.model``'s choices: the rules, or ``fixed_`` + one of ``interbank.sim.actions.PRIORITIES``
(lower case) for every bank; written out here so that the config does not import the simulation
core (``tests/test_one_source.py`` checks them against ``PRIORITIES``)."""


class PriorityConfig(_Strict):
    """The rule-based priority model (see ``interbank.envs.priority``):
    LIQUIDITY when the liquidity coverage ratio is below ``lcr_buffer`` times
    its minimum, the bank is short of reserves or had funding unmet last step;
    else STABILITY when the capital ratio is below ``capital_buffer`` times its
    minimum or counterparty losses exceed ``stress_threshold`` of initial
    capital; else PROFIT."""

    model: Literal[PRIORITY_MODELS] = "rule_based"  # type: ignore[valid-type]
    lcr_buffer: float = Field(default=1.2, ge=1, le=100, allow_inf_nan=False)
    capital_buffer: float = Field(default=1.25, ge=1, le=100, allow_inf_nan=False)
    stress_threshold: float = Field(default=0.1, ge=0, le=1e6, allow_inf_nan=False)


MAX_WORKERS = 64
"""The most local worker processes a command starts (each a Python process with the core loaded):
``--workers`` and a training config's ``train.env_workers``."""

MAX_SEED = 2**32 - 1
"""The largest seed anywhere (a config's, a command line's, the server's): what numpy's legacy seeding
(stable-baselines3's ``set_random_seed``) takes."""


class EnvConfig(_Strict):
    """A complete scenario: banks, network, markets, shocks, clearing, rewards."""

    n_banks: int = Field(default=20, ge=1, le=1_000_000)
    banks: list[BankSpec] | None = None
    max_steps: int = Field(default=100, ge=1, le=1_000_000)
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)
    steps_per_year: float = Field(default=52.0, gt=0, le=100_000, allow_inf_nan=False)
    profit_booking_every: int = Field(default=5, ge=1, le=1_000_000)
    generation: BankGeneration = Field(default_factory=BankGeneration)
    network: NetworkConfig = Field(default_factory=NetworkConfig)
    balance_sheet: BalanceSheetConfig = Field(default_factory=BalanceSheetConfig)
    rates: RatesConfig = Field(default_factory=RatesConfig)
    funding: FundingConfig = Field(default_factory=FundingConfig)
    deposit_flows: DepositFlowConfig = Field(default_factory=DepositFlowConfig)
    regulation: RegulationConfig = Field(default_factory=RegulationConfig)
    central_bank: CentralBankConfig = Field(default_factory=CentralBankConfig)
    markets: MarketConfig = Field(default_factory=MarketConfig)
    shocks: ShockConfig = Field(default_factory=ShockConfig)
    clearing: ClearingConfig = Field(default_factory=ClearingConfig)
    actions: ActionConfig = Field(default_factory=ActionConfig)
    reward: RewardConfig = Field(default_factory=RewardConfig)
    priority: PriorityConfig = Field(default_factory=PriorityConfig)

    @model_validator(mode="after")
    def _consistent(self) -> "EnvConfig":
        if self.banks is not None:
            if len(self.banks) == 0:
                raise ValueError("banks must list at least one bank")
            if "n_banks" in self.model_fields_set and self.n_banks != len(self.banks):
                raise ValueError(f"banks and n_banks disagree: the banks listed ({len(self.banks)}) set the size, "
                                 f"n_banks = {self.n_banks}")
            object.__setattr__(self, "n_banks", len(self.banks))
        n = self.n_banks
        for k, (lender, borrower, amount) in enumerate(self.network.edges):
            if not (0 <= lender < n and 0 <= borrower < n) or lender == borrower:
                raise ValueError(
                    f"network.edges[{k}] = [{lender}, {borrower}, {amount}] needs two different banks in [0, {n - 1}]"
                )
            if not 0 <= amount <= MAX_MONEY:
                raise ValueError(f"network.edges[{k}] amount {amount} must be a finite number in [0, {MAX_MONEY:.0e}]")
        growth = abs(self.markets.drift) * self.max_steps
        if growth > 100:  # the fundamental price grows as exp(drift * step): keep it finite
            raise ValueError(f"markets.drift x max_steps = {growth:g} is more than 100 (prices would overflow)")
        for k, shock in enumerate(self.shocks.scheduled):
            if shock.bank is not None and shock.bank >= n:
                raise ValueError(f"shocks.scheduled[{k}].bank = {shock.bank} is outside [0, {n - 1}]")
            if shock.market is not None and shock.market not in self.markets.names:
                raise ValueError(f"shocks.scheduled[{k}].market = {shock.market!r} is not one of markets.names {self.markets.names}")
        return self

    def per_step(self, annual: float) -> float:
        """An annual rate as a rate per step."""
        return annual / self.steps_per_year

    def episode_seed(self, given: int | None = None) -> int:
        """The seed an episode of this scenario plays: ``given`` (a command's --seed, a request's
        seed), else the scenario's own, else 0."""
        if given is not None:
            return given
        return self.seed if self.seed is not None else 0

    def digest(self) -> str:
        """A short stable hash of the resolved config (seed excluded)."""
        payload = self.model_dump(mode="json", exclude={"seed"})
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _loc(loc: tuple[Any, ...], prefix: str) -> str:
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _lookup(data: Any, loc: tuple[Any, ...]) -> tuple[bool, Any]:
    cur = data
    for part in loc:
        try:
            cur = cur[part]
        except (KeyError, IndexError, TypeError):
            return False, None
    return True, cur


def format_validation_error(err: ValidationError, data: Any, prefix: str = "env") -> str:
    """One line naming the first offending key and what is wrong with it."""
    first = err.errors()[0]
    loc = tuple(p for p in first["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    key = _loc(loc, prefix) or prefix
    kind = first["type"]
    ctx = first.get("ctx") or {}
    found, value = _lookup(data, loc)
    shown = _shown(value) if found else None
    if kind == "extra_forbidden":
        return f"{key} is not a known key"
    if kind == "missing":
        return f"{key} is required"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        bounds = _bounds_text(key, ctx, kind)
        return f"{key} = {shown} {bounds}"
    if kind == "value_error":
        msg = str(ctx.get("error", first["msg"]))
        if loc and found and msg.startswith("is "):
            return f"{key} = {shown} {msg}"
        return f"{key}: {msg}" if loc else msg
    if kind == "literal_error":
        return f"{key} = {shown} is not one of {ctx.get('expected')}"
    msg = first["msg"][0].lower() + first["msg"][1:]
    return f"{key} = {shown}: {msg}" if found else f"{key}: {msg}"


def _shown(value: Any, limit: int = 60) -> str:
    """A value as JSON for a one-line message, cut short if long (an expanded alias can be huge)."""
    try:
        text = json.dumps(value, default=str)
    except (ValueError, RecursionError):
        text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _number(x: Any) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def _bounds_text(key: str, ctx: dict[str, Any], kind: str) -> str:
    if key.endswith(".risk"):
        return "is outside [0, 1]"
    words = {
        "greater_than": "must be > {gt}",
        "greater_than_equal": "must be >= {ge}",
        "less_than": "must be < {lt}",
        "less_than_equal": "must be <= {le}",
    }
    return words[kind].format(**{k: _number(v) for k, v in ctx.items()})


def parse_section(data: Any, model: type[BaseModel], source: str, key: str) -> Any:
    """Validate one section of a config file (``key``, e.g. ``env`` or ``train``) into ``model``,
    or raise a one-line ConfigError naming the offending key. A missing section is empty."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: {key} must be a mapping, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise ConfigError(f"{source}: {format_validation_error(err, data, key)}") from None


def check_top_level(data: dict[str, Any], allowed: set[str], source: str) -> None:
    """Refuse a file whose top level has a key outside ``allowed``."""
    unknown = set(data) - allowed
    if unknown:
        raise ConfigError(f"{source}: {sorted(unknown)[0]} is not a known top-level key")


def parse_env_config(data: Any, source: str = "config", prefix: str = "env") -> EnvConfig:
    """Validate a mapping into an :class:`EnvConfig` or raise a one-line ConfigError."""
    return parse_section(data, EnvConfig, source, prefix)


class _YamlLimit(Exception):
    """A YAML document beyond what a config may be (too deep, aliases expanding too far, a key
    written twice in one mapping)."""


# YAML 1.1 (PyYAML) reads 1e6 as a string; a config means the number
_FLOAT = re.compile(r"^[-+]?(?:[0-9][0-9_]*)?(?:\.[0-9_]*)?[eE][-+]?[0-9]+$")


class _ConfigLoader(yaml.SafeLoader):
    """SafeLoader with limits: nesting depth while composing (before any recursion can run
    away) and the size of the document once aliases are expanded (no billion laughs)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._checked: set[int] = set()  # the mappings whose keys were checked as written

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise _YamlLimit(f"nested more than {MAX_YAML_DEPTH} levels deep")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def get_single_node(self) -> Any:
        node = super().get_single_node()
        if node is not None:
            _expanded_size(node)
        return node

    def flatten_mapping(self, node: yaml.MappingNode) -> None:
        # a key written twice in one mapping is a mistake (PyYAML keeps the last silently); merge
        # keys (<<) may still be overridden, as YAML means them to be. Checked on the mapping as
        # written: the first flatten of a node sees it so (merging rewrites node.value in place,
        # an anchored mapping's too, before its own construction when an outer merge uses it)
        if id(node) not in self._checked:
            self._checked.add(id(node))
            seen: set[Any] = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
                    continue
                key = self.construct_object(key_node)
                if key in seen:
                    raise _YamlLimit(f"the key {_shown(key)} appears twice in one mapping (line "
                                     f"{key_node.start_mark.line + 1}); write each key once")
                seen.add(key)
        super().flatten_mapping(node)


_ConfigLoader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))


def _expanded_size(root: yaml.Node) -> int:
    """Values in the document with every alias expanded, counted without expanding (memoised
    over shared nodes); refuses recursive aliases and documents beyond MAX_YAML_NODES."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise _YamlLimit("an alias refers to itself")
        active.add(key)
        if isinstance(node, yaml.SequenceNode):
            total = 1 + sum(size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total = 1 + sum(size(k) + size(v) for k, v in node.value)
        else:
            total = 1
        active.discard(key)
        if total > MAX_YAML_NODES:
            raise _YamlLimit(f"expands to more than {MAX_YAML_NODES:,} values (YAML aliases)")
        sizes[key] = total
        return total

    return size(root)


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping or raise a one-line ConfigError (missing or unreadable file, not
    UTF-8, not YAML, too deep or too large once aliases are expanded, empty, not a mapping)."""
    p = Path(path)
    if p.is_dir():
        raise ConfigError(f"{p}: no such config file (a folder; give a YAML file in it)")
    if not p.is_file():
        raise ConfigError(f"{p}: no such config file")
    try:
        if p.stat().st_size > MAX_YAML_BYTES:
            raise ConfigError(f"{p}: larger than {MAX_YAML_BYTES // 1_000_000} MB; a config is a small file")
        raw = p.read_bytes()
    except OSError as err:
        raise ConfigError(f"{p}: cannot read it ({err.strerror or err})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(f"{p}: not UTF-8 text (invalid byte 0x{raw[err.start]:02x} at byte {err.start})") from None
    try:
        data = yaml.load(text, Loader=_ConfigLoader)  # a SafeLoader subclass
    except _YamlLimit as err:
        raise ConfigError(f"{p}: {err}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{p}: not valid YAML{where}") from None
    except RecursionError:  # the depth limit should come first; never a traceback
        raise ConfigError(f"{p}: nested too deeply") from None
    if data is None:  # (an empty file, or comments only: most likely the wrong file, or one cut short)
        raise ConfigError(f"{p}: no settings in it (empty, or comments only): give at least one section, "
                          "or leave the file out for the defaults")
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: the top level must be a mapping")
    return data


def load_env_config(path: str | Path) -> EnvConfig:
    """Load the ``env:`` section of a scenario or training YAML file."""
    data = read_yaml(path)
    check_top_level(data, {"env", "train", "priority_model", "rllib", "experiment", "facts"}, str(path))
    return parse_env_config(data.get("env", {}), source=str(path))


def listed_banks_replaced(config: EnvConfig, n_banks: int | None) -> str | None:
    """What an ``n_banks`` override does to a config that lists its banks one by one (``banks:``):
    ``resolve_env_config`` replaces them with ``n_banks`` generated banks. A short phrase to show the
    user ("6 listed banks replaced by 9 generated ones"), or None when nothing listed is replaced."""
    if n_banks is None or config.banks is None:
        return None
    return f"{len(config.banks)} listed banks replaced by {n_banks} generated ones"


def _plain(value: Any) -> Any:
    """A deep copy of a config's dicts and lists with numpy scalars and arrays as the Python
    numbers and lists they hold (a sweep's ``np.arange`` values are numbers like any other)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value


def resolve_env_config(config: "EnvConfig | dict[str, Any] | str | Path | None" = None, **overrides: Any) -> EnvConfig:
    """Turn a path, a dict, a config object or None plus overrides into an EnvConfig.

    Overrides are top-level keys (``n_banks=50``) or dotted paths
    (``**{"clearing.model": "fixed_recovery"}``). ``max_cycles`` is an alias of
    ``max_steps`` (PettingZoo's name).
    """
    from interbank.scenarios import resolve as resolve_scenario

    if config is None:
        base: dict[str, Any] = {}
        source = "config"
    elif isinstance(config, EnvConfig):
        base = config.model_dump(mode="python")
        source = "config"
    elif isinstance(config, (str, Path)):
        path = resolve_scenario(config)  # a scenario's name (``"stress"``) as the CLI's --config takes it
        base = load_env_config(path).model_dump(mode="python")
        source = str(path)
    elif isinstance(config, dict):
        inner = config.get("env", config)
        # (a copy: the caller's dict, nested ones included, is never written)
        base = inner.model_dump(mode="python") if isinstance(inner, EnvConfig) else _plain(dict(inner or {}))
        source = "config"
    else:
        raise ConfigError(f"config must be a path, a dict or an EnvConfig, got {type(config).__name__}")
    overrides = _plain(overrides)
    if "max_cycles" in overrides:
        cycles = overrides.pop("max_cycles")
        if "max_steps" in overrides and overrides["max_steps"] != cycles:
            raise ConfigError(f"{source}: max_cycles = {cycles!r} and max_steps = {overrides['max_steps']!r} name the "
                              "same length: give one")
        overrides["max_steps"] = cycles
    if overrides.get("n_banks") is not None and "banks" not in overrides:
        base.pop("banks", None)
    if overrides.get("banks") is not None and "n_banks" not in overrides:
        base.pop("n_banks", None)  # (the banks listed set the size; both given must agree)
    for key, value in overrides.items():
        if value is None and key in ("seed",):
            continue
        parts = key.split(".")
        cur = base
        for part in parts[:-1]:
            nxt = cur.get(part)
            if not isinstance(nxt, dict):
                nxt = {} if nxt is None else (nxt.model_dump() if isinstance(nxt, BaseModel) else dict(nxt))
                cur[part] = nxt
            cur = nxt
        cur[parts[-1]] = value
    return parse_env_config(base, source=source)
