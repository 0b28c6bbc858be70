"""A central bank that learns to lend into a crash: on a scenario built so that a liquidity injection
prevents a cascade, the learned central bank (a small budget) beats `never` on welfare."""

import numpy as np

from interbank.config import EnvConfig
from interbank.envs import parallel_env
from interbank.evaluate.episode import evaluate_episode
from interbank.policies import make_policy
from interbank.policies.central_bank import load_central_bank_policy
from interbank.sim.central_bank import CB_INDEX
from interbank.train.central_bank import CentralBankSettings, train_central_bank

# 5 banks, no standing facility (nothing but the central bank's own loans can help), no random
# shocks; at step 6 both a market crash and a run on every bank that takes half its deposits: a
# bank that cannot pay fails and its creditors follow. `lend_systemic` lends twice each bank's
# capital to all five, enough to pay the run.
CRASH = {
    "n_banks": 5, "max_steps": 12, "seed": 0,
    "central_bank": {"agent": True, "enabled": False, "lend_banks": 5, "lend_share": 2.0, "every": 1},
    "shocks": {"crash_prob": 0.0, "withdrawal_prob": 0.0, "scheduled": [
        {"step": 6, "type": "market_crash", "market": "BANK_INDEX", "size": 0.3},
        *({"step": 6, "type": "deposit_withdrawal", "bank": b, "size": 0.5} for b in range(5))]},
}
HELD_OUT = range(100, 105)


def welfare(cfg, central_bank, seed):
    env = parallel_env(cfg)
    if central_bank is not None:
        env.central_bank_policy = central_bank
    result = evaluate_episode(env, make_policy("hold"), seed)
    return result.welfare, result.defaults


def test_the_scenario_cascades_without_help_and_not_with_an_injection():
    cfg = EnvConfig.model_validate(CRASH)

    def lend(obs, mask):
        return CB_INDEX["lend_systemic"] if mask[CB_INDEX["lend_systemic"]] else 0

    for seed in HELD_OUT:
        (never, failed), (helped, saved) = welfare(cfg, None, seed), welfare(cfg, lend, seed)
        assert failed >= 1 and saved == 0 and helped > never


def test_a_learned_central_bank_beats_never_on_welfare_in_the_crash(tmp_path):
    cfg = EnvConfig.model_validate(CRASH)
    settings = CentralBankSettings(timesteps=512, n_steps=128, batch_size=64, n_epochs=4, net_arch=(16,),
                                   learning_rate=1e-3, ent_coef=0.01)
    learned = load_central_bank_policy(train_central_bank(cfg, make_policy("hold"), tmp_path, settings))
    for seed in HELD_OUT:
        assert welfare(cfg, learned, seed)[0] > welfare(cfg, None, seed)[0] + 0.5, seed


def test_a_crash_and_a_run_on_the_same_step_both_happen():
    env = parallel_env(EnvConfig.model_validate(CRASH))
    env.reset(seed=1)
    while env.system.t < 6:
        deposits, price = env.system.deposits.copy(), env.system.price.copy()
        env.step_batch(np.full(int(env.system.active.sum()), 4))
    assert env.system.price[0] < 0.8 * price[0]
    assert (env.system.deposits < 0.6 * deposits).all()
