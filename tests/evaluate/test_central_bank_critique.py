"""Judging central banks after the banks adapt: the verdicts, the measurements, the list of central banks."""

import numpy as np
import pytest

from interbank.config import ConfigError, EnvConfig
from interbank.evaluate.central_bank_critique import BANKS, METRICS, TRACES, measure, parse_central_banks, verdicts
from interbank.policies import make_policy
from interbank.sim.central_bank import CB_INDEX


def rows(scores: dict[str, dict[str, list[float]]]) -> list[dict]:
    return [{"central_bank": name, "banks": banks, "seed": seed, "score": value}
            for name, by_banks in scores.items() for banks, values in by_banks.items() for seed, value in enumerate(values)]


def test_an_advantage_that_vanishes_once_the_banks_retrain_is_reported_as_such():
    out = verdicts(rows({
        "never": {"trained": [0.0, 0.0, 0.0], "retrained": [0.0, 0.0, 0.0]},
        "bagehot": {"trained": [0.1, 0.1, 0.1], "retrained": [0.1, 0.1, 0.1]},
        "learned": {"trained": [0.2, 0.3, 0.2], "retrained": [0.2, 0.05, 0.3]},
    }), ["never", "bagehot"])
    assert out["learned"]["against"] == "bagehot"
    assert "disappears once the banks re-train" in out["learned"]["verdict"] and not out["learned"]["better"]
    assert out["learned"]["margin_retrained"] == pytest.approx([0.1, -0.05, 0.2])


def test_a_central_bank_is_better_only_if_it_beats_the_best_other_rule_on_every_seed_after_retraining():
    out = verdicts(rows({
        "never": {"trained": [0.0, 0.0], "retrained": [0.0, 0.0]},
        "taylor": {"trained": [0.1, 0.0], "retrained": [0.1, 0.05]},
        "learned": {"trained": [0.2, 0.2], "retrained": [0.15, 0.06]},
    }), ["never", "taylor"])
    assert out["learned"]["better"] and out["learned"]["against"] == "taylor"
    assert out["taylor"]["better"] and out["taylor"]["against"] == "never"
    assert not out["never"]["better"] and out["never"]["verdict"].startswith("not better than taylor")


def test_the_list_of_central_banks_takes_rules_learned_and_two_policy_runs(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "curriculum.json").write_text("{}")
    specs = parse_central_banks(f"never, bagehot,learned,{tmp_path / 'run'}")
    assert [(s.name, s.rule, s.run) for s in specs] == [
        ("never", "never", None), ("bagehot", "bagehot", None), ("learned", None, None), ("run", None, tmp_path / "run")]
    for bad, words in (("never,volcker", "'volcker' is not a rule"), ("never,never", "once"), ("", "name one or more central banks")):
        with pytest.raises(ConfigError, match=words):
            parse_central_banks(bad)


def test_measure_follows_the_central_bank_instruments_and_the_risk_the_banks_take():
    cfg = EnvConfig.model_validate({"n_banks": 6, "max_steps": 8, "central_bank": {"agent": True}})

    def hike(obs, mask):
        return CB_INDEX["rate_up"] if mask[CB_INDEX["rate_up"]] else 0

    metrics, traces = measure(cfg, make_policy("heuristic"), hike, [1, 2])
    assert set(metrics) == set(METRICS) and all(np.isfinite(v) for v in metrics.values())
    assert set(traces) == set(TRACES) and len(traces["policy_rate"]) == 9  # after reset and each step
    assert np.diff(traces["policy_rate"]) == pytest.approx([0.0025] * 7 + [0.0])  # the last step decides nothing
    assert 0 < metrics["capital_ratio"] < 1 and 0 <= metrics["market_share"] < 1 and BANKS == ("trained", "retrained")


def test_a_margin_of_rounding_size_is_not_a_win():
    out = verdicts(rows({
        "never": {"trained": [0.0, 0.0], "retrained": [0.0, 0.0]},
        "bagehot": {"trained": [0.0004, 0.0002], "retrained": [0.0004, 0.0002]},
    }), ["never", "bagehot"])
    assert not out["bagehot"]["better"] and out["bagehot"]["verdict"].startswith("not better")
