"""Configs are validated into typed objects; a mistake is one line naming the key."""

import pytest
import yaml

from interbank.cli import main
from interbank.config import ConfigError, EnvConfig, load_env_config, resolve_env_config


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
         "env.banks[1].capital = -5 must be > 0"),
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


def test_overrides_accept_dotted_keys_and_max_cycles():
    cfg = resolve_env_config("configs/smoke.yaml", max_cycles=7, **{"clearing.model": "fixed_recovery"})
    assert cfg.max_steps == 7 and cfg.clearing.model == "fixed_recovery" and cfg.n_banks == 8
    with pytest.raises(ConfigError, match="clearing.recovery"):
        resolve_env_config(None, **{"clearing.recovery": 2})
