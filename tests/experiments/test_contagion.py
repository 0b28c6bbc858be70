"""Small versions of the validation experiments, with assertions that fail if the mechanics break."""

import json

import numpy as np
import pytest

from interbank.cli import main
from interbank.config import ConfigError
from interbank.experiments.config import load_experiment, parse_range
from interbank.experiments.contagion import analytic_window, gai_kapadia, nier


def test_gai_kapadia_window_no_contagion_outside_frequent_inside():
    rows = {r["z"]: r for r in gai_kapadia(300, 120, [0.25, 3.0, 12.0], seed=1, workers=1)["rows"]}
    assert rows[0.25]["frequency"] == 0.0
    assert rows[12.0]["frequency"] == 0.0
    assert rows[3.0]["frequency"] > 0.5
    assert rows[3.0]["extent"] > 0.8  # when contagion happens it takes most of the system


def test_equity_zero_rule_is_a_parameter_that_matters():
    # with 20% interbank assets and a 4% buffer, a bank with 5 debtors loses exactly its buffer
    strict = gai_kapadia(300, 100, [6.5], seed=2, default_at_zero_equity=False, workers=1)["rows"][0]
    inclusive = gai_kapadia(300, 100, [6.5], seed=2, default_at_zero_equity=True, workers=1)["rows"][0]
    assert inclusive["frequency"] > strict["frequency"]


def test_analytic_window():
    strict = analytic_window(0.04, 0.2, False)
    inclusive = analytic_window(0.04, 0.2, True)
    assert strict["vulnerable_max_debtors"] == 4 and inclusive["vulnerable_max_debtors"] == 5
    assert 1.0 < strict["z_low"] < 1.1 and 5.5 < strict["z_high"] < 6.0
    assert inclusive["z_high"] > strict["z_high"]
    # z * P(Poisson(z) <= 3) = 1 at the edges
    from math import exp, factorial

    for z in (strict["z_low"], strict["z_high"]):
        assert z * sum(exp(-z) * z**k / factorial(k) for k in range(4)) == pytest.approx(1.0, abs=2e-3)


def test_nier_more_capital_never_gives_more_defaults_on_the_same_networks():
    worths = [0.01, 0.03, 0.1]
    rows = nier(25, 60, [0.1, 0.3, 0.6], worths, seed=3, workers=1)["rows"]
    for p in (0.1, 0.3, 0.6):
        runs = [np.array(next(r["defaults"] for r in rows if r["p"] == p and r["net_worth"] == w)) for w in worths]
        assert all((runs[k] >= runs[k + 1]).all() for k in range(len(runs) - 1))
    empty = nier(25, 20, [0.0], [0.01], seed=3, workers=1)["rows"][0]
    assert empty["mean_defaults"] == 1.0  # no links: only the shocked bank fails


def test_presets_go_through_config_validation(tmp_path):
    cfg = load_experiment("gai-kapadia", "configs/experiments/gai_kapadia.yaml", {})
    assert cfg.banks == 1000 and cfg.degrees[0] == 0.5 and cfg.degrees[-1] == 10.0 and len(cfg.degrees) == 20
    assert load_experiment("nier", "configs/experiments/nier.yaml", {}).banks == 25
    bad = tmp_path / "bad.yaml"
    bad.write_text("experiment:\n  name: gai-kapadia\n  bankz: 10\n")
    with pytest.raises(ConfigError, match="experiment.bankz is not a known key"):
        load_experiment("gai-kapadia", bad, {})
    with pytest.raises(ConfigError, match="--runs = 0 must be >= 1"):  # an override is the command line's flag
        load_experiment("gai-kapadia", None, {"runs": 0})
    with pytest.raises(ValueError):
        parse_range("3:1:1")


def test_cli_writes_results(tmp_path, capsys):
    out = tmp_path / "gk"
    assert main(["experiment", "gai-kapadia", "--banks", "100", "--runs", "20", "--degrees", "1,3", "--seed", "4",
                 "--out", str(out), "--workers", "1", "--no-progress"]) == 0
    assert (out / "results.csv").read_text().splitlines()[0] == "z,runs,frequency,extent"
    data = json.loads((out / "results.json").read_text())
    assert data["seed"] == 4 and data["parameters"]["banks"] == 100 and "equity exactly 0" in data["equity_zero_rule"]
    assert (out / "contagion.png").stat().st_size > 1000
    assert main(["experiment", "debtrank", "--config", "configs/smoke.yaml", "--out", str(tmp_path / "dr")]) == 0
    rows = json.loads((tmp_path / "dr" / "results.json").read_text())["rows"]
    assert len(rows) == 8 and rows[0]["debtrank"] >= rows[-1]["debtrank"]
