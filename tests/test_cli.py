import json

import pytest

from interbank.cli import main


def test_simulate_prints_a_summary_table(capsys):
    assert main(["simulate", "--policy", "hold", "--banks", "10", "--steps", "12", "--seed", "1", "--no-progress"]) == 0
    out = capsys.readouterr().out
    for label in ("defaults", "cascades", "total capital start", "total capital end"):
        assert label in out


def test_simulate_json_summary(capsys):
    main(["simulate", "--config", "configs/smoke.yaml", "--policy", "random", "--json", "--no-progress"])
    summary = json.loads(capsys.readouterr().out)
    assert summary["banks"] == 8 and summary["steps"] == 30 and summary["policy"] == "random"


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["simulate", "--banks", "-3"], "-3 banks: at least 2"),
        (["simulate", "--policy", "genius"], "invalid choice: 'genius'"),
        (["simulate", "--seed", "x"], "'x' is not a whole number"),
        (["simulate", "--config", "nope.yaml"], "nope.yaml: no such config file"),
        (["simulate", "--events", "/nonexistent/dir/out.jsonl"], "does not exist"),
        (["bench", "--banks", "10,a"], "not a comma-separated list"),
        (["bench", "--banks", "10", "--degree", "-1"], "--degree: -1 must be a finite number >= 0"),
        (["bench", "--banks", "10", "--degree", "nan"], "--degree: nan must be a finite number >= 0"),
        (["bench", "--banks", "100000000", "--steps", "1"], "bench: env.n_banks = 100000000 must be <= 1000000"),
        (["evaluate", "runs/x", "--address", "1.2.3.4:1"], "--address names a Ray cluster: it needs --backend rllib"),
        (["serve", "--configs", "/nonexistent-configs", "--port", "1"], "--configs: /nonexistent-configs is not a folder"),
        (["experiment", "gai-kapadia", "--degrees", "5:1:1"], "interbank: --degrees: '5:1:1' is not START:STOP:STEP"),
        (["experiment", "nier", "--probabilities", "2", "--out", "/nonexistent-out"], "interbank: --probabilities: "),
        (["experiment", "gai-kapadia", "--banks", "50", "--degrees", "1e9"], "interbank: degrees: 1e+09 is more than banks - 1 = 49"),
        (["experiment", "gai-kapadia", "--probabilities", "0.5"], "--probabilities is nier's flag; gai-kapadia does not take it"),
        (["experiment", "debtrank", "--degrees", "3"], "--degrees is gai-kapadia's flag; debtrank does not take it"),
        (["frobnicate"], "invalid choice"),
        (["simulate", "--bogus"], "interbank: simulate: unrecognized arguments: --bogus"),
        (["simulate", "--steps", "x"], "interbank: simulate: argument --steps"),
        (["replay", "--no-interactive"], "replay needs a CHECKPOINT or --policy NAME"),
        (["replay", "runs/x", "--policy", "hold", "--no-interactive"], "a CHECKPOINT or a --policy, not both (got runs/x and --policy hold)"),
    ],
)
def test_bad_arguments_are_one_line_errors(argv, fragment, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("interbank: ")
    assert fragment in err


def test_bench_json_has_the_documented_keys(capsys):
    assert main(["bench", "--banks", "10,50", "--steps", "5", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["banks"] for r in rows] == [10, 50]
    for r in rows:
        assert {"banks", "steps", "core_bank_steps_per_s", "core_events_bank_steps_per_s", "api_bank_steps_per_s"} <= set(r)
        assert r["core_bank_steps_per_s"] > 0 and r["api_bank_steps_per_s"] > 0


def test_schema_command_prints_json_schema(capsys):
    main(["schema"])
    schema = json.loads(capsys.readouterr().out)
    assert schema["$schema"].endswith("2020-12/schema")
    assert {"init", "transaction", "capital_added"} <= set(schema["properties"]["type"]["enum"])


def test_help_explains_each_command(capsys):
    with pytest.raises(SystemExit):
        main(["simulate", "--help"])
    out = capsys.readouterr().out
    assert "--events" in out and "byte-identical" in out


# ------------------------------------------------------------------ issue 13
def _config(tmp_path, text: bytes):
    path = tmp_path / "c.yaml"
    path.write_bytes(text)
    return str(path)


def _bomb() -> bytes:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"{n}: &{n} [{', '.join(['*' + p] * 9)}]" for p, n in zip("abcdefg", "bcdefgh")]
    return ("\n".join(lines) + "\nenv:\n  n_banks: *h\n").encode()


@pytest.mark.parametrize("text, fragment", [
    (b"env:\n  n_banks: \xff\n", "not UTF-8 text"),  # unreadable text
    (b"env:\n  n_banks: " + b"[" * 20_000 + b"]" * 20_000 + b"\n", "nested more than 64 levels deep"),  # too deep
    (_bomb(), "expands to more than 1,000,000 values"),  # an alias bomb
    (b"env:\n  n_banks: true\n", "env.n_banks = true: input should be a valid integer"),  # a type not coerced
    (b"env:\n  banks:\n    - {capital: 1e306, target_leverage: 100, risk: 0.5}\n", "must be <= 1e+12"),  # money out of bounds
])
@pytest.mark.parametrize("events", [False, True])
def test_a_bad_config_is_a_one_line_error_and_nothing_runs_with_or_without_events(tmp_path, capsys, text, fragment, events):
    out = tmp_path / "out.jsonl"
    argv = ["simulate", "--config", _config(tmp_path, text), "--no-progress", "--json"]
    with pytest.raises(SystemExit) as exit_:
        main(argv + (["--events", str(out)] if events else []))
    assert exit_.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and fragment in captured.err, captured.err
    assert not out.exists()  # nothing ran


def test_the_json_summary_is_strict_json_at_the_largest_allowed_values(tmp_path, capsys):
    banks = "".join(f"    - {{capital: 1e12, target_leverage: 10, risk: {r / 4}}}\n" for r in range(5))
    path = _config(tmp_path, f"env:\n  max_steps: 20\n  banks:\n{banks}".encode())
    out = tmp_path / "out.jsonl"
    assert main(["simulate", "--config", path, "--no-progress", "--json", "--events", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out, parse_constant=lambda c: pytest.fail(f"{c} in the summary"))
    assert summary["total_capital_start"] > 1e12 and summary["events_written"] == len(out.read_text().splitlines())


def test_events_on_a_full_disk_is_a_one_line_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["simulate", "--banks", "5", "--steps", "3", "--no-progress", "--events", "/dev/full"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "/dev/full" in err and "No space left on device" in err


def test_events_naming_a_folder_is_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["simulate", "--banks", "5", "--steps", "3", "--no-progress", "--events", str(tmp_path)])
    assert exit_.value.code == 2 and "is a folder" in capsys.readouterr().err


@pytest.mark.parametrize("speed", ["1e-9", "2.17e-184", "nan", "inf", "-1"])
def test_replay_refuses_a_speed_that_would_never_step(speed, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["replay", "--policy", "hold", "--banks", "3", "--steps", "2", "--no-interactive", "--speed", speed])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--speed" in err and ">= 0.01" in err


def test_python_dash_m_interbank_runs_the_same_command_line():
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "interbank", "simulate", "--config", "configs/smoke.yaml", "--policy", "hold",
                           "--json", "--no-progress"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["policy"] == "hold"


def _subcommand_parsers():
    from interbank.cli import build_parser

    parser = build_parser()
    parser.allow_abbrev = False
    return parser, dict(parser._subparsers._group_actions[0].choices)


def test_every_subcommands_help_ends_with_an_example_the_command_line_accepts():
    import shlex

    parser, subcommands = _subcommand_parsers()
    for name, sub in subcommands.items():
        assert sub.epilog and sub.epilog.startswith("Example"), f"{name} --help shows no example"
        for shown in sub.epilog.split(":", 1)[1].split("|"):
            words = shlex.split(shown.split("  (")[0])  # "  (then ...)" is a note for the reader
            assert words[0] == "interbank" and words[1] == name, f"{name}: {shown!r}"
            assert parser.parse_args(words[1:]).command == name


def test_serve_on_a_port_already_taken_is_one_line_before_the_banner(capsys):
    import socket

    with socket.socket() as taken:  # another program (mkdocs serve, a second interbank serve) holds the port
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SystemExit) as exit_:
            main(["serve", "--port", str(port), "--no-store"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"interbank: serve: cannot listen on 127.0.0.1:{port}: "), err


@pytest.mark.parametrize("command", [
    ["evaluate", "runs/x", "--episodes", "1"], ["experiment", "debtrank"],
    ["evaluate-central-bank", "--config", "configs/train/smoke.yaml"], ["search-rules"],
])
@pytest.mark.parametrize("under", [False, True])
def test_an_out_folder_that_is_a_file_is_refused_before_any_work(tmp_path, capsys, command, under):
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    out = afile / "sub" if under else afile
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--out", str(out)])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"--out {out}" in err and "not a folder" in err
    assert afile.read_text() == "not a folder"


def test_banks_over_a_config_that_lists_its_banks_says_it_replaces_them(capsys):
    argv = ["simulate", "--config", "configs/playground.yaml", "--policy", "hold", "--steps", "2", "--json", "--no-progress"]
    assert main(argv) == 0
    assert "listed banks" not in capsys.readouterr().err  # the six listed banks, as given
    assert main([*argv, "--banks", "9"]) == 0
    out, err = capsys.readouterr()
    assert err == "interbank: note: simulate: --banks 9: the config's 6 listed banks replaced by 9 generated ones\n"
    assert json.loads(out)["banks"] == 9


def test_banks_over_generated_banks_needs_no_note(capsys):
    assert main(["simulate", "--config", "configs/smoke.yaml", "--policy", "hold", "--banks", "5", "--steps", "2", "--json",
                 "--no-progress"]) == 0
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("command", [["replay", "{run}", "--banks", "5", "--steps", "2", "--no-interactive", "--speed", "0"],
                                     ["evaluate", "{run}", "--episodes", "1", "--tune-episodes", "0", "--no-plots",
                                      "--no-progress", "--out", "{out}"]])
def test_a_run_folder_whose_config_is_not_a_mapping_is_one_line_and_writes_nothing(tmp_path, capsys, command):
    from tests.policies.test_checkpoint import _write

    run = tmp_path / "run"
    _write(run / "checkpoints" / "100")
    (run / "config.yaml").write_text("- not\n- a mapping\n")
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_:
        main([a.format(run=run, out=out) for a in command])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.count("\n") == 1 and "config.yaml: not a run config" in err, err
    assert not out.exists()


@pytest.mark.parametrize("args", [
    ["simulate", "--config", ""], ["simulate", "--banks", "5", "--steps", "2", "--events", ""],
    ["experiment", "debtrank", "--banks", "5", "--out", ""], ["train", "--config", "smoke", "--out", " "],
    ["search-rules", "--banks", "5", "--out", ""], ["evaluate", "runs/x", "--out", ""], ["schema", "--out", ""],
])
def test_an_empty_path_is_refused_and_nothing_is_written_where_the_command_runs(tmp_path, monkeypatch, capsys, args):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(args)
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "an empty " in err and err.count("\n") == 1, err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args, says", [
    (["facts", "--banks", "5", "--episodes", "1", "--policy", "lend_surplus(3,4)"], "gives c twice"),
    (["facts", "--banks", "5", "--episodes", "1", "--policy", "heuristic(low_cash=0.1,low_cash=0.2)"], "gives low_cash twice"),
    (["simulate", "--banks", "5", "--steps", "2", "--central-bank", "taylor:funding=1,funding=2"], "gives funding twice"),
])
def test_a_parameter_given_twice_is_refused(capsys, args, says):
    with pytest.raises(SystemExit) as exit_:
        main(args)
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and says in err and err.count("\n") == 1, err


@pytest.mark.parametrize("extra, says", [
    (["nosuch"], "not CHECKPOINT"), (["--policy", "random"], "not --policy"), (["--seed", "99"], "not --seed"),
    (["--config", "stress"], "not --config"), (["--central-bank", "taylor"], "not --central-bank"),
])
def test_replay_verify_takes_the_recording_alone(tmp_path, capsys, extra, says):
    events = tmp_path / "run.jsonl"
    events.write_text("{}\n")
    with pytest.raises(SystemExit) as exit_:
        main(["replay", "--verify", "--events", str(events), *extra])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "it takes --events alone, " + says in err and err.count("\n") == 1, err


def test_replay_verify_of_a_folder_says_it_is_a_folder(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["replay", "--verify", "--events", str(tmp_path)])
    assert "is a folder, not a recording" in capsys.readouterr().err


def test_serve_on_a_port_taken_leaves_no_data_folder_behind(tmp_path, capsys):
    import socket

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        with pytest.raises(SystemExit) as exit_:
            main(["serve", "--port", str(taken.getsockname()[1]), "--data-dir", str(tmp_path / "data")])
    finally:
        taken.close()
    assert exit_.value.code == 2 and "cannot listen on" in capsys.readouterr().err
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("args, says", [
    (["--host", ""], "--host is empty"),
    (["--spill-dir", "spill"], "--spill-dir is for --no-store"),
    (["--spill-mb", "10"], "--spill-mb is for --no-store"),
])
def test_serve_refuses_flags_it_would_misread(tmp_path, monkeypatch, capsys, args, says):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(["serve", "--data-dir", str(tmp_path / "data"), *args])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and says in err and err.count("\n") == 1, err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args, says", [
    (["simulate", "--banks", "1", "--steps", "2"], "1 banks: at least 2 (one bank has no interbank market)"),
    (["facts", "--banks", "1", "--episodes", "1"], "1 banks: at least 2"),
    (["simulate", "--banks", "3", "--steps", "2", "--seed", str(2**32)], f"seed {2**32} must be <= {2**32 - 1}"),
])
def test_the_command_line_takes_the_sizes_and_seeds_the_server_and_configs_take(capsys, args, says):
    with pytest.raises(SystemExit) as exit_:
        main(args)
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and says in err and err.count("\n") == 1, err



def test_an_experiment_preset_is_found_by_name(tmp_path, monkeypatch, capsys):
    """As a scenario is found by its name in configs/, a preset is by its name in configs/experiments/."""
    out = tmp_path / "xp"
    assert main(["experiment", "gai-kapadia", "--config", "gai_kapadia", "--degrees", "1", "--runs", "1",
                 "--banks", "10", "--out", str(out), "--no-progress"]) == 0
    assert (out / "results.json").is_file()


@pytest.mark.parametrize("flag", [["--keep-sessions", "5"], ["--keep-mb", "10"], ["--store-compress", "0"]])
def test_serve_refuses_a_store_flag_without_a_store(tmp_path, monkeypatch, capsys, flag):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(["serve", "--no-store", *flag])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and f"{flag[0]} is for the data folder's store; --no-store keeps none" in err, err
    assert list(tmp_path.iterdir()) == []


def test_serve_s_help_names_the_server_s_own_defaults():
    from interbank.cli import build_parser
    from interbank.interactive.server import ServerLimits

    serve = next(a for a in build_parser()._subparsers._group_actions[0].choices.items() if a[0] == "serve")[1]
    helps = {a.dest: a.help for a in serve._actions}
    limits = ServerLimits()
    assert f"(default {limits.keep_sessions})" in helps["keep_sessions"]
    assert f"(default {limits.keep_mb:g})" in helps["keep_mb"]
    assert f"default {limits.store_compress})" in helps["store_compress"]
    assert f"(default {limits.spill_bytes // 1_000_000})" in helps["spill_mb"]
