"""Configs are validated into typed objects; a mistake is one line naming the key."""

import pytest
import yaml

from interbank.cli import main
from interbank.config import ConfigError, EnvConfig, load_env_config, read_yaml, resolve_env_config


@pytest.mark.parametrize("name", ["default", "smoke", "stress", "playground"])
def test_shipped_configs_load(name):
    cfg = load_env_config(f"configs/{name}.yaml")
    assert isinstance(cfg, EnvConfig)


def test_default_yaml_is_the_built_in_default():
    assert load_env_config("configs/default.yaml").model_dump() == EnvConfig(seed=0).model_dump()


def _write(tmp_path, env):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"env": env}))
    return path


@pytest.mark.parametrize(
    "env, message",
    [
        ({"n_bankz": 3}, "env.n_bankz is not a known key"),
        ({"n_banks": "many"}, "env.n_banks"),
        ({"banks": [{"capital": 10, "target_leverage": 5, "risk": 0.2}, {"capital": -5, "target_leverage": 5, "risk": 0.2}]},
         "env.banks[1].capital = -5 must be >= 1e-06"),
        ({"banks": [{"capital": 10, "target_leverage": 5, "risk": 0.1}] * 2 + [{"capital": 10, "target_leverage": 5, "risk": 1.5}]},
         "env.banks[2].risk = 1.5 is outside [0, 1]"),
        ({"clearing": {"model": "magic"}}, "env.clearing.model"),
        ({"network": {"type": "explicit", "edges": [[0, 7, 1.0]]}, "n_banks": 3}, "network.edges[0]"),
        ({"shocks": {"scheduled": [{"step": 1, "type": "market_crash", "size": 0.5}]}}, "needs market"),
    ],
)
def test_bad_config_is_one_line_naming_the_key(tmp_path, env, message):
    path = _write(tmp_path, env)
    with pytest.raises(ConfigError) as err:
        load_env_config(path)
    text = str(err.value)
    assert "\n" not in text
    assert text.startswith(str(path))
    assert message in text


def test_cli_reports_a_bad_config_in_one_line_and_runs_nothing(tmp_path, capsys):
    path = _write(tmp_path, {"banks": [{"capital": 10, "target_leverage": 5, "risk": 1.5}]})
    out = tmp_path / "events.jsonl"
    with pytest.raises(SystemExit) as exit_:
        main(["simulate", "--config", str(path), "--events", str(out), "--no-progress"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err == f"interbank: {path}: env.banks[0].risk = 1.5 is outside [0, 1]"
    assert not out.exists()


def test_unknown_top_level_key_and_bad_yaml(tmp_path):
    p = tmp_path / "x.yaml"
    p.write_text("envv: {}\n")
    with pytest.raises(ConfigError, match="envv is not a known top-level key"):
        load_env_config(p)
    p.write_text("env: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_env_config(p)
    with pytest.raises(ConfigError, match="no such config file"):
        load_env_config(tmp_path / "missing.yaml")


@pytest.mark.parametrize("text", ["", "\n\n", "# the defaults, I hope\n", "---\n"])
def test_an_empty_config_file_is_refused_not_read_as_the_defaults(tmp_path, capsys, text):
    """An empty file is most likely the wrong one, or one cut short: one line, nothing run."""
    p = tmp_path / "empty.yaml"
    p.write_text(text)
    with pytest.raises(ConfigError, match="no settings in it") as err:
        load_env_config(p)
    assert "\n" not in str(err.value) and str(p) in str(err.value)
    with pytest.raises(SystemExit) as exit_:
        main(["simulate", "--config", str(p), "--steps", "2"])
    err_text = capsys.readouterr().err
    assert exit_.value.code == 2 and err_text.startswith(f"interbank: {p}: no settings in it") and err_text.count("\n") == 1
    p.write_text("env: {}\n")  # (an explicit empty section is the defaults, as written)
    assert load_env_config(p).n_banks == resolve_env_config().n_banks


def test_overrides_accept_dotted_keys_and_max_cycles():
    cfg = resolve_env_config("configs/smoke.yaml", max_cycles=7, **{"clearing.model": "fixed_recovery"})
    assert cfg.max_steps == 7 and cfg.clearing.model == "fixed_recovery" and cfg.n_banks == 8
    with pytest.raises(ConfigError, match="clearing.recovery"):
        resolve_env_config(None, **{"clearing.recovery": 2})


# ------------------------------------------------------------------ issue 13
def _raw(tmp_path, data: bytes):
    path = tmp_path / "raw.yaml"
    path.write_bytes(data)
    return path


def _one_line_error(path) -> str:
    with pytest.raises(ConfigError) as err:
        load_env_config(path)
    text = str(err.value)
    assert "\n" not in text and text.startswith(str(path)) and len(text) < 300, text
    return text


def test_yaml_that_is_not_utf8_is_a_one_line_error_with_the_byte(tmp_path):
    path = _raw(tmp_path, b"env:\n  n_banks: 5\n  note: \"caf\xe9\"\n")
    assert "not UTF-8 text (invalid byte 0xe9 at byte 30)" in _one_line_error(path)


@pytest.mark.parametrize("opening, closing", [("[", "]"), ("{a: ", "}")])
def test_yaml_nested_20000_deep_is_a_one_line_error(tmp_path, opening, closing):
    path = _raw(tmp_path, f"env:\n  n_banks: {opening * 20_000}1{closing * 20_000}\n".encode())
    assert "nested more than 64 levels deep" in _one_line_error(path)


def test_a_yaml_alias_bomb_is_refused_without_expanding_it(tmp_path):
    import tracemalloc

    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi"):
        lines.append(f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]")
    path = _raw(tmp_path, ("\n".join(lines) + "\nenv:\n  n_banks: *i\n").encode())
    assert path.stat().st_size < 500  # a few hundred bytes, like the 334-byte bomb
    tracemalloc.start()
    try:
        text = _one_line_error(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "expands to more than 1,000,000 values (YAML aliases)" in text
    assert peak < 20_000_000  # expanded, 9^9 values would take gigabytes: it was refused before


def test_a_self_referring_yaml_alias_is_a_one_line_error(tmp_path):
    assert "an alias refers to itself" in _one_line_error(_raw(tmp_path, b"x: &x [*x]\nenv: {}\n"))


def test_aliases_within_bounds_still_work(tmp_path):
    path = _raw(tmp_path, b"env:\n  banks: [&bank {capital: 100, target_leverage: 10, risk: 0.5}, *bank, *bank]\n"
                          b"  generation: {capital_median: 1e3}\n")
    cfg = load_env_config(path)
    assert cfg.n_banks == 3 and cfg.generation.capital_median == 1000.0  # 1e3 is a number, not a string


@pytest.mark.parametrize("env, message", [
    ({"n_banks": True}, "env.n_banks = true: input should be a valid integer"),
    ({"n_banks": "5"}, "env.n_banks = \"5\": input should be a valid integer"),
    ({"max_steps": 10.0}, "env.max_steps = 10.0: input should be a valid integer"),
    ({"banks": [{"capital": "50", "target_leverage": 5, "risk": 0.5}]}, "env.banks[0].capital = \"50\": input should be a valid number"),
    ({"central_bank": {"enabled": "yes"}}, "env.central_bank.enabled = \"yes\": input should be a valid boolean"),
    ({"markets": {"names": [1, 2]}}, "env.markets.names[0] = 1: input should be a valid string"),
    ({"network": {"type": "explicit", "edges": [[True, 1, 5.0]]}, "n_banks": 3}, "env.network.edges[0][0] = true"),
])
def test_config_types_are_strict_no_coercion_of_bools_strings_or_floats(tmp_path, env, message):
    assert message in _one_line_error(_write(tmp_path, env))


@pytest.mark.parametrize("bank, message", [
    ({"capital": 1e307, "target_leverage": 100, "risk": 0.5}, "env.banks[0].capital = 1e+307 must be <= 1e+12"),
    ({"capital": 1e306, "target_leverage": 100, "risk": 0.5}, "env.banks[0].capital = 1e+306 must be <= 1e+12"),
    ({"capital": 1e12, "target_leverage": 20, "risk": 0.5}, "capital x target_leverage = 2e+13 is more than 1e+13"),
    ({"capital": 1e-320, "target_leverage": 2, "risk": 0.5}, "must be >= 1e-06"),
])
def test_money_out_of_bounds_is_refused_before_a_run(tmp_path, bank, message):
    assert message in _one_line_error(_write(tmp_path, {"banks": [bank, {"capital": 10, "target_leverage": 5, "risk": 0.5}]}))


def test_market_drift_that_would_overflow_prices_is_refused():
    with pytest.raises(ConfigError, match=r"markets.drift x max_steps = 1000 is more than 100"):
        resolve_env_config(None, max_steps=10_000, **{"markets.drift": 0.1})


def test_the_largest_allowed_numbers_simulate_finitely_to_the_end():
    import math

    from interbank.interactive.runner import Runner
    from interbank.policies import make_policy
    from interbank.sim.events import dumps

    banks = [{"capital": 1e12, "target_leverage": 10, "risk": r / 4} for r in range(5)]
    banks += [{"capital": 1e-6, "target_leverage": 100, "risk": 1.0}] * 3
    for policy in ("heuristic", "random"):
        runner = Runner(resolve_env_config(None, banks=banks, max_steps=60), make_policy(policy, 0), 0)
        while not runner.finished:
            runner.step()
            for event in runner.take_events():
                dumps(event)  # allow_nan=False: raises on a non-finite number
        st = runner.status()
        assert st.state == "complete" and st.step == 60 and math.isfinite(st.total_capital) and st.total_capital > 0


def test_a_folder_given_as_the_config_is_refused_and_called_a_folder(tmp_path):
    folder = tmp_path / "dir.yaml"
    folder.mkdir()
    with pytest.raises(ConfigError, match=r"no such config file \(a folder; give a YAML file in it\)"):
        load_env_config(folder)


def test_an_episode_plays_the_given_seed_else_the_scenarios_else_0():
    from interbank.config import EnvConfig

    assert EnvConfig(seed=7).episode_seed() == 7
    assert EnvConfig(seed=7).episode_seed(3) == 3
    assert EnvConfig(seed=7).episode_seed(0) == 0  # 0 is a seed, not "none given"
    assert EnvConfig().episode_seed() == 0


@pytest.mark.parametrize("params, words", [
    ("{funding: .nan}", "funding = nan must be a finite number in [0, 10] for the taylor rule"),
    ("{funding: -1e9, credit: .inf}", "funding = -1e+09 must be a finite number in [0, 10]"),
    ("{credit: .inf}", "credit = inf must be a finite number"),
    ("{speed: 1.0}", "speed not a parameter of the taylor rule"),
])
def test_central_bank_rule_params_from_yaml_are_checked_as_on_the_command_line(tmp_path, capsys, params, words):
    path = tmp_path / "cb.yaml"
    path.write_text("env:\n  n_banks: 5\n  max_steps: 3\n"
                    f"  central_bank: {{agent: true, rule: taylor, rule_params: {params}}}\n")
    out = tmp_path / "events.jsonl"
    with pytest.raises(SystemExit) as exit_:
        main(["simulate", "--config", str(path), "--events", str(out), "--no-progress"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"interbank: {path}: env.central_bank") and words in err and "\n" not in err
    assert not out.exists()


def test_central_bank_rule_params_in_range_from_yaml_still_load(tmp_path):
    path = tmp_path / "cb.yaml"
    path.write_text("env:\n  central_bank: {agent: true, rule: ccyb, rule_params: {threshold: -0.5, fire_sale: 5}}\n")
    assert load_env_config(path).central_bank.rule_params == {"threshold": -0.5, "fire_sale": 5}


@pytest.mark.parametrize("text, key, line", [
    ("env:\n  n_banks: 5\n  n_banks: 6\n", '"n_banks"', 3),
    ("env:\n  network: {type: fitness, type: erdos_renyi}\n", '"type"', 2),
    ("env: {}\nenv: {n_banks: 3}\n", '"env"', 2),
])
def test_a_key_written_twice_in_a_mapping_is_a_one_line_error_naming_it(tmp_path, capsys, text, key, line):
    path = tmp_path / "dup.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_env_config(path)
    assert str(err.value) == f"{path}: the key {key} appears twice in one mapping (line {line}); write each key once"
    out = tmp_path / "events.jsonl"
    with pytest.raises(SystemExit) as exit_:
        main(["simulate", "--config", str(path), "--events", str(out), "--no-progress"])
    assert exit_.value.code == 2 and not out.exists()
    assert capsys.readouterr().err.strip() == f"interbank: {err.value}"


def test_a_merge_key_may_still_be_overridden(tmp_path):
    path = tmp_path / "merge.yaml"
    path.write_text("env:\n  <<: {n_banks: 5, max_steps: 3}\n  n_banks: 6\n")
    cfg = load_env_config(path)
    assert (cfg.n_banks, cfg.max_steps) == (6, 3)

    # an anchored mapping with its own merge and override, merged at a shallower depth: merging
    # rewrites the anchor's node before it is built, and that is not a key written twice
    nested = tmp_path / "nested.yaml"
    nested.write_text("presets:\n  inner:\n    base: &base\n      <<: {n_banks: 10}\n      n_banks: 12\nenv:\n  <<: *base\n")
    assert read_yaml(nested) == {"presets": {"inner": {"base": {"n_banks": 12}}}, "env": {"n_banks": 12}}


def test_an_n_banks_override_names_the_listed_banks_it_replaces():
    from interbank.config import listed_banks_replaced, load_env_config, resolve_env_config

    listed = load_env_config("configs/playground.yaml")
    assert listed_banks_replaced(listed, 9) == "6 listed banks replaced by 9 generated ones"
    assert resolve_env_config(listed, n_banks=9).banks is None  # what the phrase says happens
    assert listed_banks_replaced(listed, None) is None
    assert listed_banks_replaced(load_env_config("configs/smoke.yaml"), 9) is None  # generated banks: nothing listed


def test_a_section_nothing_reads_is_refused(tmp_path):
    """``eval:`` was accepted with any content and read by nothing: a setting there did nothing."""
    from interbank.train.config import load_train_config

    p = tmp_path / "x.yaml"
    p.write_text("env: {n_banks: 5}\neval: {episodes: 3}\n")
    with pytest.raises(ConfigError, match="eval is not a known top-level key"):
        load_env_config(p)
    with pytest.raises(ConfigError, match="eval is not a known top-level key"):
        load_train_config(p)
