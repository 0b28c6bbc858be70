"""``interbank experiment``'s flags are bounded and only taken where they act: a sweep too large,
more runs or processes than a command starts, and a sweep's flag given to debtrank are one line,
exit 2, nothing written."""

from __future__ import annotations

import pytest

from interbank.cli import main
from interbank.config import MAX_WORKERS
from interbank.experiments.config import MAX_POINTS, MAX_RUNS, parse_range


@pytest.mark.parametrize("args, says", [
    (["gai-kapadia", "--degrees", "1:100000:0.000001"], "a sweep takes at most 1,000"),
    (["gai-kapadia", "--degrees", ",".join(["1"] * (MAX_POINTS + 1))], "a sweep takes at most 1,000"),
    (["nier", "--probabilities", "0:1:0.0001"], "a sweep takes at most 1,000"),
    (["gai-kapadia", "--degrees", "1", "--runs", str(MAX_RUNS + 1)], f"--runs = {MAX_RUNS + 1} must be <= {MAX_RUNS}"),
    (["gai-kapadia", "--degrees", "1", "--workers", str(MAX_WORKERS + 1)], f"more than {MAX_WORKERS}, the most a command starts"),
    (["debtrank", "--banks", "5", "--runs", "5"], "experiment debtrank: --runs is for the sweeps"),
    (["debtrank", "--banks", "5", "--default-at-zero-equity"], "--default-at-zero-equity is gai-kapadia's flag; debtrank does not take it"),
])
def test_a_sweep_too_large_or_a_flag_that_would_do_nothing_is_refused(tmp_path, capsys, args, says):
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_:
        main(["experiment", *args, "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and says in err and err.count("\n") == 1, err
    assert not out.exists()


def test_a_range_at_the_limit_is_taken():
    assert len(parse_range(f"1:{MAX_POINTS}:1")) == MAX_POINTS
    with pytest.raises(ValueError, match="not START:STOP:STEP"):
        parse_range("0:inf:1")
    with pytest.raises(ValueError, match="has too many points; a sweep takes at most 1,000"):
        parse_range("0:1e308:1e-308")  # (a count beyond any integer)


def test_a_preset_seed_beyond_the_largest_is_refused(tmp_path):
    from interbank.config import MAX_SEED, ConfigError
    from interbank.experiments.config import load_experiment

    with pytest.raises(ConfigError, match=f"must be <= {MAX_SEED}"):
        load_experiment("gai-kapadia", None, {"seed": MAX_SEED + 1})
