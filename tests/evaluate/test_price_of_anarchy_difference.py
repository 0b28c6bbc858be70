"""Runs trained with difference rewards sit beside the selfish ones and give a price of anarchy of their own."""

import json

import pytest
import yaml

from interbank.cli import main
from tests.evaluate.test_seeds_and_compare import TINY


def test_difference_runs_are_named_grouped_and_give_their_price_of_anarchy(tmp_path, capsys):
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY))
    parent = tmp_path / "runs"
    assert main(["train", "--config", str(config), "--seeds", "0", "--out", str(parent), "--no-progress"]) == 0
    assert main(["train", "--config", str(config), "--seeds", "0", "--objective", "difference", "--out", str(parent),
                 "--no-progress"]) == 0
    assert sorted(p.name for p in parent.iterdir()) == ["difference-s0", "s0"]
    saved = yaml.safe_load((parent / "difference-s0" / "config.yaml").read_text())
    assert saved["env"]["reward"]["objective"] == "difference"
    out = tmp_path / "eval"
    assert main(["evaluate", str(parent), "--episodes", "2", "--tune-episodes", "1", "--out", str(out), "--no-plots",
                 "--no-progress"]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert {"trained/s0", "trained_difference/difference-s0"} <= set(m["policies"])
    ratio = m["across_seeds"]["trained"]["welfare"]["mean"] / m["across_seeds"]["trained_difference"]["welfare"]["mean"]
    assert m["price_of_anarchy_difference"] == pytest.approx(ratio)
    assert "welfare with difference rewards" in capsys.readouterr().out
