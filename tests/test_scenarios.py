"""Config names (``--config stress``) resolve against ./configs first, then against the scenarios shipped
inside the package, so they work from an installed wheel as from the repository."""

from __future__ import annotations

import json
from pathlib import Path

from interbank import scenarios
from interbank.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_the_package_ships_every_scenario_of_the_repository():
    packaged = scenarios.packaged_configs()
    assert packaged is not None
    repo = sorted(p.relative_to(ROOT / "configs") for p in (ROOT / "configs").rglob("*.yaml"))
    assert repo and sorted(p.relative_to(packaged) for p in packaged.rglob("*.yaml")) == repo
    for rel in repo:
        assert (packaged / rel).read_bytes() == (ROOT / "configs" / rel).read_bytes()


def test_names_resolve_outside_the_repository_from_the_package(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # no configs/ here
    assert scenarios.resolve("stress") == scenarios.packaged_configs() / "stress.yaml"
    assert scenarios.resolve("smoke", "train") == scenarios.packaged_configs() / "train" / "smoke.yaml"
    assert scenarios.experiment_preset("gai-kapadia").name == "gai_kapadia.yaml"
    assert scenarios.default_scenario() == scenarios.packaged_configs() / "default.yaml"
    assert scenarios.scenarios_folder() == scenarios.packaged_configs()
    assert main(["simulate", "--config", "stress", "--steps", "5", "--no-progress", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["banks"] > 0


def test_a_local_configs_folder_comes_first_and_files_stay_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "stress.yaml").write_text("env:\n  n_banks: 4\n")
    (tmp_path / "stress").write_text("env:\n  n_banks: 3\n")
    assert scenarios.resolve("stress") == Path("stress")  # an existing file is taken as it is
    (tmp_path / "stress").unlink()
    assert scenarios.resolve("stress") == Path("configs") / "stress.yaml"
    assert scenarios.resolve("default") == scenarios.packaged_configs() / "default.yaml"  # not here: the package's
    assert scenarios.resolve("../x") == Path("../x") and scenarios.resolve("nope") == Path("nope")  # left to the loader
    assert scenarios.scenarios_folder() == Path("configs")
