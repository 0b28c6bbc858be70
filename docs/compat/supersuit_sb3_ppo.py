"""PPO from Stable-Baselines3 on interbank through SuperSuit, as in PettingZoo's SB3 tutorial
(tested with supersuit 3.11.0, stable-baselines3 2.9.2).

Run from the repository root: python docs/compat/supersuit_sb3_ppo.py
"""

import supersuit as ss
from stable_baselines3 import PPO
from stable_baselines3.common.utils import set_random_seed

from interbank.envs import parallel_env

# the stress scenario with more leverage and worse credit: defaults within a few hundred bank-steps
STRESS = {"generation.leverage_low": 14, "generation.leverage_high": 20, "rates.book_volatility": 0.12}

# flat_observation=True: black_death_v3 needs a Box observation (the mask is its last 5 entries)
env = parallel_env("configs/stress.yaml", n_banks=20, max_cycles=50, flat_observation=True, seed=1, **STRESS)
env = ss.black_death_v3(env)  # a defaulted bank sees zeros (and its actions are dropped) until the episode ends
env = ss.pettingzoo_env_to_vec_env_v1(env)  # one vector slot per bank: one policy shared by all
env = ss.concat_vec_envs_v1(env, 1, num_cpus=0, base_class="stable_baselines3")

# plain PPO: SB3 cannot read masks through SuperSuit's vector env; a masked action is executed as
# HOLD and reported in infos["invalid_action"]. For masked PPO use `interbank train` (MaskablePPO).
# no seed= argument: SB3 would call env.seed(), which SuperSuit's ConcatVecEnv lacks (AttributeError)
set_random_seed(0)
model = PPO("MlpPolicy", env, n_steps=32, batch_size=160, n_epochs=2, verbose=0)
model.learn(total_timesteps=2 * 32 * 20)  # raise to really train
print(f"learning_steps={model._n_updates}")
env.close()
