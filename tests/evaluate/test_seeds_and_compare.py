"""``train --seeds`` (selfish and social), evaluation over the parent folder, ``--compare``."""

import json
import sys
import textwrap

import numpy as np
import pytest
import yaml

from interbank.cli import main

TINY = {
    "env": {"n_banks": 6, "max_steps": 12, "seed": 0},
    "train": {"total_timesteps": 288, "n_envs": 2, "n_steps": 24, "batch_size": 96, "n_epochs": 1,
              "checkpoint_every": 288, "net_arch": [8], "seed": 0, "device": "cpu"},
}

MY_POLICY = textwrap.dedent('''
    import numpy as np

    class AlwaysHold:
        def __init__(self):
            self.resets = []

        def reset(self, seed):
            self.resets.append(seed)

        def act(self, observations, masks):
            return np.full(observations.shape[0], 4)

    def make():
        return AlwaysHold()

    def broken():
        return object()

    class Raising:
        def act(self, observations, masks):
            raise RuntimeError("boom")

    def raising():
        return Raising()

    class Outside:
        def act(self, observations, masks):
            return np.full(observations.shape[0], 7)

    def outside():
        return Outside()

    class PickMasked:  # the first action each row's mask forbids (LEND where all are allowed)
        def act(self, observations, masks):
            return np.argmin(masks, axis=1)

    def pick_masked():
        return PickMasked()
''')


@pytest.fixture(scope="module")
def seed_runs(tmp_path_factory):
    """Two selfish seeds and one social seed under one parent folder (the social run from a config
    that says so: --seeds names it social-s<seed>, beside the selfish ones)."""
    root = tmp_path_factory.mktemp("seeds")
    selfish, social = root / "selfish.yaml", root / "social.yaml"
    selfish.write_text(yaml.safe_dump(TINY))
    social.write_text(yaml.safe_dump({**TINY, "env": {**TINY["env"], "reward": {"objective": "social"}}}))
    parent = root / "runs"
    assert main(["train", "--config", str(selfish), "--seeds", "0,1", "--out", str(parent), "--no-progress"]) == 0
    assert main(["train", "--config", str(social), "--seeds", "7", "--out", str(parent), "--no-progress"]) == 0
    return root, parent


def test_seeds_write_one_run_folder_per_seed(seed_runs):
    _, parent = seed_runs
    assert sorted(p.name for p in parent.iterdir()) == ["s0", "s1", "social-s7"]
    for name, seed in (("s0", 0), ("s1", 1), ("social-s7", 7)):
        cfg = yaml.safe_load((parent / name / "config.yaml").read_text())
        assert cfg["train"]["seed"] == seed
        assert list((parent / name / "checkpoints").iterdir())
    assert yaml.safe_load((parent / "social-s7" / "config.yaml").read_text())["env"]["reward"]["objective"] == "social"


def test_evaluate_the_parent_aggregates_seeds_and_reports_the_price_of_anarchy(seed_runs, tmp_path, capsys):
    _, parent = seed_runs
    out = tmp_path / "eval"
    assert main(["evaluate", str(parent), "--episodes", "2", "--tune-episodes", "1", "--out", str(out), "--no-plots", "--no-progress"]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert {"trained/s0", "trained/s1", "trained_social/social-s7"} <= set(m["policies"])
    spread = m["across_seeds"]["trained"]
    assert spread["runs"] == ["trained/s0", "trained/s1"]
    values = [m["policies"][n]["mean_return"] for n in spread["runs"]]
    assert spread["mean_return"]["mean"] == pytest.approx(sum(values) / 2)
    assert spread["mean_return"]["min"] == pytest.approx(min(values))
    welfare = m["across_seeds"]["trained"]["welfare"]["mean"] / m["across_seeds"]["trained_social"]["welfare"]["mean"]
    assert m["price_of_anarchy"] == pytest.approx(welfare)
    assert m["best_rule"] in m["policies"] and m["tuning"]["rules"]["lend_surplus"]["best"]["c"] in (1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 12.0)
    text = capsys.readouterr().out
    assert "across training seeds" in text and "price of anarchy" in text


def test_objective_flag_overrides_the_config_and_names_the_seed_folders(seed_runs, tmp_path, capsys):
    root, _ = seed_runs
    parent = tmp_path / "poa"
    assert main(["train", "--config", str(root / "selfish.yaml"), "--seeds", "3", "--objective", "social",
                 "--out", str(parent), "--no-progress"]) == 0
    assert main(["train", "--config", str(root / "social.yaml"), "--seed", "4", "--objective", "selfish",
                 "--out", str(parent / "s4"), "--no-progress"]) == 0
    objective = {p.name: yaml.safe_load((p / "config.yaml").read_text())["env"]["reward"]["objective"] for p in parent.iterdir()}
    assert objective == {"social-s3": "social", "s4": "selfish"}
    assert "--objective social" in (parent / "social-s3" / "command.txt").read_text()
    with pytest.raises(SystemExit) as exc:
        main(["train", "--out", str(parent / "s4"), "--resume", "--objective", "social", "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2 and "--objective applies to a new run" in err and "\n" not in err
    assert yaml.safe_load((parent / "s4" / "config.yaml").read_text())["env"]["reward"]["objective"] == "selfish"


def test_seeds_refuse_a_repeated_seed_and_seed_with_seeds(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["train", "--seeds", "0,0"])
    assert exc.value.code == 2 and "repeats a seed" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["train", "--seeds", "0,1", "--seed", "3"])
    assert exc.value.code == 2 and "exclude each other" in capsys.readouterr().err


@pytest.fixture
def my_module(tmp_path, monkeypatch):
    (tmp_path / "my_policies.py").write_text(MY_POLICY)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "my_policies"
    sys.modules.pop("my_policies", None)


def test_compare_loads_a_policy_from_a_module_and_reports_it(seed_runs, my_module, tmp_path):
    _, parent = seed_runs
    out = tmp_path / "eval"
    assert main(["evaluate", str(parent / "s0"), "--episodes", "2", "--tune-episodes", "0", "--out", str(out),
                 "--no-plots", "--no-progress", "--compare", f"mine={my_module}:make"]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert "mine" in m["policies"]
    # always HOLD: the same figures as the built-in hold baseline on the same episodes
    assert m["policies"]["mine"]["mean_return"] == pytest.approx(m["policies"]["hold"]["mean_return"])
    assert m["policies"]["mine"]["action_frequency"]["HOLD"] == 1.0


@pytest.mark.parametrize("spec, message", [
    ("mine", "expected NAME=package.module:factory"),
    ("mine=no_such_module_xyz:make", "cannot import 'no_such_module_xyz'"),
    ("mine=my_policies:missing", "has no callable 'missing'"),
    ("mine=my_policies:broken", "has no act(observations, masks)"),
    ("hold=my_policies:make", "already a baseline's name"),
    ("trained=my_policies:make", "already the checkpoint's name"),  # it would have replaced the checkpoint's row
    ("mine=my_policies:make --compare mine=my_policies:make", "already another --compare's name"),
    ("mine=my_policies:raising", "policy 'mine': act() failed: RuntimeError: boom"),
    ("mine=my_policies:outside", "policy 'mine': act() returned action 7 for row 0; actions are 0..4"),
    ("mine=my_policies:pick_masked", "which its mask forbids"),
])
def test_compare_refuses_a_bad_spec_with_one_line(seed_runs, my_module, tmp_path, capsys, spec, message):
    _, parent = seed_runs
    with pytest.raises(SystemExit) as exc:
        main(["evaluate", str(parent / "s0"), "--episodes", "1", "--tune-episodes", "0", "--out", str(tmp_path / "e"),
              "--no-plots", "--no-progress", "--compare", *spec.split(" --compare ")[:1],
              *[a for extra in spec.split(" --compare ")[1:] for a in ("--compare", extra)]])
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2 and message in err and "\n" not in err
    assert not (tmp_path / "e" / "metrics.json").exists()


def test_evaluate_deviations_tests_every_trained_run_and_the_best_rule(seed_runs, tmp_path, capsys):
    _, parent = seed_runs
    out = tmp_path / "eval"
    assert main(["evaluate", str(parent), "--episodes", "2", "--tune-episodes", "1", "--out", str(out),
                 "--no-progress", "--deviations"]) == 0
    assert (out / "deviations.png").stat().st_size > 10_000
    m = json.loads((out / "metrics.json").read_text())
    dev = m["deviations"]
    assert list(dev) == ["trained/s0", "trained/s1", "trained_social/social-s7", m["best_rule"]]
    tried = set(dev["trained/s0"]["deviations"])
    # every other policy evaluated (not random), and every grid point of the tuned rules
    assert {"trained/s1", "hold", "hoard", "lend_surplus(1.5)", "lend_surplus(12)", "invest_momentum(0.05)"} <= tried
    assert "random" not in tried and "trained/s0" not in tried
    for base in dev.values():
        best = base["best_deviation"]
        assert base["best_gain"] == max(d["gain"] for d in base["deviations"].values()) == base["deviations"][best]["gain"]
    text = capsys.readouterr().out
    assert "unilateral deviations" in text and "equilibrium?" in text


def test_the_table_shows_the_objective_when_priority_variants_are_compared():
    from interbank.evaluate.run import metrics_table

    def row(ret, objective):
        return {"mean_return": ret, "std_return": 0.0, "default_rate": 0.0, "welfare": 1.0, "interbank_volume": 0.0,
                "funding_unmet": 0.0, "fire_sale_losses": 0.0, "central_bank_usage": 0.0, "debtrank_max": 0.0,
                "action_frequency": {"LEND": 0.0, "BORROW": 0.0, "INVEST": 0.0, "DIVEST": 0.0, "HOLD": 1.0},
                "mean_objective": objective}

    # the same behaviour under two priorities: returns differ by the priority's buffer term, objectives do not
    with_variants = {"policies": {"trained/rule_based": row(0.221, 0.214), "trained/liquidity": row(0.250, 0.214)}}
    headers, rows = metrics_table(with_variants)
    assert headers[-1] == "objective" and [r[-1] for r in rows] == [0.214, 0.214]
    headers, _ = metrics_table({"policies": {"hold": row(0.2, 0.19)}})
    assert "objective" not in headers


def test_a_compared_policy_is_held_to_its_masks_row_by_row():
    from interbank.evaluate.compare import CompareError, ExternalPolicy

    class Fixed:
        def __init__(self, actions):
            self.actions = actions

        def act(self, observations, masks):
            return np.asarray(self.actions)

    obs = np.zeros((3, 4), np.float32)
    masks = np.array([[1, 1, 1, 1, 1], [0, 1, 0, 1, 1], [0, 0, 0, 0, 1]], np.int8)
    assert ExternalPolicy("ok", Fixed([0, 3, 4])).act(obs, masks).tolist() == [0, 3, 4]
    with pytest.raises(CompareError, match=r"^policy 'x': act\(\) chose INVEST for row 1, which its mask forbids \(2 masked"):
        ExternalPolicy("x", Fixed([0, 2, 0])).act(obs, masks)
    with pytest.raises(CompareError, match=r"returned action -1 for row 2; actions are 0..4"):
        ExternalPolicy("x", Fixed([4, 4, -1])).act(obs, masks)


def test_a_folder_beside_the_seed_runs_that_is_not_a_run_is_named(tmp_path):
    from interbank.evaluate.run import not_runs

    for name in ("s0", "s2"):
        (tmp_path / name / "checkpoints").mkdir(parents=True)
        (tmp_path / name / "config.yaml").write_text("env: {}\n")
    (tmp_path / "s1").mkdir()  # a seed whose training never wrote anything
    (tmp_path / "eval").mkdir()
    (tmp_path / "eval" / "metrics.json").write_text("{}")  # evaluate's own output: not a run, not named
    assert not_runs(tmp_path) == [tmp_path / "s1"]
    assert not_runs(tmp_path / "s0") == []  # a run itself
