"""Searched rules: CMA-ES over a linear score per action (``interbank.evaluate.search``), the rule's
file and printout (``interbank.policies.searched``), ``interbank search-rules`` and
``interbank evaluate --search-rules``."""

import json
import re

import numpy as np
import pytest
import yaml

from interbank.cli import main
from interbank.envs.observation import FEATURE_INDEX, N_FEATURES
from interbank.evaluate.search import SearchBudget, cma_search
from interbank.policies.searched import (
    SEARCH_FEATURES, SearchedRuleError, SearchedRulePolicy, describe_rule, load_searched_rule, save_searched_rule,
)
from interbank.sim.actions import ACTIONS, HOLD, LEND

TINY_ENV = {"env": {"n_banks": 6, "max_steps": 10, "seed": 0}}
COLS = [FEATURE_INDEX[f] for f in SEARCH_FEATURES]


def lending_pays_on_a_high_reserve_buffer(rows: int = 300, seed: int = 0):
    """An env-free objective where one feature decides: LEND pays +1 when ``reserve_buffer`` > 0.1
    and -1 below; HOLD pays 0; every other action -0.5. Every other feature is noise.
    Returns (objective, centre, scale, observations); HOLD everywhere scores 0, the best rule 0.5."""
    rng = np.random.default_rng(seed)
    obs = rng.normal(0.0, 1.0, (rows, N_FEATURES)).astype(np.float32)
    buffer = rng.uniform(-0.1, 0.3, rows)
    obs[:, FEATURE_INDEX["reserve_buffer"]] = buffer
    masks = np.ones((rows, len(ACTIONS)), dtype=bool)
    pay = np.full((rows, len(ACTIONS)), -0.5)
    pay[:, HOLD] = 0.0
    pay[:, LEND] = np.where(buffer > 0.1, 1.0, -1.0)

    def objective(policies):
        return [float(pay[np.arange(rows), p.act(obs, masks)].mean()) for p in policies]

    x = obs[:, COLS].astype(np.float64)
    return objective, x.mean(axis=0), x.std(axis=0), obs


@pytest.fixture(scope="module")
def found():
    objective, centre, scale, obs = lending_pays_on_a_high_reserve_buffer()
    return cma_search(objective, centre, scale, SearchBudget(generations=20, popsize=10, seed=1)), objective, obs


def test_the_search_finds_the_deciding_feature_and_beats_hold(found):
    result, objective, obs = found
    hold = objective([SearchedRulePolicy(np.zeros((len(ACTIONS), len(SEARCH_FEATURES) + 1)))])[0]
    assert hold == 0.0
    assert result.score > 0.1 and objective([result.policy])[0] == pytest.approx(result.score)
    name, weight, _ = result.policy.top_features(LEND, 1)[0]
    assert name == "reserve_buffer" and weight > 0
    lends = result.policy.act(obs, np.ones((len(obs), len(ACTIONS)), dtype=bool)) == LEND
    high = obs[:, FEATURE_INDEX["reserve_buffer"]] > 0.1
    assert lends[high].mean() > 0.7 and lends[~high].mean() < 0.4
    assert [h["generation"] for h in result.history] == list(range(1, 21))
    assert result.history[-1]["best_so_far"] == result.score


def test_the_same_search_seed_finds_the_same_rule():
    objective, centre, scale, _ = lending_pays_on_a_high_reserve_buffer(rows=100)
    a, b, c = (cma_search(objective, centre, scale, SearchBudget(generations=3, popsize=4, seed=s)) for s in (5, 5, 6))
    assert np.array_equal(a.policy.weights, b.policy.weights) and a.history == b.history
    assert not np.array_equal(a.policy.weights, c.policy.weights)


def test_the_all_zero_rule_holds_and_masked_actions_never_win():
    n = len(SEARCH_FEATURES)
    obs = np.random.default_rng(0).normal(size=(8, N_FEATURES)).astype(np.float32)
    assert (SearchedRulePolicy(np.zeros((len(ACTIONS), n + 1))).act(obs, np.ones((8, 5), bool)) == HOLD).all()
    weights = np.zeros((len(ACTIONS), n + 1))
    weights[LEND, -1] = 10.0
    mask = np.ones((8, 5), bool)
    mask[::2, LEND] = False
    acts = SearchedRulePolicy(weights).act(obs, mask)
    assert (acts[1::2] == LEND).all() and (acts[::2] == HOLD).all()


def _printed_terms(line: str) -> list[tuple[float, str, float]]:
    return [(float(w), name, float(imp)) for w, name, imp in re.findall(r"([+-][\d.e+-]+) x (\w+) \[([\d.]+)\]", line)]


def test_the_printed_rule_matches_its_parameters(found):
    result, _, _ = found
    policy = result.policy
    lines = describe_rule(policy, k=3)
    for a, action in enumerate(ACTIONS):
        line = next(ln for ln in lines if ln.split() and ln.split()[0] == action)
        terms = _printed_terms(line)
        imp = np.abs(policy.weights[a, :-1]) * policy.scale
        if a == HOLD:
            assert terms == [] and "reference" in line
            continue
        assert terms[0][1] == SEARCH_FEATURES[int(np.argmax(imp))]  # the printed top feature has the largest |w| x scale
        assert [t[1] for t in terms] == [SEARCH_FEATURES[j] for j in np.argsort(-imp)[:3]]
        for w, name, shown in terms:
            j = SEARCH_FEATURES.index(name)
            assert w == pytest.approx(policy.weights[a, j], rel=5e-3) and shown == pytest.approx(imp[j], abs=5e-3)
        assert float(line.split()[1]) == pytest.approx(policy.weights[a, -1], rel=5e-3, abs=1e-3)


def test_the_rule_file_round_trips(found, tmp_path):
    result, _, obs = found
    path = tmp_path / "searched_rule.json"
    save_searched_rule(path, result.policy, {"search": result.report([0])})
    loaded = load_searched_rule(path)
    assert np.array_equal(loaded.weights, result.policy.weights) and np.array_equal(loaded.scale, result.policy.scale)
    assert loaded.features == result.policy.features
    masks = np.ones((len(obs), 5), bool)
    assert np.array_equal(loaded.act(obs, masks), result.policy.act(obs, masks))
    data = json.loads(path.read_text())
    assert set(data["weights"]["LEND"]) == {*SEARCH_FEATURES, "bias"} and data["search"]["history"]


def _corrupt(data: dict, how: str) -> str:
    if how == "not json":
        return "{not json"
    if how == "missing action":
        del data["weights"]["DIVEST"]
    elif how == "weight not a number":
        data["weights"]["LEND"]["cash_ratio"] = "big"
    elif how == "unknown feature":
        data["features"][0] = "crystal_ball"
    elif how == "zero scale":
        data["scale"]["risk"] = 0.0
    elif how == "other format":
        data["format"] = "pickle"
    return json.dumps(data)


@pytest.mark.parametrize("how", ["not json", "missing action", "weight not a number", "unknown feature", "zero scale", "other format"])
def test_a_malformed_rule_file_is_refused_in_one_line(found, tmp_path, how):
    result, _, _ = found
    path = tmp_path / "searched_rule.json"
    save_searched_rule(path, result.policy)
    path.write_text(_corrupt(json.loads(path.read_text()), how))
    with pytest.raises(SearchedRuleError) as err:
        load_searched_rule(path)
    assert "\n" not in str(err.value) and str(path) in str(err.value)


@pytest.fixture
def tiny_config(tmp_path):
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(TINY_ENV))
    return cfg


@pytest.mark.parametrize("args, says", [
    (["--popsize", "1"], "population 1 must be at least 2"),
    (["--generations", "0"], "at least 1"),
    (["--episodes", "x"], "not a whole number"),
    (["--tune-seed", "998", "--episodes", "5"], "overlap the tuning seeds"),
    (["--config", "no/such.yaml"], "no/such.yaml"),
    (["--out", "FILE"], "is a file"),
])
def test_bad_input_to_search_rules_is_one_line_and_exit_2(tmp_path, capsys, args, says):
    target = tmp_path / "out"
    if "FILE" in args:
        target.write_text("")
        args = [a for a in args if a not in ("--out", "FILE")]
    with pytest.raises(SystemExit) as exc:
        main(["search-rules", "--out", str(target), *args, "--no-progress"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.startswith("interbank: ") and err.count("\n") == 1 and says in err


def test_search_rules_writes_a_loadable_rule_and_prints_it(tiny_config, tmp_path, capsys):
    out = tmp_path / "found"
    assert main(["search-rules", "--config", str(tiny_config), "--out", str(out), "--generations", "2", "--popsize", "3",
                 "--episodes", "1", "--eval-episodes", "2", "--no-progress"]) == 0
    policy = load_searched_rule(out / "searched_rule.json")
    data = json.loads((out / "searched_rule.json").read_text())
    assert [h["generation"] for h in data["search"]["history"]] == [1, 2]
    assert data["search"]["tuning_seeds"] == [0] and data["evaluation"]["seeds"] == [1000, 1001]
    scores = data["evaluation"]["scores"]
    assert set(scores) >= {"searched", "hold"} and any(n.startswith("lend_surplus(") for n in scores)
    text = capsys.readouterr().out
    lend_line = next(ln for ln in text.splitlines() if ln.strip().startswith("LEND"))
    assert _printed_terms(lend_line)[0][1] == policy.top_features(LEND, 1)[0][0]
    assert "searched minus it" in text and "hold" in text


def test_evaluate_search_rules_reports_a_searched_entry(trained_run, tiny_config, tmp_path, capsys):
    _, run = trained_run
    out = tmp_path / "eval"
    assert main(["evaluate", str(run), "--config", str(tiny_config), "--episodes", "2", "--tune-episodes", "1",
                 "--search-rules", "--search-generations", "2", "--search-popsize", "3", "--out", str(out),
                 "--no-plots", "--no-progress"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert "searched" in metrics["policies"] and metrics["best_rule"] != "searched"
    report = metrics["searched_rule"]
    assert report["search"]["budget"]["generations"] == 2 and report["search"]["tuning_seeds"] == [0]
    assert "searched" in (out / "metrics.csv").read_text()
    saved = load_searched_rule(out / "searched_rule.json")
    assert saved.weights.tolist() == [[report["weights"][a][f] for f in [*SEARCH_FEATURES, "bias"]] for a in ACTIONS]
    text = capsys.readouterr().out
    assert "searched rule (CMA-ES" in text and re.search(r"^searched\s", text, re.M)


def test_evaluate_search_rules_needs_tuning_seeds(trained_run, tmp_path, capsys):
    _, run = trained_run
    with pytest.raises(SystemExit) as exc:
        main(["evaluate", str(run), "--tune-episodes", "0", "--search-rules", "--out", str(tmp_path / "e"), "--no-progress"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.count("\n") == 1 and "--search-rules" in err
