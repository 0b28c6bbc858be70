"""Rule central banks decide as their card says, on hand-built observations and states."""

import numpy as np
import pytest

from interbank.envs import parallel_env
from interbank.envs.central_bank_observation import CB_FEATURE_INDEX, N_CB_FEATURES
from interbank.envs.central_bank_rules import (
    CENTRAL_BANK_RULE_GRIDS, CENTRAL_BANK_RULES, check_rule_params, make_central_bank_rule, rule_grid,
)
from interbank.sim.central_bank import CB_HOLD, CB_INDEX, N_CB_ACTIONS

CALM = {"funding_demand": 0.5, "policy_rate": 0.2, "credit_gap": 0.0, "fire_sales": 0.0, "facility_use": 0.0,
        "ccyb": 0.0, "haircuts": 0.0, "due": 1.0}


def obs(**features):
    out = np.zeros(N_CB_FEATURES, np.float32)
    for name, value in {**CALM, **features}.items():
        out[CB_FEATURE_INDEX[name]] = value
    return out


ALL = np.ones(N_CB_ACTIONS, np.int8)


def without(*moves):
    mask = ALL.copy()
    for m in moves:
        mask[CB_INDEX[m]] = 0
    return mask


def test_never_always_holds():
    rule = make_central_bank_rule("never")
    for o in (obs(), obs(funding_demand=1.0, fire_sales=3.0), obs(credit_gap=0.5)):
        assert rule(o, ALL) == CB_HOLD


def test_taylor_raises_the_rate_when_funding_demand_exceeds_supply():
    rule = make_central_bank_rule("taylor")
    assert rule(obs(funding_demand=0.9), ALL) == CB_INDEX["rate_up"]


def test_taylor_raises_the_rate_in_a_credit_boom_and_cuts_it_in_a_bust():
    rule = make_central_bank_rule("taylor")
    assert rule(obs(credit_gap=0.2), ALL) == CB_INDEX["rate_up"]
    assert rule(obs(credit_gap=-0.2, funding_demand=0.3), ALL) == CB_INDEX["rate_down"]


def test_taylor_holds_at_its_target_and_when_the_move_is_masked():
    rule = make_central_bank_rule("taylor")
    assert rule(obs(), ALL) == CB_HOLD  # neutral 2 % = the policy rate, demand equals supply
    assert rule(obs(funding_demand=0.9), without("rate_up")) == CB_HOLD
    assert make_central_bank_rule("taylor", neutral=0.05)(obs(), ALL) == CB_INDEX["rate_up"]


def test_ccyb_builds_the_buffer_with_the_credit_gap():
    rule = make_central_bank_rule("ccyb")
    assert rule(obs(credit_gap=0.01), ALL) == CB_HOLD  # below the 2-point threshold
    assert rule(obs(credit_gap=0.06), ALL) == CB_INDEX["ccyb_up"]
    assert rule(obs(credit_gap=0.06, ccyb=1.25), ALL) == CB_HOLD  # half way: 1.25 % is the target
    assert rule(obs(credit_gap=0.2, ccyb=2.5), without("ccyb_up")) == CB_HOLD


def test_ccyb_releases_the_buffer_in_stress():
    rule = make_central_bank_rule("ccyb")
    assert rule(obs(credit_gap=0.2, ccyb=2.5, funding_demand=0.9), ALL) == CB_INDEX["ccyb_down"]
    assert rule(obs(credit_gap=0.2, ccyb=2.5, fire_sales=0.05), ALL) == CB_INDEX["ccyb_down"]
    assert rule(obs(credit_gap=0.0, ccyb=0.625), ALL) == CB_INDEX["ccyb_down"]  # the boom is over


def test_bagehot_lends_freely_in_stress_and_steps_back_in_calm():
    rule = make_central_bank_rule("bagehot")
    assert rule(obs(), ALL) == CB_HOLD
    assert rule(obs(funding_demand=0.9), ALL) == CB_INDEX["haircuts_wide"]
    assert rule(obs(fire_sales=0.05, haircuts=1.0), ALL) == CB_INDEX["lend_systemic"]
    assert rule(obs(facility_use=0.1, haircuts=1.0), ALL) == CB_INDEX["lend_systemic"]
    assert rule(obs(haircuts=1.0), ALL) == CB_INDEX["haircuts_normal"]
    assert rule(obs(haircuts=-1.0), ALL) == CB_INDEX["haircuts_normal"]


def test_every_grid_point_is_a_valid_rule():
    assert set(CENTRAL_BANK_RULE_GRIDS) == set(CENTRAL_BANK_RULES)
    for name in CENTRAL_BANK_RULES:
        points = rule_grid(name)
        assert points and all(make_central_bank_rule(name, **p) for p in points)
    assert rule_grid("never") == [{}] and len(rule_grid("taylor")) == 12


def test_the_config_offers_exactly_the_registered_rules():
    from typing import get_args

    from interbank.config import CentralBankConfig

    assert set(get_args(CentralBankConfig.model_fields["rule"].annotation)) == set(CENTRAL_BANK_RULES)


def test_bad_rule_parameters_are_refused_in_one_line():
    for name, params, words in [("taylor", {"speed": 1.0}, "speed"), ("ccyb", {"full": 0.01}, "full"),
                                ("taylor", {"band": -0.01}, r"band = -0.01 must be a finite number in \[0, 1\]"),
                                ("ccyb", {"max_buffer": -0.01}, "max_buffer"), ("volcker", {}, "unknown"),
                                ("taylor", {"funding": float("nan")}, "funding = nan must be a finite number in"),
                                ("taylor", {"credit": float("inf")}, "credit = inf must be a finite number in"),
                                ("taylor", {"funding": -1e9}, r"funding = -1e\+09 must be a finite number in \[0, 10\]"),
                                ("bagehot", {"stress": 1.5}, r"stress = 1.5 must be a finite number in \[0, 1\]"),
                                ("ccyb", {"stress": True}, "stress = True is not a number")]:
        with pytest.raises(ValueError, match=words) as err:
            check_rule_params(name, params)
        assert "\n" not in str(err.value)


def test_every_rule_parameter_has_a_range_holding_its_default_and_its_tuning_grid():
    from dataclasses import fields

    from interbank.envs.central_bank_rules import param_range

    for name, rule in CENTRAL_BANK_RULES.items():
        for f in fields(rule):
            low, high = param_range(name, f.name)
            assert low <= f.default <= high
        for point in rule_grid(name):
            check_rule_params(name, point)


def test_taylor_on_a_hand_built_funding_squeeze_raises_the_policy_rate():
    e = parallel_env(n_banks=10, **{"central_bank.agent": True, "central_bank.rule": "taylor"})
    e.reset(seed=0)
    s = e.system
    s.funding["requested"][:] = 100.0  # every bank asked for funding that nobody offered
    s.funding["offered"] = 10.0
    e._refresh_observations()
    assert e.central_bank_agent.obs[CB_FEATURE_INDEX["funding_demand"]] > 0.9
    rate = s.policy_rate
    e.step({})  # no action sent: the configured rule decides
    assert s.policy_rate == pytest.approx(rate + 0.0025)

