"""IPPO from AgileRL on interbank, trained by AgileRL's own on-policy loop
(tested with agilerl 2.58.0, which needs pettingzoo<1.27: interbank supports 1.24.3 and later).

Run from the repository root: python docs/compat/agilerl_ippo.py
"""

import torch
from agilerl.algorithms import IPPO
from agilerl.training.train_multi_agent_on_policy import train_multi_agent_on_policy

from interbank.envs import parallel_env

# the stress scenario with more leverage: defaults within a few hundred bank-steps
STRESS = {"generation.leverage_low": 14, "generation.leverage_high": 20}

torch.manual_seed(0)
# flat_observation=True: AgileRL refuses an action mask inside the observation and reads it from
# infos[agent]["action_mask"], where the env always puts it
env = parallel_env("configs/stress.yaml", n_banks=20, max_cycles=50, flat_observation=True, seed=1, **STRESS)
agents = env.possible_agents
agent = IPPO(  # bank_0 ... bank_19 share one actor and one critic (AgileRL groups them by name prefix)
    observation_spaces=[env.observation_space(a) for a in agents],
    action_spaces=[env.action_space(a) for a in agents],
    agent_ids=agents, learn_step=32, batch_size=64, update_epochs=2,
)
population, fitness = train_multi_agent_on_policy(
    env, "interbank", "IPPO", [agent], max_steps=96, evo_steps=96, verbose=False,  # raise to really train
)
print(f"learning_steps={population[0].steps[-1] // 32}")
