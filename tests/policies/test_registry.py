"""The registry's parameter bounds: every way in (Python, the facts command's policy text, a
train config, the server) refuses a parameter outside them with one line naming it."""

from __future__ import annotations

import re

import pytest

from interbank.envs.observation import feature_range
from interbank.policies import POLICIES, check_policy_params, make_policy, policy_catalogue
from interbank.policies.registry import register_policy


@pytest.mark.parametrize("name, params, says", [
    ("lend_surplus", {"c": -3}, "policy lend_surplus: c must be at least 0, got -3"),
    ("heuristic", {"low_cash": 1.5}, "policy heuristic: low_cash must be at most 1, got 1.5"),
    ("carry", {"spread": 6.0}, "policy carry: spread must be at most 5, got 6"),
    ("capital_guard", {"floor": -2.0}, "policy capital_guard: floor must be at least -1, got -2"),
    ("buy_below_path", {"steps": 0.0}, "policy buy_below_path: steps must be at least 1, got 0"),
])
def test_a_parameter_outside_its_bounds_is_refused_naming_it(name, params, says):
    with pytest.raises(ValueError) as err:
        check_policy_params(name, params)
    assert str(err.value) == says
    with pytest.raises(ValueError, match="must be at"):
        make_policy(name, 0, **params)


def test_the_bounds_themselves_are_allowed():
    assert make_policy("lend_surplus", c=0.0).c == 0.0
    assert make_policy("heuristic", low_cash=1.0, lend_cash=0.0).low_cash == 1.0
    assert make_policy("capital_guard", floor=5.0).floor == 5.0


def test_a_threshold_on_a_feature_is_bounded_by_that_feature_s_range():
    assert POLICIES["heuristic"].bounds["low_cash"] == feature_range("cash_ratio") == (0.0, 1.0)
    assert POLICIES["heuristic"].bounds["risk_appetite"] == feature_range("risk")
    assert POLICIES["carry"].bounds["spread"] == feature_range("funding_spread")
    assert POLICIES["capital_guard"].bounds["floor"] == feature_range("capital_buffer") == (-1.0, 5.0)
    with pytest.raises(KeyError):
        feature_range("no_such_feature")


def test_every_default_and_grid_value_lies_within_the_bounds():
    for entry in POLICIES.values():
        for key, default in entry.parameters().items():
            assert entry.out_of_bounds(key, default) is None, (entry.name, key)
            for value in entry.grid.get(key, ()):
                assert entry.out_of_bounds(key, value) is None, (entry.name, key, value)


def test_the_catalogue_serves_the_bounds():
    by_name = {p["name"]: p for p in policy_catalogue()}
    assert by_name["lend_surplus"]["bounds"] == {"c": [0.0, None]}
    assert by_name["hold"]["bounds"] == {}


class _Rule:
    def __init__(self, x: float = 0.5) -> None:
        self.x = x


@pytest.mark.parametrize("grid, bounds, says", [
    ({"x": (0.1, 2.0)}, {"x": (0.0, 1.0)}, "x = 2 (default or grid) must be at most 1"),
    (None, {"x": (1.0, None)}, "x = 0.5 (default or grid) must be at least 1"),
    (None, {"y": (0.0, 1.0)}, "bounded parameter 'y' is not a constructor parameter"),
    (None, {"x": (1.0, 0.0)}, "bounds of x are empty"),
])
def test_a_rule_whose_bounds_do_not_fit_is_refused_at_registration(grid, bounds, says):
    with pytest.raises(ValueError, match=re.escape(says)):
        register_policy("_bounds_test_rule", grid=grid, bounds=bounds)(_Rule)
    assert "_bounds_test_rule" not in POLICIES


def test_the_facts_policy_text_and_a_train_config_refuse_it_too():
    from interbank.evaluate.facts import parse_policy
    from interbank.train.config import WarmStartSettings

    with pytest.raises(ValueError, match="c must be at least 0, got -3"):
        parse_policy("lend_surplus(-3)")
    with pytest.raises(ValueError, match="low_cash must be at most 1"):
        WarmStartSettings(policy="heuristic", params={"low_cash": 2.0})


def test_every_catalogue_description_is_a_whole_sentence_with_the_list_it_announces():
    """The page shows these under the policy menu: the heuristic's stopped at "...wins:" without its rules."""
    from interbank.policies import policy_catalogue

    for entry in policy_catalogue():
        assert entry["description"] and not entry["description"].endswith(":"), entry["name"]
        assert "\n" not in entry["description"] and "``" not in entry["description"]
    heuristic = next(e for e in policy_catalogue() if e["name"] == "heuristic")["description"]
    assert "1. cash / assets < low_cash" in heuristic and "5. otherwise HOLD." in heuristic
