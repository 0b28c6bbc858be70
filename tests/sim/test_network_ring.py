"""The ring lattice, the example of a network generator that is one file (interbank/sim/networks/ring.py)."""

import pytest

from interbank.config import ConfigError, resolve_env_config
from interbank.envs import parallel_env


def test_each_bank_lends_to_the_next_k_banks_around_the_ring():
    env = parallel_env({"n_banks": 5, "network": {"type": "ring", "params": {"k": 2}}})
    env.reset(seed=0)
    lender, borrower, _ = env.system.initial_connections
    # 0 -> 1, 2; 1 -> 2, 3; 2 -> 3, 4; 3 -> 4, 0; 4 -> 0, 1
    assert sorted(zip(lender.tolist(), borrower.tolist())) == [
        (0, 1), (0, 2), (1, 2), (1, 3), (2, 3), (2, 4), (3, 0), (3, 4), (4, 0), (4, 1)]


@pytest.mark.parametrize("params, words", [
    ({"k": 0}, "at least 1"),
    ({"k": 1.5}, "whole number"),
    ({"width": 2}, r"width not a parameter \(it takes k\)"),
])
def test_bad_ring_params_are_a_config_error_naming_them(params, words):
    with pytest.raises(ConfigError, match=words):
        resolve_env_config({"network": {"type": "ring", "params": params}})


def test_a_generator_without_params_refuses_them():
    with pytest.raises(ConfigError, match="takes none"):
        resolve_env_config({"network": {"type": "fitness", "params": {"k": 2}}})
