"""``EveryBankEveryStep``: a PettingZoo parallel wrapper for trainers that assume every agent stays for
the whole episode (AgileRL 2.58.0, BenchMARL 1.5.2 through TorchRL 0.11; docs/trainers.md).

A bank that has defaulted leaves ``env.agents``, and the env's five dicts leave it out from then on,
as PettingZoo specifies. This wrapper keeps it in them instead, as SuperSuit's ``black_death`` does:
a zero observation, reward 0, terminated (truncated too once time runs out) and an action mask that
allows only HOLD; the env ignores any action sent for it. Action masks in infos are given as lists
of ints (AgileRL tests ``None in masks``, which raises on numpy arrays). ``agents`` is still the
env's: the banks that are really live.

Copy this file next to your script (the snippets in docs/compat import it from there).
"""

import numpy as np
from pettingzoo.utils.wrappers import BaseParallelWrapper

HOLD_ONLY = [0, 0, 0, 0, 1]  # LEND, BORROW, INVEST, DIVEST, HOLD


class EveryBankEveryStep(BaseParallelWrapper):
    """Every possible bank in every step's five dicts (a gone one zeroed and terminated); masks as lists."""

    def reset(self, seed=None, options=None):
        obs, infos = self.env.reset(seed=seed, options=options)
        return obs, {a: {**i, "action_mask": np.asarray(i["action_mask"]).tolist()} for a, i in infos.items()}

    def step(self, actions):
        live = set(self.env.agents)
        obs, rew, term, trunc, infos = self.env.step({a: x for a, x in actions.items() if a in live})
        time_up = any(trunc.values())
        for a in self.possible_agents:
            if a in obs:
                infos[a] = {**infos[a], "action_mask": np.asarray(infos[a]["action_mask"]).tolist()}
            else:  # gone before this step
                obs[a] = np.zeros(self.observation_space(a).shape, self.observation_space(a).dtype)
                rew[a], term[a], trunc[a] = 0.0, True, time_up
                infos[a] = {"action": -1, "invalid_action": 0, "priority": 0, "defaulted": 1, "action_mask": HOLD_ONLY}
        return obs, rew, term, trunc, infos
