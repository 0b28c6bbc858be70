from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def event_validator():
    from jsonschema import Draft202012Validator

    from interbank.schema import event_schema

    schema = event_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line]


# ------------------------------------------------------------ one shared tiny training run
TINY_TRAIN = {
    "env": {"n_banks": 6, "max_steps": 20, "seed": 0},
    "train": {"total_timesteps": 1440, "n_envs": 2, "n_steps": 24, "batch_size": 96, "n_epochs": 2,
              "checkpoint_every": 576, "net_arch": [16, 16], "seed": 0, "device": "cpu"},
}


def pytest_collection_modifyitems(config, items):
    """Every test that uses the trained run is marked ``training`` (``-m "not training"`` skips them)."""
    for item in items:
        if "trained_run" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.training)


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
    """(config path, run folder) of the one tiny training run of the session (per xdist worker).
    Read it freely; copy it (``copy_run``) before changing anything in it."""
    import yaml

    from interbank.cli import main

    root = tmp_path_factory.mktemp("trained")
    cfg = root / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(TINY_TRAIN))
    out = root / "run"
    assert main(["train", "--config", str(cfg), "--out", str(out), "--no-progress"]) == 0
    return cfg, out


def copy_run(run: Path, dest: Path) -> Path:
    import shutil

    return Path(shutil.copytree(run, dest))
