"""The ``train:`` section's checks: a network the checkpoint loader would refuse is refused before
anything is written."""

import pytest
import yaml

from interbank.cli import main
from interbank.run_folder import MAX_HIDDEN
from tests.conftest import TINY_TRAIN as TINY


def _train(tmp_path, capsys, train):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({"env": TINY["env"], "train": {**TINY["train"], **train}}))
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--config", str(cfg), "--out", str(out), "--no-progress"])
    assert exit_.value.code == 2 and not out.exists()
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith(f"interbank: {cfg}: train.net_arch")
    return err


@pytest.mark.parametrize("net_arch, says", [
    ([0], "train.net_arch[0] = 0 must be >= 1"),
    ([64, -3], "train.net_arch[1] = -3 must be >= 1"),
    ([MAX_HIDDEN + 1], f"train.net_arch[0] = {MAX_HIDDEN + 1} must be <= {MAX_HIDDEN}"),
    ([100_000, 100_000], "train.net_arch[0] = 100000 must be <= 65536"),
])
def test_layer_widths_the_checkpoint_loader_refuses_are_refused_before_training(tmp_path, capsys, net_arch, says):
    assert _train(tmp_path, capsys, {"net_arch": net_arch}).endswith(says)
