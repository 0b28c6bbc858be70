"""IPPO on interbank with TorchRL's PettingZooWrapper (tested with torchrl 0.14.1, tensordict 0.14.3).

Run from the repository root: python docs/compat/torchrl_ippo.py
"""

import torch
from tensordict import TensorDict
from tensordict.nn import TensorDictModule
from torchrl.collectors import Collector
from torchrl.envs import PettingZooWrapper
from torchrl.modules import MLP, MaskedCategorical, ProbabilisticActor
from torchrl.objectives import ClipPPOLoss, ValueEstimators

from interbank.envs import parallel_env

# the stress scenario with more leverage and worse credit: defaults within a few hundred bank-steps
STRESS = {"generation.leverage_low": 14, "generation.leverage_high": 20, "rates.book_volatility": 0.12}

torch.manual_seed(0)
N_BANKS, STEPS_PER_BATCH, BATCHES = 20, 25, 4  # raise BATCHES to really train
# flat_observation=True: one observation vector (the env's dict observation works too, as
# tests/compat/test_torchrl_wrapper.py checks, under the key (G, "observation", "observation"));
# done_on_any=False: a default must not reset the episode
env = PettingZooWrapper(
    parallel_env("configs/stress.yaml", n_banks=N_BANKS, max_cycles=50, flat_observation=True, seed=1, **STRESS),
    use_mask=True, done_on_any=False, categorical_actions=True, seed=0,
)
G = "bank"  # TorchRL groups the agents bank_0 ... bank_19 under their name prefix
n_obs = env.observation_spec[G, "observation"].shape[-1]


def mlp(n_out: int) -> MLP:  # one network for every bank (parameter sharing), applied per bank
    return MLP(in_features=n_obs, out_features=n_out, depth=2, num_cells=64)


actor = ProbabilisticActor(
    TensorDictModule(mlp(5), in_keys=[(G, "observation")], out_keys=[(G, "logits")]),
    in_keys={"logits": (G, "logits"), "mask": (G, "action_mask")},  # masked actions get probability 0
    out_keys=[(G, "action")], distribution_class=MaskedCategorical,
    return_log_prob=True, spec=env.full_action_spec[G, "action"],
)
critic = TensorDictModule(mlp(1), in_keys=[(G, "observation")], out_keys=[(G, "state_value")])
loss = ClipPPOLoss(actor, critic, normalize_advantage=False)
loss.set_keys(reward=(G, "reward"), action=(G, "action"), value=(G, "state_value"),
              done=(G, "done"), terminated=(G, "terminated"), sample_log_prob=(G, "action_log_prob"),
              advantage=(G, "advantage"), value_target=(G, "value_target"))
loss.make_value_estimator(ValueEstimators.GAE, gamma=0.99, lmbda=0.95)
optim = torch.optim.Adam(loss.parameters(), lr=3e-4)

collector = Collector(env, actor, frames_per_batch=STEPS_PER_BATCH, total_frames=STEPS_PER_BATCH * BATCHES)
updates = 0
for batch in collector:
    with torch.no_grad():
        loss.value_estimator(batch, params=loss.critic_network_params, target_params=loss.target_critic_network_params)
    alive = batch[G, "mask"]  # banks that acted: gone banks are padding, left out of the loss
    acted = TensorDict({G: batch[G][alive]}, batch_size=[int(alive.sum())])
    for _ in range(4):
        out = loss(acted)
        total = out["loss_objective"] + out["loss_critic"] + out["loss_entropy"]
        optim.zero_grad()
        total.backward()
        optim.step()
        updates += 1
    print(f"batch reward {batch['next', G, 'reward'][alive].mean():+.4f}")
collector.shutdown()
print(f"learning_steps={updates}")
