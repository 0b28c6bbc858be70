"""Every list of names has one source: the command line's choices, the config models' fields, the
event schema, the evaluation's columns and the server's constants derive from it. Each test here
fails when a copy and its source disagree (a name missing, extra or spelt otherwise)."""

from __future__ import annotations

import argparse
from typing import get_args

import pytest


def _parsers() -> dict[str, argparse.ArgumentParser]:
    from interbank.cli import build_parser

    return dict(build_parser()._subparsers._group_actions[0].choices)


def _action(command: str, option: str) -> argparse.Action:
    parser = _parsers()[command]
    return next(a for a in parser._actions if option in a.option_strings or a.dest == option)


def _literal(model, field: str) -> tuple:
    """The choices of a pydantic model's ``Literal`` field."""
    return get_args(model.model_fields[field].annotation)


# ------------------------------------------------------------------ the command line
def test_the_policy_choices_are_the_registered_baselines():
    from interbank.policies import BASELINES, DEFAULT_POLICY

    for command in ("simulate", "replay"):
        assert list(_action(command, "--policy").choices) == list(BASELINES), command
    assert _action("simulate", "--policy").default == DEFAULT_POLICY


def test_the_train_choices_are_the_config_models():
    from interbank.config import OBJECTIVES, RewardConfig
    from interbank.train.config import ALGORITHM, DEVICES, TrainSettings

    assert tuple(_action("train", "--objective").choices) == OBJECTIVES == _literal(RewardConfig, "objective")
    assert tuple(_action("train", "--device").choices) == DEVICES == _literal(TrainSettings, "device")
    assert tuple(_action("train", "--backend").choices) == tuple(ALGORITHM) == _literal(TrainSettings, "backend")
    assert tuple(ALGORITHM.values()) == _literal(TrainSettings, "algorithm")


def test_the_train_run_records_the_algorithm_of_the_config():
    from interbank.train import config, run

    assert run.ALGORITHM is config.ALGORITHM


def test_the_activations_are_those_a_checkpoint_loader_accepts():
    from interbank.run_folder import ACTIVATIONS
    from interbank.train.config import TrainSettings

    assert _literal(TrainSettings, "activation") == ACTIVATIONS


def test_evaluate_backends_experiments_and_bench_parts_come_from_their_modules():
    from interbank.bench import PARTS
    from interbank.evaluate.parallel import BACKENDS
    from interbank.experiments.config import EXPERIMENTS, MODELS

    assert tuple(_action("evaluate", "--backend").choices) == BACKENDS
    assert tuple(_action("experiment", "name").choices) == EXPERIMENTS
    assert set(MODELS) < set(EXPERIMENTS)
    assert tuple(_action("bench", "--parts").default) == PARTS


def test_the_central_bank_choices_are_the_registered_rules():
    from interbank.envs.central_bank_rules import CENTRAL_BANK_RULES
    from interbank.evaluate.central_bank_critique import RULES, parse_central_banks
    from interbank.policies.central_bank_setup import CENTRAL_BANK_CHOICES

    assert RULES == tuple(CENTRAL_BANK_RULES)
    assert list(_action("evaluate-central-bank", "--first-rule").choices) == list(CENTRAL_BANK_RULES)
    default = _action("evaluate-central-bank", "--central-banks").default
    assert [s.name for s in parse_central_banks(default)] == list(CENTRAL_BANK_CHOICES)
    for command in ("simulate", "evaluate", "replay"):  # the help names every rule
        shown = " ".join(_action(command, "--central-bank").help.split())
        assert all(f"{name}," in shown or f"{name} " in shown for name in CENTRAL_BANK_RULES), (command, shown)


def test_the_central_bank_descriptions_cover_every_choice():
    from interbank.policies.central_bank_setup import CENTRAL_BANK_CHOICES, central_bank_catalogue

    assert [c["name"] for c in central_bank_catalogue()] == list(CENTRAL_BANK_CHOICES)
    assert all(c["description"] for c in central_bank_catalogue())


def test_the_cli_docstring_lists_every_subcommand():
    import interbank.cli

    listed = {line.split()[1] for line in interbank.cli.__doc__.splitlines() if line.strip().startswith("interbank ")}
    assert listed == set(_parsers())


# ------------------------------------------------------------------ configs
def test_the_priority_models_are_the_rules_or_one_fixed_priority_each():
    from interbank.config import PRIORITY_MODELS, PriorityConfig
    from interbank.envs.priority import FixedPriority, RuleBasedPriority, priority_model_from_config
    from interbank.sim.actions import PRIORITIES

    assert PRIORITY_MODELS == ("rule_based", *(f"fixed_{p.lower()}" for p in PRIORITIES))
    assert _literal(PriorityConfig, "model") == PRIORITY_MODELS
    fixed = [priority_model_from_config(PriorityConfig(model=m)) for m in PRIORITY_MODELS]
    assert isinstance(fixed[0], RuleBasedPriority)
    assert [f.priority for f in fixed[1:] if isinstance(f, FixedPriority)] == list(range(len(PRIORITIES)))


# ------------------------------------------------------------------ the event schema
def test_the_event_schema_takes_its_enums_from_the_vocabularies():
    from interbank.schema import event_schema
    from interbank.sim.actions import ACTIONS, HOLD, PRIORITIES
    from interbank.sim.market_dynamics.regime_switching import REGIMES

    defs = event_schema()["$defs"]
    assert defs["TransactionData"]["properties"]["priority"]["enum"] == list(PRIORITIES)
    assert defs["BankSnapshot"]["properties"]["priority"]["enum"] == list(PRIORITIES)
    assert defs["TransactionData"]["properties"]["action"]["enum"] == [a for a in ACTIONS if a != ACTIONS[HOLD]]
    assert defs["RegimeSwitchData"]["properties"]["regime"]["enum"] == list(REGIMES)


def test_the_env_card_has_a_row_for_each_action_in_order():
    from interbank.envs import env_card
    from interbank.sim.actions import ACTIONS
    from interbank.sim.central_bank import CB_ACTIONS

    card = env_card()
    for k, name in enumerate(ACTIONS):
        assert any(line.split()[:2] == [str(k), name] for line in card.splitlines()), name
    for k, name in enumerate(CB_ACTIONS):
        assert any(line.split()[:2] == [str(k), name] for line in card.splitlines()), name


# ------------------------------------------------------------------ evaluation
def test_the_evaluation_columns_follow_the_priorities_and_actions():
    from interbank.envs.rewards import COMPONENTS
    from interbank.evaluate.run import CSV_COLUMNS, PRIORITY_COLUMNS, metrics_table
    from interbank.sim.actions import ACTIONS, PRIORITIES

    assert COMPONENTS == tuple(p.lower() for p in PRIORITIES)
    assert PRIORITY_COLUMNS == {f"return_{p.lower()}": p.lower() for p in PRIORITIES}
    assert [c for c in CSV_COLUMNS if c.startswith("return_")] == list(PRIORITY_COLUMNS)
    headers, _ = metrics_table({"policies": {}})
    assert headers[-1] == "/".join(a[0] for a in ACTIONS) + " %"


def test_the_plots_colour_every_action_and_priority():
    from interbank.evaluate.plots import ACTION_COLORS, PRIORITY_COLORS
    from interbank.sim.actions import ACTIONS, PRIORITIES

    assert set(ACTION_COLORS) == set(ACTIONS) and set(PRIORITY_COLORS) == set(PRIORITIES)


# ------------------------------------------------------------------ the server
def test_the_server_and_its_store_share_the_runners_and_scenarios_names():
    from interbank import scenarios
    from interbank.interactive import runner, server, store

    assert store.FINISHED is runner.FINISHED_STATES
    assert server.NAME is scenarios.NAME


@pytest.mark.parametrize("words", [["train", "--objective", "greedy"], ["train", "--device", "tpu"],
                                   ["train", "--backend", "jax"], ["evaluate", "x", "--backend", "dask"],
                                   ["experiment", "eisenberg"], ["evaluate-central-bank", "--config", "c.yaml",
                                                                 "--first-rule", "volcker"]])
def test_a_name_outside_the_source_is_refused_by_the_command_line(words, capsys):
    from interbank.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(words)
    assert exit_.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
