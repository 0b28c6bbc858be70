"""IPPO from BenchMARL on interbank as a custom task (tested with benchmarl 1.5.2, torchrl 0.11.1).

BenchMARL's way to add an environment: a ``TaskClass`` that builds a TorchRL env, and a ``Task`` enum
naming its tasks. Interbank is a PettingZoo parallel env, so the task class reuses BenchMARL's own
PettingZoo one (which splits the specs into observation, action mask and info) and only says how to
build the env and what it supports.

TorchRL 0.11 (the newest BenchMARL 1.5.2 allows) reads ``observation_dict[agent]`` for every bank of
the group on every step, so a bank that has defaulted raises ``KeyError: 'bank_4'`` in
``_update_action_mask``. ``EveryBankEveryStep`` (every_bank.py, next to this script) keeps a gone
bank in the step, zeroed and terminated, with only HOLD allowed (docs/trainers.md).

Run from the repository root: python docs/compat/benchmarl_ippo.py
"""

import tempfile

from benchmarl.algorithms import IppoConfig
from benchmarl.environments.common import Task
from benchmarl.environments.pettingzoo.common import PettingZooClass
from benchmarl.experiment import Experiment, ExperimentConfig
from benchmarl.experiment.callback import Callback
from benchmarl.models.mlp import MlpConfig
from every_bank import EveryBankEveryStep  # docs/compat/every_bank.py
from torchrl.envs import PettingZooWrapper

from interbank.envs import parallel_env


class InterbankClass(PettingZooClass):
    """BenchMARL task class for interbank: the config holds parallel_env's arguments."""

    def get_env_fun(self, num_envs, continuous_actions, seed, device):
        config = dict(self.config)
        scenario = config.pop("scenario")
        # flat_observation=True: the mask is read from infos (TorchRL would otherwise find it twice);
        # done_on_any=False: the episode goes on when a bank defaults
        return lambda: PettingZooWrapper(
            EveryBankEveryStep(parallel_env(scenario, flat_observation=True, seed=seed, **config)),
            categorical_actions=True, done_on_any=False, device=device, seed=seed,
        )

    def supports_continuous_actions(self):
        return False

    def supports_discrete_actions(self):
        return True

    def has_state(self):
        return False

    def has_render(self, env):
        return False

    @staticmethod
    def env_name():
        return "interbank"


class InterbankTask(Task):
    """Interbank tasks for BenchMARL."""

    STRESS = None

    @staticmethod
    def associated_class():
        return InterbankClass


class CountUpdates(Callback):
    """Counts BenchMARL's optimizer steps."""

    updates = 0

    def on_train_step(self, batch, group):
        CountUpdates.updates += 1


# the stress scenario with more leverage and worse credit: defaults within a few hundred bank-steps
task = InterbankTask.STRESS.get_task(config={
    "scenario": "configs/stress.yaml", "n_banks": 20, "max_cycles": 50,
    "generation.leverage_low": 14, "generation.leverage_high": 20, "rates.book_volatility": 0.12,
})
config = ExperimentConfig.get_from_yaml()
config.sampling_device = config.train_device = config.buffer_device = "cpu"
config.max_n_frames = 200  # env steps (of 20 banks each); raise to really train
config.on_policy_collected_frames_per_batch = 100
config.on_policy_n_envs_per_worker = 1
config.on_policy_n_minibatch_iters = 2
config.on_policy_minibatch_size = 50
config.evaluation = False
config.render = False
config.loggers = []
config.create_json = False
config.save_folder = tempfile.mkdtemp(prefix="benchmarl-")
config.checkpoint_at_end = False

experiment = Experiment(task=task, algorithm_config=IppoConfig.get_from_yaml(), model_config=MlpConfig.get_from_yaml(),
                        seed=0, config=config, callbacks=[CountUpdates()])
experiment.run()
print(f"learning_steps={CountUpdates.updates}")
