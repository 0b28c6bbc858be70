"""Experiment presets (``configs/experiments/*.yaml``, section ``experiment:``), validated like every config."""

from __future__ import annotations

import math

from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field, ValidationError, field_validator, model_validator

from interbank.config import MAX_SEED, ConfigError, _Strict, check_top_level, format_validation_error, read_yaml


MAX_POINTS = 1000
"""The most points a sweep may have (a range's count is checked before its list is built)."""
MAX_RUNS = 1_000_000
"""The most runs per point."""


def parse_range(text: str) -> list[float]:
    """``"0.5:10:0.5"`` -> [0.5, 1.0, ..., 10.0] (inclusive); ``"1,2,4"`` -> [1, 2, 4]; at most
    ``MAX_POINTS`` of them."""
    text = str(text).strip()
    try:
        if ":" in text:
            start, stop, step = (float(x) for x in text.split(":"))
            if not (step > 0 and stop >= start and math.isfinite(start) and math.isfinite(stop)):
                raise ValueError
            span = (stop - start) / step
            count = int(round(span)) + 1 if math.isfinite(span) else math.inf
            if count > MAX_POINTS:
                raise OverflowError(count)
            return [round(start + k * step, 10) for k in range(count)]
        values = [float(x) for x in text.split(",") if x.strip()]
        if len(values) > MAX_POINTS:
            raise OverflowError(len(values))
        return values
    except OverflowError as err:
        many = f"{err.args[0]:,}" if isinstance(err.args[0], int) else "too many"
        raise ValueError(f"{text!r} has {many} points; a sweep takes at most {MAX_POINTS:,}") from None
    except ValueError:
        raise ValueError(f"{text!r} is not START:STOP:STEP or a comma-separated list") from None


class _Sweep(_Strict):
    @field_validator("*", mode="before")
    @classmethod
    def _ranges(cls, value: Any, info) -> Any:
        if info.field_name in ("degrees", "probabilities", "net_worths") and isinstance(value, (str, int, float)):
            return parse_range(str(value))
        return value


class GaiKapadiaConfig(_Sweep):
    """Gai & Kapadia (2010): directed Erdos-Renyi network of mean degree z, interbank assets
    ``interbank_share`` of assets, capital ``capital_ratio`` of assets, zero recovery, one random
    failure. Contagion = at least ``contagion_threshold`` of banks default."""

    name: Literal["gai-kapadia"] = "gai-kapadia"
    banks: int = Field(default=1000, ge=10, le=100_000)
    runs: int = Field(default=1000, ge=1, le=MAX_RUNS)
    degrees: list[float] = Field(default_factory=lambda: parse_range("0.5:10:0.5"), min_length=1, max_length=MAX_POINTS)
    seed: int = Field(default=0, ge=0, le=MAX_SEED)
    capital_ratio: float = Field(default=0.04, gt=0, lt=1)
    interbank_share: float = Field(default=0.2, gt=0, le=0.6)
    default_at_zero_equity: bool = False
    contagion_threshold: float = Field(default=0.05, gt=0, le=1)

    @field_validator("degrees")
    @classmethod
    def _positive(cls, v: list[float]) -> list[float]:
        if any(z < 0 or not np.isfinite(z) for z in v):
            raise ValueError("degrees must be finite and >= 0")
        return v

    @model_validator(mode="after")
    def _reachable(self) -> "GaiKapadiaConfig":
        # a bank has at most banks - 1 counterparties: a mean degree above that is no network
        # (it was run on the densest one and reported under the degree asked for)
        too_high = [z for z in self.degrees if z > self.banks - 1]
        if too_high:
            raise ValueError(f"degrees: {too_high[0]:g} is more than banks - 1 = {self.banks - 1} (a bank has at most "
                             "that many counterparties)")
        return self


class NierConfig(_Sweep):
    """Nier, Yang, Yorulmazer & Alentorn (2007): 25 banks, link probability p, net worth
    swept, interbank share of assets, one bank's external assets wiped out."""

    name: Literal["nier"] = "nier"
    banks: int = Field(default=25, ge=2, le=10_000)
    runs: int = Field(default=200, ge=1, le=MAX_RUNS)
    probabilities: list[float] = Field(default_factory=lambda: parse_range("0:1:0.05"), min_length=1, max_length=MAX_POINTS)
    net_worths: list[float] = Field(default_factory=lambda: [0.01, 0.02, 0.03, 0.05, 0.07, 0.1], min_length=1, max_length=MAX_POINTS)
    seed: int = Field(default=0, ge=0, le=MAX_SEED)
    interbank_share: float = Field(default=0.2, gt=0, le=0.6)

    @field_validator("probabilities")
    @classmethod
    def _probabilities(cls, v: list[float]) -> list[float]:
        if any(not 0 <= p <= 1 for p in v):
            raise ValueError("probabilities must lie in [0, 1]")
        return v

    @field_validator("net_worths")
    @classmethod
    def _net_worths(cls, v: list[float]) -> list[float]:
        if any(not 0 < w < 1 for w in v):
            raise ValueError("net_worths must lie in (0, 1)")
        return v


MODELS = {"gai-kapadia": GaiKapadiaConfig, "nier": NierConfig}
assert all(model.model_fields["name"].default == name for name, model in MODELS.items()), "a model's name is its key"
DEBTRANK = "debtrank"
EXPERIMENTS: tuple[str, ...] = (*MODELS, DEBTRANK)
"""What ``interbank experiment NAME`` runs: the sweeps with a preset model, and DebtRank (over a scenario)."""


def load_experiment(name: str, path: str | Path | None, overrides: dict[str, Any]) -> _Strict:
    """Preset file (its ``experiment:`` section) + command-line overrides -> validated config."""
    model = MODELS[name]
    data: dict[str, Any] = {}
    source = str(path) if path else "command line"
    if path is not None:
        raw = read_yaml(path)
        check_top_level(raw, {"experiment", "env"}, str(path))
        data = dict(raw.get("experiment") or {})
        if data.get("name", name) != name:
            raise ConfigError(f"{path}: experiment.name = {data['name']!r} is not {name!r}")
    given = {k: v for k, v in overrides.items() if v is not None}
    data.update(given)
    try:
        return model.model_validate(data)
    except ValidationError as err:
        text = format_validation_error(err, data, "experiment")
        loc = err.errors()[0]["loc"] if err.errors() else ()
        if loc and loc[0] in given:  # the command line's value, not the file's: name its flag
            flag = "--" + str(loc[0]).replace("_", "-")
            raise ConfigError(text.replace(f"experiment.{loc[0]}", flag, 1)) from None
        if not loc and given:  # a rule across fields (degrees against banks), the command line's values among them
            raise ConfigError(text) from None
        raise ConfigError(f"{source}: {text}") from None
