"""Typed, validated configuration for interbank scenarios.

A scenario YAML file holds one top-level ``env:`` mapping (training configs add
their own sections beside it). Every field below has a default, so an empty
file is the built-in default scenario. Validation is strict: an unknown key, a
wrong type or a value out of range raises :class:`ConfigError` with a one-line
message that names the key, e.g.
``configs/stress.yaml: env.banks[2].risk = 1.5 is outside [0, 1]``.

Units: money is in dollars (any consistent currency unit), rates are per
simulation step, fractions are in [0, 1].
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator



class ConfigError(ValueError):
    """A user mistake in a configuration: the message is one line naming the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False, validate_assignment=True)


class BankSpec(_Strict):
    """One bank as in the seed's playground.

    Fields: ``capital`` (initial equity, dollars, > 0), ``target_leverage``
    (assets / equity, >= 1), ``risk`` (risk appetite in [0, 1]: scales how much
    the bank lends and invests per action and its initial market share).
    """

    capital: float = Field(gt=0, allow_inf_nan=False)
    target_leverage: float = Field(ge=1, le=100, allow_inf_nan=False)
    risk: float = Field(ge=0, le=1, allow_inf_nan=False)


class BankGeneration(_Strict):
    """Seeded distribution used when ``banks`` is not given.

    capital ~ lognormal(log(capital_median), capital_sigma);
    target_leverage ~ uniform(leverage_low, leverage_high); risk ~ uniform(risk_low, risk_high).
    """

    capital_median: float = Field(default=100.0, gt=0, allow_inf_nan=False)
    capital_sigma: float = Field(default=0.5, ge=0, le=3, allow_inf_nan=False)
    leverage_low: float = Field(default=8.0, ge=1, le=100, allow_inf_nan=False)
    leverage_high: float = Field(default=15.0, ge=1, le=100, allow_inf_nan=False)
    risk_low: float = Field(default=0.1, ge=0, le=1, allow_inf_nan=False)
    risk_high: float = Field(default=0.9, ge=0, le=1, allow_inf_nan=False)

    @model_validator(mode="after")
    def _ordered(self) -> "BankGeneration":
        if self.leverage_low > self.leverage_high:
            raise ValueError("leverage_low must not exceed leverage_high")
        if self.risk_low > self.risk_high:
            raise ValueError("risk_low must not exceed risk_high")
        return self


class NetworkConfig(_Strict):
    """Directed lending network drawn at reset (an edge i -> j: i may lend to j).

    ``type``: ``erdos_renyi`` (each ordered pair independently),
    ``scale_free`` (Chung-Lu with power-law expected degrees, exponent
    ``exponent``), ``core_periphery`` (a dense core of ``core_fraction`` of the
    banks, periphery banks linked only to the core) or ``explicit`` (the
    ``edges`` list). ``avg_degree`` is the mean out-degree.
    ``edges`` entries are ``[lender, borrower, amount]`` with bank indices.
    """

    type: Literal["erdos_renyi", "scale_free", "core_periphery", "explicit"] = "erdos_renyi"
    avg_degree: float = Field(default=3.0, ge=0, allow_inf_nan=False)
    exponent: float = Field(default=2.5, gt=2, le=5, allow_inf_nan=False)
    core_fraction: float = Field(default=0.2, gt=0, lt=1, allow_inf_nan=False)
    edges: list[tuple[int, int, float]] = Field(default_factory=list)


class BalanceSheetConfig(_Strict):
    """How the initial balance sheet splits a bank's assets (fractions of assets).

    ``interbank_share`` of assets is lent over the bank's out-edges (ignored for
    explicit edges, which carry their own amounts); ``market_share`` (scaled by
    ``0.5 + risk``) is invested, split evenly over the markets; the rest is cash.
    Liabilities are the borrowings the network implies plus deposits.
    """

    interbank_share: float = Field(default=0.25, ge=0, le=0.6, allow_inf_nan=False)
    market_share: float = Field(default=0.35, ge=0, le=0.6, allow_inf_nan=False)


class MarketConfig(_Strict):
    """Flow-priced markets BANK_INDEX and FIN_SERVICES.

    Each step: log price += ``impact`` * net_flow / depth
    - ``reversion`` * log(price / fundamental) + volatility * noise, where the
    fundamental grows at ``drift`` per step from ``initial_price`` and depth = ``depth_fraction`` * total initial bank assets (so the impact is
    scale-aware: the seed's 0.001 per dollar corresponds to a depth of 1,000
    dollars at impact 1). Prices never fall below ``price_floor`` * initial.
    """

    initial_price: float = Field(default=100.0, gt=0, allow_inf_nan=False)
    impact: float = Field(default=1.0, ge=0, allow_inf_nan=False)
    depth_fraction: float = Field(default=3.0, gt=0, allow_inf_nan=False)
    reversion: float = Field(default=0.1, ge=0, le=1, allow_inf_nan=False)
    drift: float = Field(default=0.0005, ge=-0.1, le=0.1, allow_inf_nan=False)
    volatility: float = Field(default=0.02, ge=0, le=1, allow_inf_nan=False)
    correlation: float = Field(default=0.5, ge=-1, le=1, allow_inf_nan=False)
    price_floor: float = Field(default=0.01, gt=0, lt=1, allow_inf_nan=False)


class ScheduledShock(_Strict):
    """A shock at a fixed step: a ``market_crash`` (``market`` loses ``size`` of
    its price) or a ``deposit_withdrawal`` (``bank`` loses ``size`` of deposits,
    paid from cash and fire sales) or a ``capital_loss`` (``bank``'s cash drops
    by ``size`` times its initial capital, an operational loss)."""

    step: int = Field(ge=1)
    type: Literal["market_crash", "deposit_withdrawal", "capital_loss"]
    size: float = Field(gt=0, allow_inf_nan=False)
    market: Literal["BANK_INDEX", "FIN_SERVICES"] | None = None
    bank: int | None = Field(default=None, ge=0)

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
    """Seeded exogenous stress: per step, each market crashes with probability
    ``crash_prob`` (losing ``crash_size`` of its price) and each bank faces a
    deposit run with probability ``withdrawal_prob`` (losing ``withdrawal_size``
    of its deposits). ``scheduled`` lists deterministic shocks."""

    crash_prob: float = Field(default=0.01, ge=0, le=1, allow_inf_nan=False)
    crash_size: float = Field(default=0.15, ge=0, le=0.99, allow_inf_nan=False)
    withdrawal_prob: float = Field(default=0.02, ge=0, le=1, allow_inf_nan=False)
    withdrawal_size: float = Field(default=0.1, ge=0, le=1, allow_inf_nan=False)
    scheduled: list[ScheduledShock] = Field(default_factory=list)


class ClearingConfig(_Strict):
    """How a default is settled.

    ``model``: ``eisenberg_noe`` (greatest clearing vector), ``rogers_veraart``
    (with default costs ``alpha`` on external and ``beta`` on interbank assets) or
    ``fixed_recovery`` (creditors recover ``recovery`` of their claims).
    A defaulted bank's market positions are fire-sold at ``fire_sale_discount``
    below the price and move the price like any other outflow. A bank defaults
    when its equity is below 0; with ``default_at_zero_equity`` also when it is
    exactly 0 (a loss that exactly uses up its capital).
    """

    model: Literal["eisenberg_noe", "rogers_veraart", "fixed_recovery"] = "eisenberg_noe"
    recovery: float = Field(default=0.4, ge=0, le=1, allow_inf_nan=False)
    alpha: float = Field(default=0.8, ge=0, le=1, allow_inf_nan=False)
    beta: float = Field(default=0.9, ge=0, le=1, allow_inf_nan=False)
    fire_sale_discount: float = Field(default=0.05, ge=0, lt=1, allow_inf_nan=False)
    default_at_zero_equity: bool = False


class ActionConfig(_Strict):
    """Sizes of the five actions (fractions), see ``interbank.sim.actions``.

    LEND moves ``lend_fraction`` * (0.5 + risk) of cash to one borrower;
    BORROW calls back ``call_fraction`` of every loan the bank has out;
    INVEST moves ``invest_fraction`` * (0.5 + risk) of cash into one market;
    DIVEST sells ``divest_fraction`` of the bank's largest position.
    An action whose amount would be below ``min_trade`` * initial capital is masked.
    """

    lend_fraction: float = Field(default=0.2, gt=0, le=1, allow_inf_nan=False)
    call_fraction: float = Field(default=0.5, gt=0, le=1, allow_inf_nan=False)
    invest_fraction: float = Field(default=0.2, gt=0, le=1, allow_inf_nan=False)
    divest_fraction: float = Field(default=0.5, gt=0, le=1, allow_inf_nan=False)
    min_trade: float = Field(default=0.01, ge=0, allow_inf_nan=False)
    momentum_temperature: float = Field(default=0.02, gt=0, allow_inf_nan=False)


class RewardConfig(_Strict):
    """Priority-weighted reward (see ``interbank.envs.rewards``).

    The bank's current priority gets weight ``focus`` and the two others share
    the rest. Every step a bank survives earns ``survival_bonus`` (so that staying
    solvent is worth more than defaulting early); a default costs
    ``default_penalty`` once, on the step it happens.
    """

    survival_bonus: float = Field(default=0.1, ge=0, allow_inf_nan=False)
    focus: float = Field(default=0.6, ge=1 / 3, le=1, allow_inf_nan=False)
    default_penalty: float = Field(default=10.0, ge=0, allow_inf_nan=False)
    liquidity_target: float = Field(default=0.1, ge=0, le=1, allow_inf_nan=False)


class PriorityConfig(_Strict):
    """The rule-based priority model (see ``interbank.envs.priority``):
    LIQUIDITY when cash / assets < ``liquidity_threshold``; else STABILITY when
    leverage > ``leverage_tolerance`` * target or the fraction of defaulted
    counterparties exceeds ``stress_threshold``; else PROFIT."""

    model: Literal["rule_based", "fixed_profit", "fixed_liquidity", "fixed_stability"] = "rule_based"
    liquidity_threshold: float = Field(default=0.08, ge=0, le=1, allow_inf_nan=False)
    leverage_tolerance: float = Field(default=1.25, ge=1, allow_inf_nan=False)
    stress_threshold: float = Field(default=0.2, ge=0, le=1, allow_inf_nan=False)


class EnvConfig(_Strict):
    """A complete scenario: banks, network, markets, shocks, clearing, rewards."""

    n_banks: int = Field(default=20, ge=1, le=1_000_000)
    banks: list[BankSpec] | None = None
    max_steps: int = Field(default=100, ge=1, le=1_000_000)
    seed: int | None = Field(default=None, ge=0)
    interest_rate: float = Field(default=0.001, ge=0, le=0.5, allow_inf_nan=False)
    repayment_rate: float = Field(default=0.05, ge=0, le=1, allow_inf_nan=False)
    profit_booking_every: int = Field(default=5, ge=1)
    generation: BankGeneration = Field(default_factory=BankGeneration)
    network: NetworkConfig = Field(default_factory=NetworkConfig)
    balance_sheet: BalanceSheetConfig = Field(default_factory=BalanceSheetConfig)
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
            object.__setattr__(self, "n_banks", len(self.banks))
        n = self.n_banks
        for k, (lender, borrower, amount) in enumerate(self.network.edges):
            if not (0 <= lender < n and 0 <= borrower < n) or lender == borrower:
                raise ValueError(
                    f"network.edges[{k}] = [{lender}, {borrower}, {amount}] needs two different banks in [0, {n - 1}]"
                )
            if not amount >= 0 or amount == float("inf"):
                raise ValueError(f"network.edges[{k}] amount {amount} must be a finite number >= 0")
        for k, shock in enumerate(self.shocks.scheduled):
            if shock.bank is not None and shock.bank >= n:
                raise ValueError(f"shocks.scheduled[{k}].bank = {shock.bank} is outside [0, {n - 1}]")
        return self

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
    shown = json.dumps(value) if found else None
    if kind == "extra_forbidden":
        return f"{key} is not a known key"
    if kind == "missing":
        return f"{key} is required"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        bounds = _bounds_text(key, ctx, kind)
        return f"{key} = {shown} {bounds}"
    if kind == "value_error":
        msg = str(ctx.get("error", first["msg"]))
        return f"{key}: {msg}" if loc else msg
    if kind == "literal_error":
        return f"{key} = {shown} is not one of {ctx.get('expected')}"
    msg = first["msg"][0].lower() + first["msg"][1:]
    return f"{key} = {shown}: {msg}" if found else f"{key}: {msg}"


def _bounds_text(key: str, ctx: dict[str, Any], kind: str) -> str:
    if key.endswith(".risk"):
        return "is outside [0, 1]"
    words = {
        "greater_than": "must be > {gt}",
        "greater_than_equal": "must be >= {ge}",
        "less_than": "must be < {lt}",
        "less_than_equal": "must be <= {le}",
    }
    return words[kind].format(**ctx)


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


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping or raise a one-line ConfigError."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{p}: no such config file")
    try:
        data = yaml.safe_load(p.read_text())
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{p}: not valid YAML{where}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: the top level must be a mapping")
    return data


def load_env_config(path: str | Path) -> EnvConfig:
    """Load the ``env:`` section of a scenario or training YAML file."""
    data = read_yaml(path)
    check_top_level(data, {"env", "train", "eval", "priority_model", "rllib", "experiment"}, str(path))
    return parse_env_config(data.get("env", {}), source=str(path))


def resolve_env_config(config: "EnvConfig | dict[str, Any] | str | Path | None" = None, **overrides: Any) -> EnvConfig:
    """Turn a path, a dict, a config object or None plus overrides into an EnvConfig.

    Overrides are top-level keys (``n_banks=50``) or dotted paths
    (``**{"clearing.model": "fixed_recovery"}``). ``max_cycles`` is an alias of
    ``max_steps`` (PettingZoo's name).
    """
    if config is None:
        base: dict[str, Any] = {}
        source = "config"
    elif isinstance(config, EnvConfig):
        base = config.model_dump(mode="python")
        source = "config"
    elif isinstance(config, (str, Path)):
        base = load_env_config(config).model_dump(mode="python")
        source = str(config)
    elif isinstance(config, dict):
        inner = config.get("env", config)
        base = inner.model_dump(mode="python") if isinstance(inner, EnvConfig) else dict(inner or {})
        source = "config"
    else:
        raise ConfigError(f"config must be a path, a dict or an EnvConfig, got {type(config).__name__}")
    if "max_cycles" in overrides:
        overrides["max_steps"] = overrides.pop("max_cycles")
    if overrides.get("n_banks") is not None and "banks" not in overrides:
        base.pop("banks", None)
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
