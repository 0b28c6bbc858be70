from interbank.evaluate.run import _env_config


def test_the_env_source_says_when_banks_replaces_the_listed_ones():
    cfg, source = _env_config("configs/playground.yaml", None, 9)
    assert cfg.n_banks == 9 and cfg.banks is None
    assert source == "configs/playground.yaml, its 6 listed banks replaced by 9 generated ones"
    assert _env_config("configs/playground.yaml", None, None)[1] == "configs/playground.yaml"
    assert _env_config("configs/smoke.yaml", None, 9)[1] == "configs/smoke.yaml"  # generated banks: nothing replaced
