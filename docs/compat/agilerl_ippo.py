"""IPPO from AgileRL on interbank, trained by AgileRL's own on-policy loop
(tested with agilerl 2.58.0, which needs pettingzoo<1.27: interbank supports 1.24.3 and later).

AgileRL 2.58.0's IPPO assumes every agent stays for the whole episode (docs/trainers.md): it stacks
one action mask per bank of the group (a bank that has defaulted has none: shape error), tests
``None in masks`` (raises on numpy masks), and learns from the NaN rewards its vector env gives a
gone bank (NaN weights). ``EveryBankEveryStep`` (every_bank.py, next to this script) keeps every
bank in every step, as SuperSuit's ``black_death`` does: a gone bank is seen with a zero observation,
reward 0, terminated, and a mask allowing only HOLD; masks are given as lists.

Run from the repository root: python docs/compat/agilerl_ippo.py
"""

import torch
from agilerl.algorithms import IPPO
from agilerl.training.train_multi_agent_on_policy import train_multi_agent_on_policy
from every_bank import EveryBankEveryStep  # docs/compat/every_bank.py

from interbank.envs import parallel_env

# the stress scenario with more leverage and worse credit: defaults within a few hundred bank-steps
STRESS = {"generation.leverage_low": 14, "generation.leverage_high": 20, "rates.book_volatility": 0.12}

torch.manual_seed(0)
# flat_observation=True: AgileRL refuses an action mask inside the observation and reads it from
# infos[agent]["action_mask"], where the env puts it with a flat observation
env = parallel_env("configs/stress.yaml", n_banks=20, max_cycles=50, flat_observation=True, seed=1, **STRESS)
env = EveryBankEveryStep(env)  # a defaulted bank stays in every step: AgileRL 2.58.0 needs it (above)
agents = env.possible_agents
agent = IPPO(  # bank_0 ... bank_19 share one actor and one critic (AgileRL groups them by name prefix)
    observation_spaces=[env.observation_space(a) for a in agents],
    action_spaces=[env.action_space(a) for a in agents],
    agent_ids=agents, learn_step=32, batch_size=64, update_epochs=2,
)
before = [p.detach().clone() for p in agent.actors["bank"].parameters()]
updates = 0
learn = agent.learn


def counted_learn(experiences):  # count AgileRL's PPO updates
    global updates
    updates += 1
    return learn(experiences)


agent.learn = counted_learn
population, fitness = train_multi_agent_on_policy(
    env, "interbank", "IPPO", [agent], max_steps=96, evo_steps=96, verbose=False,  # raise to really train
)
after = list(population[0].actors["bank"].parameters())
learned = any(not torch.equal(b, p) for b, p in zip(before, after)) and all(p.isfinite().all() for p in after)
print(f"learning_steps={updates if learned else 0}")
