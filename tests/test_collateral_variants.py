"""The ECB-collateral variants (configs/experiments/*_ecb_collateral.yaml) are the shipped scenarios
with one change, equities worth nothing as collateral at the lending facility, so a measurement
against them isolates that change."""

from __future__ import annotations

from pathlib import Path

import pytest

from interbank.config import load_env_config

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("shipped", ["default", "stress"])
def test_each_variant_is_its_shipped_scenario_with_equities_out_of_the_collateral(shipped):
    base = load_env_config(ROOT / "configs" / f"{shipped}.yaml")
    variant = load_env_config(ROOT / "configs" / "experiments" / f"{shipped}_ecb_collateral.yaml")
    assert base.central_bank.market_haircut < 1.0
    assert variant.central_bank.market_haircut == 1.0
    assert variant.model_copy(update={"central_bank": base.central_bank}) == base
    assert variant.digest() != base.digest()
