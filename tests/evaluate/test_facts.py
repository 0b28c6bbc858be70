"""``interbank facts``: one table of stylised facts, read by the CLI, the JSON and the tests."""

import json
import math
from types import SimpleNamespace

import numpy as np
import pytest

from interbank.evaluate import facts
from interbank.evaluate.facts import FACTS, Measurements, judge, predictability_r2

SMALL = ["--banks", "8", "--episodes", "1", "--no-progress"]


def _cli(*args):
    """Run ``interbank facts ARGS`` in process: (returncode, stdout, stderr)."""
    from interbank.cli import main

    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(["facts", *args])
        except SystemExit as exc:
            code = exc.code
    return SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())


def test_facts_have_unique_names_and_valid_bands():
    names = [f.name for f in FACTS]
    assert len(names) == len(set(names))
    for f in FACTS:
        assert f.reference and f.unit and f.how
        assert f.low is None or f.high is None or f.low <= f.high
        for bound in (f.low, f.high):
            assert bound is None or math.isfinite(bound)


def test_json_output_parses_and_has_every_fact():
    run = _cli(*SMALL, "--config", "configs/default.yaml", "--json", "--policy", "lend_surplus(3)")
    assert run.returncode == 0, run.stderr
    rows = json.loads(run.stdout)
    assert [r["fact"] for r in rows] == [f.name for f in FACTS]
    assert all(set(r) == {"fact", "value", "low", "high", "ok", "reference", "unit"} for r in rows)
    tail = next(r for r in rows if r["fact"] == "in_degree_tail_exponent")
    assert tail["value"] is None and tail["ok"] is None  # 8 banks: too few for a tail


def test_the_table_names_every_fact():
    run = _cli(*SMALL, "--config", "stress", "--seed", "3")
    assert run.returncode == 0, run.stderr
    assert all(f.name in run.stdout for f in FACTS)


@pytest.mark.parametrize("args, words", [
    (["--config", "no_such_scenario"], "config"),
    (["--policy", "bogus"], "policy"),
    (["--policy", "lend_surplus(x)"], "number"),
    (["--episodes", "0"], "episodes"),
])
def test_bad_input_is_one_line_and_exit_2(args, words):
    run = _cli(*SMALL[:2], *args)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("interbank: ") and words in lines[0]


def test_r2_recovers_a_known_predictable_component_out_of_sample():
    rng = np.random.default_rng(0)
    steps, banks = 400, 5
    signal = rng.standard_normal(steps)
    y = 0.5 * signal + rng.standard_normal(steps) * np.sqrt(0.75)  # true R^2 = 0.25 / (0.25 + 0.75)
    x = np.column_stack([np.repeat(signal, banks), rng.standard_normal(steps * banks), np.ones(steps * banks)])
    train = np.repeat(np.arange(steps) < steps // 2, banks)
    r2 = predictability_r2(x, np.repeat(y, banks), train)
    assert r2 == pytest.approx(0.25, abs=0.1)
    # pure noise on twenty regressors: fitted in one half, it predicts nothing in the other
    noise = predictability_r2(rng.standard_normal((steps * banks, 20)), np.repeat(rng.standard_normal(steps), banks), train)
    assert noise < 0.02


def test_network_facts_on_a_hand_built_network():
    # a complete core {0, 1, 2}, each periphery bank linked both ways to one core bank: 6 + 2 x 9 links of 12 x 11
    m = Measurements(n_banks=12)
    src = [i for i in range(3) for j in range(3) if i != j] + list(range(3, 12)) + [p % 3 for p in range(3, 12)]
    dst = [j for i in range(3) for j in range(3) if i != j] + [p % 3 for p in range(3, 12)] + list(range(3, 12))
    from interbank.sim import network_stats as ns

    m.density.append(ns.density(np.array(src), np.array(dst), 12))
    m.cp_error.append(ns.core_periphery_error(np.array(src), np.array(dst), 12).error)
    m.cp_error_episode.append(m.cp_error[-1])
    by_name = {f.name: judge(f, f.compute(m)) for f in FACTS}
    assert by_name["density_lowest"].value == pytest.approx(24 / 132)
    assert by_name["density_lowest"].ok is False  # 18% is far denser than real interbank networks
    assert by_name["core_periphery_error"].value == 0.0 and by_name["core_periphery_error"].ok is True
    assert by_name["core_periphery_error_worst"].value == 0.0 and by_name["core_periphery_error_worst"].ok is None
    assert by_name["in_degree_tail_exponent"].value is None and by_name["in_degree_tail_exponent"].ok is None


def test_network_bands_are_held_only_in_markets_of_their_size():
    # the same dense 12-bank network: its density fails the band when judged as a 100-bank market's,
    # and is reported unjudged when judged as what it is, a 12-bank market
    m = Measurements(n_banks=12)
    m.density.append(0.18)
    m.cp_error_episode.append(0.1)
    density = next(f for f in FACTS if f.name == "density_highest")
    core = next(f for f in FACTS if f.name == "core_periphery_error")
    assert density.min_banks == core.min_banks == facts.NETWORK_MIN_BANKS == 100
    assert judge(density, density.compute(m), n_banks=100).ok is False
    small = judge(density, density.compute(m), n_banks=12)
    assert small.value == pytest.approx(0.18) and small.ok is None and small.min_banks == 100
    assert judge(core, core.compute(m), n_banks=12).ok is None
    assert judge(core, core.compute(m), n_banks=100).ok is True
    # the size a band holds from is in it; an unknown size is judged
    assert facts.below_size(100, 99) and not facts.below_size(100, 100) and not facts.below_size(100, None)


def test_the_density_band_falls_as_one_over_n_from_the_size_it_is_set_for():
    # 1-8% of links at 100 banks is 1-8 counterparties a bank; at 1,000 banks the same counterparties
    # are 0.1-0.8% (Boss et al.: under 1% at ~900 banks), so 0.5% passes there and 2% is too dense
    density = next(f for f in FACTS if f.name == "density_lowest")
    assert density.band(100) == pytest.approx((0.01, 0.08))
    assert density.band(1000) == pytest.approx((0.001, 0.008))
    assert density.band(12) == density.band(None) == pytest.approx((0.01, 0.08))  # unheld below 100: shown as set
    m = Measurements(n_banks=1000)
    m.density.append(0.005)
    at_1000 = judge(density, density.compute(m), n_banks=1000)
    assert at_1000.ok is True and at_1000.low == pytest.approx(0.001) and at_1000.high == pytest.approx(0.008)
    assert judge(density, density.compute(m), n_banks=100).ok is False  # 0.5% is too sparse for 100 banks
    m.density[0] = 0.02
    assert judge(density, density.compute(m), n_banks=1000).ok is False
    assert judge(density, density.compute(m), n_banks=100).ok is True
    # bands without a scale are the same at every size
    roe = next(f for f in FACTS if f.name == "roe")
    assert roe.band(20) == roe.band(5000) == (roe.low, roe.high)


def test_the_table_says_which_bands_wait_for_a_larger_market(capsys):
    from interbank.cli import main

    assert main(["facts", *SMALL]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line.strip()}
    assert "- (100+ banks)" in lines["density_highest"] and "FAIL" not in lines["density_highest"]
    assert "- (500+ banks)" in lines["in_degree_tail_exponent"]


def test_core_earnings_fail_when_operating_costs_eat_the_income_and_pass_when_they_do_not():
    # operating costs of 20% of the book a year dwarf a ~3% yield: every bank's core earnings are negative
    def core(**rates):
        results = facts.check({"rates": rates}, "hold", episodes=1, banks=6, seed=0)
        return next(r for r in results if r.fact == "share_negative_core_earnings")

    costly = core(operating_cost=0.2)
    assert costly.value == 1.0 and costly.ok is False
    normal = core()
    assert normal.value < 0.5 and normal.ok is True


def test_check_returns_one_result_per_fact():
    results = facts.check("configs/default.yaml", "hold", episodes=1, banks=6, seed=0)
    assert [r.fact for r in results] == [f.name for f in FACTS]
    assert all(r.ok is None or isinstance(r.ok, bool) for r in results)


# The default scenario must pass every band it can be held to at its size (20 banks). The stress
# scenario is leveraged and volatile (credit surprises of 6% a year, mean zero; crashes; runs): its
# survivors' ROE is above normal years' band and 35-40% of its banks lose money or default, so its
# profitability is not held; that those losses come from credit, runs and markets and not from the
# banks' structure is (pre-provision net revenue), as are its funding market, pecking order and
# prices. The network's shape is held at 100 banks below (the density band is for 100+ banks).
SCENARIO_FACTS = {
    "configs/default.yaml": ("roe", "roa", "net_interest_margin", "cost_income", "share_losing_money", "share_negative_core_earnings",
                             "interbank_assets_share", "rate_scarcity_correlation", "shortfalls_by_fire_sales",
                             "volume_above_ceiling", "return_predictability_r2"),
    "configs/stress.yaml": ("net_interest_margin", "cost_income", "share_negative_core_earnings", "interbank_assets_share",
                            "rate_scarcity_correlation", "shortfalls_by_fire_sales", "volume_above_ceiling",
                            "return_predictability_r2"),
}
NETWORK_FACTS = ("density_lowest", "density_highest", "core_periphery_error")
NETWORK_BANKS = 100


@pytest.fixture(scope="module")
def scenario_facts():
    from interbank.evaluate.facts import check

    return {c: {r.fact: r for r in check(c, "lend_surplus(3)", episodes=6, seed=1000)} for c in SCENARIO_FACTS}


@pytest.fixture(scope="module")
def network_facts():
    from interbank.evaluate.facts import check

    return {c: {r.fact: r for r in check(c, "lend_surplus(3)", episodes=4, banks=NETWORK_BANKS, seed=1000)}
            for c in SCENARIO_FACTS}


@pytest.mark.parametrize("config", list(SCENARIO_FACTS))
def test_the_scenarios_pass_their_bands(scenario_facts, config):
    results = scenario_facts[config]
    failed = {f: r.value for f, r in results.items() if r.ok is False}
    assert not failed, failed
    judged = {f for f, r in results.items() if r.ok is not None}
    assert set(SCENARIO_FACTS[config]) <= judged, set(SCENARIO_FACTS[config]) - judged  # held, not skipped


def test_the_stress_scenario_file_says_which_bands_it_is_not_held_to_and_why():
    stress = facts.scenario_not_held("configs/stress.yaml")
    assert set(stress) == {"roe", "roa", "share_losing_money"}  # normal years' profitability, nothing else
    assert all("normal year" in reason for reason in stress.values())
    assert facts.scenario_not_held("configs/default.yaml") == {}
    assert facts.scenario_not_held({"n_banks": 5}) == {}  # a dict or a config object has no facts: section
    result = judge(next(f for f in FACTS if f.name == "roe"), 0.5, 30, not_held="a crisis")
    assert result.ok is None and result.not_held == "a crisis" and "not_held" not in result.to_json()
    assert judge(next(f for f in FACTS if f.name == "roe"), 0.5, 30).ok is False
    table = _cli("--config", "configs/stress.yaml", *SMALL).stdout
    assert "- (not held)" in next(line for line in table.splitlines() if line.startswith("roe "))
    assert "not held here (roe, roa, share_losing_money): normal years' profitability" in table


@pytest.mark.parametrize("section, message", [
    ("facts: {not_held: [roe, nonsense], reason: x}", "'nonsense' is not a fact"),
    ("facts: {not_held: [roe]}", "reason must say why"),
    ("facts: {not_held: roe, reason: x}", "must be a list of fact names"),
    ("facts: {held: [roe]}", "takes not_held"),
])
def test_a_bad_facts_section_is_a_one_line_error_that_names_it(tmp_path, section, message):
    path = tmp_path / "scenario.yaml"
    path.write_text("env:\n  n_banks: 6\n" + section + "\n")
    r = _cli("--config", str(path), *SMALL)
    assert r.returncode != 0 and r.stdout == ""
    assert message in r.stderr and "facts" in r.stderr and len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("config", ["configs/default.yaml", "configs/stress.yaml"])
def test_facts_at_its_defaults_fails_no_band_in_either_scenario(config):
    # what a user runs first: `interbank facts --config SCENARIO` (20 episodes from seed 0)
    r = _cli("--config", config, "--json", "--no-progress")
    assert r.returncode == 0, r.stderr
    rows = {row["fact"]: row for row in json.loads(r.stdout)}
    assert not {f: row["value"] for f, row in rows.items() if row["ok"] is False}
    assert sum(row["ok"] is True for row in rows.values()) >= 8


# The core-periphery error is the median over episodes of each episode's worst step: at 100 banks
# the stress scenario's typical episode stays near 0.2, while an episode in which one of the
# largest banks fails (a third of the system goes with it) leaves a market of ~65 links whose error
# reads 0.43 (reported as core_periphery_error_worst, not held to the band).
@pytest.mark.parametrize("config, fact", [(c, f) for c in SCENARIO_FACTS for f in NETWORK_FACTS])
def test_the_network_is_sparse_and_core_periphery_at_100_banks(network_facts, config, fact):
    result = network_facts[config][fact]
    assert result.ok, (fact, result.value)


# Six episodes (a few seconds at 1,000 banks): one episode's exponent varies by +-0.1 between seeds.
# The default scenario is within Boss et al.'s 2-3 (2.14 +- 0.05); under stress the tail is heavier,
# 1.93 +- 0.05, below the band (docs/economics.md says so): held here
# only to being fat-tailed, below 3.
def test_in_degrees_are_fat_tailed_at_1000_banks():
    from interbank.evaluate.facts import check

    tails = {c: {r.fact: r for r in check(c, "lend_surplus(3)", episodes=6, banks=1000, seed=1000)}["in_degree_tail_exponent"]
             for c in SCENARIO_FACTS}
    default, stress = tails["configs/default.yaml"], tails["configs/stress.yaml"]
    assert default.ok, default.value  # Boss et al. 2004: 2-3
    assert stress.value is not None and 1.5 < stress.value < 3.0, stress.value
