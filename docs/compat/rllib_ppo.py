"""PPO from RLlib on interbank through RLlib's own ParallelPettingZooEnv, with action masking
(tested with ray[rllib] 2.60.0).

Run from the repository root: python docs/compat/rllib_ppo.py
"""

import ray
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
from ray.rllib.core.rl_module.rl_module import RLModuleSpec
from ray.rllib.env.wrappers.pettingzoo_env import ParallelPettingZooEnv
from ray.rllib.examples.rl_modules.classes.action_masking_rlm import (
    ActionMaskingTorchRLModule,
)
from ray.tune.registry import register_env

from interbank.envs import parallel_env
from interbank.train.rllib_env import RllibAdaptor

# the stress scenario with more leverage and worse credit: defaults within a few hundred bank-steps
STRESS = {"generation.leverage_low": 14, "generation.leverage_high": 20, "rates.book_volatility": 0.12}

# RllibAdaptor renames the observation to {"observations", "action_mask" (float32)}, the keys
# RLlib's ActionMaskingTorchRLModule reads; without masking, parallel_env(..., flat_observation=True)
# gives a Box that RLlib's default module takes as it is
register_env("interbank", lambda cfg: ParallelPettingZooEnv(RllibAdaptor(parallel_env(
    "configs/stress.yaml", n_banks=20, max_cycles=50, seed=1, **STRESS))))

config = (
    PPOConfig()
    .environment("interbank")
    .multi_agent(policies={"shared"}, policy_mapping_fn=lambda agent_id, *args, **kwargs: "shared")
    .rl_module(rl_module_spec=MultiRLModuleSpec(rl_module_specs={"shared": RLModuleSpec(
        module_class=ActionMaskingTorchRLModule, model_config={"head_fcnet_hiddens": [64, 64]})}))
    .env_runners(num_env_runners=0)  # sample in the driver; raise for parallel sampling
    .training(train_batch_size_per_learner=400, minibatch_size=200, num_epochs=2)  # env steps (20 banks each)
    .debugging(seed=0)
)
ray.init(num_cpus=2, include_dashboard=False)
algo = config.build_algo()
for _ in range(2):  # raise to really train
    result = algo.train()
trained = result["learners"]["shared"]["num_module_steps_trained_lifetime"]  # bank-decisions learned from
print(f"learning_steps={result['training_iteration'] if trained else 0}")
algo.stop()
ray.shutdown()
