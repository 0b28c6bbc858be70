"""The PettingZoo parallel environment over the simulation core."""

from __future__ import annotations

import copy
import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from interbank.config import EnvConfig, resolve_env_config
from interbank.envs.action_input import discrete_action
from interbank.envs.central_bank import CENTRAL_BANK, CentralBankAgent, CentralBankPolicy, CentralBankStep
from interbank.envs.central_bank_observation import CB_FEATURES
from interbank.envs.difference import difference_rewards
from interbank.envs.interventions import Interventions
from interbank.envs.observation import FEATURES, HIGH, LOW, N_BASE, N_FEATURES, base_features, with_priority
from interbank.envs.priority import PriorityModel, priority_model_from_config
from interbank.envs.rewards import difference_components, reward_components, social_components, weighted_reward
from interbank.sim.actions import ACTIONS, HOLD, N_ACTIONS, PRIORITIES
from interbank.sim.central_bank import CB_ACTIONS
from interbank.sim.events import INTERVENTIONS, Event
from interbank.sim.system import BankingSystem

_CARD = """Interbank network: banks lend, call back loans, invest, divest or hold.

## What it models
N banks with real balance sheets on a seeded, size-tiered interbank network
(env v3). Assets: cash (reserves: earn the central bank's deposit facility
rate), an illiquid loan book to the real economy (yields more, earns fees,
carries the operating costs, sells early only at a discount), interbank loans
out and positions in markets whose prices are a random walk with drift and a
partly transient flow impact (BANK_INDEX and FIN_SERVICES by default).
Liabilities: deposits (pay a rate below the policy rate), interbank borrowings,
central bank loans. A bank that only holds earns what real banks earn. Each
step deposits flow between banks (zero-sum, Iori et al. 2006; Allen & Gale
2000); a bank short of its reserve requirement requests funding, and the LEND
offers of other banks are matched to the requests (recent counterparties
first, then new ones tiered by size, what the tiers leave unmatched carried by a
large bank within reach of both ends, a dealer) at a market rate set by scarcity inside
the central bank's corridor plus a spread that rises with the borrower's
leverage, never above the lending facility (Poole 1968). At maturity a loan is
repaid out of the borrower's spare cash and the rest rolls over, unless the
lender calls it (BORROW). What is still missing goes, cheapest first, to the
central bank's lending facility (against collateral with haircuts), then fire
sales, then early sale of the book; a bank still short defaults by
illiquidity. Regulation: risk-weighted capital and a liquidity coverage ratio
both bind: LEND and INVEST are masked when the trade would leave the bank
below either minimum. Defaults (insolvency or illiquidity) are cleared with
bankruptcy costs (Rogers-Veraart by default) and cascade through the ledger
and fire sales; depositors, the central bank, outside investors and
shareholders have accounts, so every dollar is in the books. Rates are annual
in the config; one step is 1 / ``steps_per_year`` of a year (a week by
default).

## Agents
``bank_0 ... bank_{{N-1}}``; names are never reused. A bank that defaults terminates
and leaves ``agents``; one deleted between steps (``delete_bank``, the interactive
runner's hook) terminates at the next step (reward 0) and leaves then. With
``central_bank.agent: true`` one more agent, ``central_bank``, has its own
spaces (a ``Discrete(9)`` of rate, countercyclical buffer, haircut and lending
moves; an observation of system aggregates) and a welfare reward: see
``interbank.envs.central_bank`` and the "Central bank" page of the docs. Off by
default, and then everything is as without it.

## Actions
``Discrete(5)``; masked actions sent anyway are executed as HOLD and reported
in ``infos[agent]["invalid_action"]``.

{action_table}

## Observation
``Dict(observation=Box(float32, ({n_features},)), action_mask=Box(int8, (5,)))``;
the vector does not depend on the number of banks:

{obs_table}

With ``flat_observation=True`` the observation is one
``Box(float32, ({n_flat},))`` instead (for Box-only wrappers such as SuperSuit's):
the {n_features} features above, then the 5 action-mask entries as 0.0/1.0, and
the mask is in ``infos`` too (below). With the dict observation the mask is in
the observation only, which is where TorchRL's ``PettingZooWrapper`` (a copy
in both places makes its ``reset`` fail), PettingZoo's examples and RLlib's
masking module look for it.

## Infos
Numbers only, so that every value converts with ``torch.as_tensor``, and the
same keys after ``reset`` and after ``step``, for every bank that acted:
``action`` (index of the action executed, HOLD for a masked one; -1 for none,
as after ``reset``), ``invalid_action`` (0/1: the action sent was masked),
``priority`` (index into PROFIT, LIQUIDITY, STABILITY: the one in force during
the step, after ``reset`` the one for the first step), ``defaulted`` (0/1);
with ``flat_observation=True`` also ``action_mask`` (int8[5], the mask of the
observation's last 5 entries, for the next step).

## Reward
What a shareholder would recognise, per step: the equity change over initial
capital, plus ``buffer_weight`` times the buffer the priority in force asks for
(PROFIT: none; LIQUIDITY: clip(LCR / minimum - 1, 0, 1); STABILITY:
clip(capital ratio / minimum - 1, 0, 1)). On default the bank loses what
equity it had left (limited liability) plus ``default_penalty``; the buffer
terms are never negative, so defaulting never pays. See
``interbank.envs.rewards``.

## Central bank agent
With ``central_bank.agent: true`` (off by default), ``central_bank`` acts
beside the banks every ``central_bank.every`` steps (only ``hold`` in between)
with ``Discrete({n_cb_actions})``, masked at each instrument's bounds; its decision takes
effect at the end of the step, so the banks see it in their next observation
and mask (a decision due in the episode's last step has no next step to act in:
it is not carried out, and ``infos["central_bank"]["action"]`` reports ``hold``,
not flagged invalid):

{cb_action_table}

Its observation (``Dict`` like the banks', or flat) is {n_cb_features} system aggregates:

{cb_obs_table}

Its reward per step: the change in social welfare (as ``interbank evaluate``
reports it) minus ``central_bank.loss_weight`` times the change in its own
losses over initial total equity (minus its net worth: interest paid on
reserves, minus interest earned, plus credit losses). A step with no action for it is
decided by ``central_bank.rule`` (``never``, ``taylor``, ``ccyb``, ``bagehot``).
Its decisions are ``central_bank`` events with ``source: "agent"``.

## Episode end
A bank terminates when it defaults. After ``max_steps`` (``max_cycles``) steps
every bank that acted in the last step is truncated, including one that
defaults on that step (it is terminated too), so that "all done" reads the same
in every client. The episode also ends when no bank is left. ``step()`` after
the end returns five empty dicts; ``reset()`` starts the next episode.

## Arguments
``config`` (path, dict or EnvConfig) and overrides: ``n_banks``,
``max_cycles``/``max_steps``, ``seed``, ``render_mode`` (``"ansi"`` returns
text, ``"human"`` prints it), ``record_events`` (keep the event stream, off by
default as in training), ``priority_model`` (a callable, see
``interbank.envs.priority``), ``flat_observation`` (a ``Box`` observation, see
above), and any dotted config key
(``**{{"clearing.model": "fixed_recovery"}}``).

## Version history
- v3: the economics of the card's ``interbank.sim`` (income statement, random-walk
  markets with transient impact, corridor pricing, the facility before fire
  sales, binding LCR and capital minimums), then the core's dealers and stress
  balance sheets with cash beside the interbank book. Since then ``infos`` carry
  ``action_mask`` only with ``flat_observation=True`` (with the dict
  observation it is in the observation only), so that TorchRL's default path
  works.
- v2: numeric ``infos`` (the priority and the executed action as indices, -1
  for no action, flags as 0/1) with the action mask in
  ``infos[agent]["action_mask"]`` too; at the time limit a bank that defaults
  on the last step is truncated as well as terminated; ``step()`` after the end
  returns five empty dicts instead of raising; the ``flat_observation`` option.
  Observation features, actions, rewards and events unchanged from v1.
- v1: an interbank market with a purpose: loan book, deposit rates and flows,
  reserve requirement, funding requests matched to LEND supply at risk-priced
  rates, maturities and rollover, risk weights and LCR, central bank
  facilities, illiquidity defaults, Rogers-Veraart clearing by default, a
  shareholder's reward; new observation layout (24 base features, independent
  of the number of markets).
- v0: first release.
"""

# each action's effect and when it is masked, by name: the card lists them in ``ACTIONS``' order
_ACTION_ROWS: dict[str, tuple[str, str]] = {
    "LEND": ("offer part of the cash above the reserve requirement to the funding market",
             "the trade would leave the capital ratio or the LCR below its minimum, or too little spare cash"),
    "BORROW": ("refuse to roll over part of every loan out (called back now)", "nothing lent out"),
    "INVEST": ("buy one market (momentum-tilted choice) with spare cash",
               "the trade would leave the capital ratio or the LCR below its minimum, or too little spare cash"),
    "DIVEST": ("sell part of the largest position", "no position"),
    "HOLD": ("nothing", "never"),
}


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(str(r[k])) for r in [header, *rows]) for k in range(len(header))]
    line = "  ".join("=" * w for w in widths)
    fmt = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
    return "\n".join([line, fmt(header), line, *[fmt(r) for r in rows], line])


_CB_ACTION_ROWS: dict[str, tuple[str, str]] = {
    "hold": ("nothing", "never"),
    "rate_up": ("policy rate + rate_step, the corridor with it", "above max_policy_rate"),
    "rate_down": ("policy rate - rate_step, the corridor with it", "below 0"),
    "ccyb_up": ("countercyclical buffer + ccyb_step on the capital minimum", "above max_ccyb"),
    "ccyb_down": ("buffer - ccyb_step (a release)", "buffer at 0"),
    "haircuts_tight": ("facility haircuts x 1.5", "already tight"),
    "haircuts_normal": ("the configured haircuts", "already normal"),
    "haircuts_wide": ("facility haircuts x 0.5", "already wide"),
    "lend_systemic": ("lend lend_share x initial capital to each of the lend_banks top-DebtRank banks "
                      "at the lending rate, until the next decision", "no bank left"),
}


def env_card() -> str:
    """The env card, with tables generated from the code's own action and feature lists."""
    assert list(_ACTION_ROWS) == list(ACTIONS) and list(_CB_ACTION_ROWS) == list(CB_ACTIONS), "a row for every action"
    actions = _table(("index", "name", "effect", "masked when"), [(str(i), n, *_ACTION_ROWS[n]) for i, n in enumerate(ACTIONS)])
    obs = _table(("index", "feature", "unit / scale"), [(str(i), n, u) for i, (n, u) in enumerate(FEATURES)])
    cb_actions = _table(("index", "name", "effect", "masked when (and between decisions)"),
                        [(str(i), n, *_CB_ACTION_ROWS[n]) for i, n in enumerate(CB_ACTIONS)])
    cb_obs = _table(("index", "feature", "unit / scale"), [(str(i), n, u) for i, (n, u) in enumerate(CB_FEATURES)])
    return _CARD.format(action_table=actions, obs_table=obs, n_features=N_FEATURES, n_flat=N_FEATURES + N_ACTIONS,
                        cb_action_table=cb_actions, cb_obs_table=cb_obs, n_cb_actions=len(CB_ACTIONS),
                        n_cb_features=len(CB_FEATURES))


class InterbankEnv(ParallelEnv):
    __doc__ = env_card()

    metadata = {"name": "interbank_v3", "render_modes": ["ansi", "human"], "is_parallelizable": True, "render_fps": 4}

    def __init__(
        self,
        config: EnvConfig | dict[str, Any] | str | Path | None = None,
        render_mode: str | None = None,
        record_events: bool = False,
        priority_model: PriorityModel | None = None,
        run_info: dict[str, Any] | None = None,
        flat_observation: bool = False,
        **overrides: Any,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode = {render_mode!r} is not one of {self.metadata['render_modes']}")
        if not isinstance(record_events, (bool, np.bool_)):
            raise TypeError(f"record_events must be true or false, got {record_events!r}")
        if priority_model is not None and not callable(priority_model):
            raise TypeError(f"priority_model must be a function of the base features, got {type(priority_model).__name__}")
        self.config = resolve_env_config(config, **overrides)
        self.render_mode = render_mode
        self.system = BankingSystem(self.config, record_events=bool(record_events))
        # the init event carries the resolved config (and the caller's run facts) so a run can be re-simulated
        self.system.run_info = {"resolved": self.config.model_dump(mode="json"), **_run_info(run_info)}
        self.priority_model: PriorityModel = priority_model or priority_model_from_config(self.config.priority)
        self.possible_agents = list(self.system.names)
        self.agent_index = {a: i for i, a in enumerate(self.possible_agents)}  # the banks only
        self.agents: list[str] = []
        self._started = False  # reset() has been called
        self._seed_rng: np.random.Generator | None = None
        if not isinstance(flat_observation, bool):
            raise TypeError(f"flat_observation must be true or false, got {flat_observation!r}")
        self.flat_observation = flat_observation
        if flat_observation:
            self._obs_space = spaces.Box(
                np.concatenate([LOW, np.zeros(N_ACTIONS, np.float32)]),
                np.concatenate([HIGH, np.ones(N_ACTIONS, np.float32)]),
                (N_FEATURES + N_ACTIONS,), np.float32,
            )
        else:
            self._obs_space = spaces.Dict({
                "observation": spaces.Box(LOW, HIGH, (N_FEATURES,), np.float32),
                "action_mask": spaces.Box(0, 1, (N_ACTIONS,), np.int8),
            })
        self._act_space = spaces.Discrete(N_ACTIONS)
        n_agents = len(self.possible_agents)
        self.state_space = spaces.Box(
            np.concatenate([np.tile(LOW[:N_BASE], n_agents), np.full(2 * self.system.m, -1.0, np.float32)]),
            np.concatenate([np.tile(HIGH[:N_BASE], n_agents), np.full(2 * self.system.m, 5.0, np.float32)]),
            dtype=np.float32,
        )
        self.events: list[Event] = []
        # the central bank as an agent (off by default: then nothing below refers to it)
        self.central_bank_agent: CentralBankAgent | None = None
        if self.config.central_bank.agent:
            self.central_bank_agent = CentralBankAgent(self)
            self.possible_agents.append(CENTRAL_BANK)
        # PettingZoo's dicts of spaces: the same objects every time (``observation_space(agent)`` reads them)
        self.observation_spaces: dict[str, spaces.Space] = {a: self._obs_space for a in self.system.names}
        self.action_spaces: dict[str, spaces.Space] = {a: self._act_space for a in self.system.names}
        if self.central_bank_agent is not None:
            self.observation_spaces[CENTRAL_BANK] = self.central_bank_agent.observation_space
            self.action_spaces[CENTRAL_BANK] = self.central_bank_agent.action_space

    @property
    def max_cycles(self) -> int:
        """The episode's length in steps (PettingZoo's name of the config's ``max_steps``). Set
        it (as PettingZoo's tests do) and the config is validated again with it (a ConfigError
        names what is wrong, nothing changes); the next ``reset`` plays that length."""
        return self.config.max_steps

    @max_cycles.setter
    def max_cycles(self, value: int) -> None:
        self.config = resolve_env_config(self.config, max_steps=value)
        self.system.run_info["resolved"] = self.config.model_dump(mode="json")

    @property
    def central_bank_policy(self) -> CentralBankPolicy | None:
        """What decides for the ``central_bank`` agent when a step brings no action for it (the
        configured rule by default); None without the agent."""
        return None if self.central_bank_agent is None else self.central_bank_agent.policy

    @central_bank_policy.setter
    def central_bank_policy(self, policy: CentralBankPolicy) -> None:
        if self.central_bank_agent is None:
            raise ValueError("this env has no central bank agent (set central_bank.agent: true)")
        self.central_bank_agent.policy = policy

    @functools.cached_property
    def _shadow(self) -> BankingSystem:
        """A second system, recording no events, that re-runs steps for difference rewards."""
        return BankingSystem(self.config, record_events=False)

    def observation_space(self, agent: str) -> spaces.Space:
        """The agent's observation space (the same object every time); KeyError for an unknown agent."""
        return _of_agent(self.observation_spaces, agent)

    def action_space(self, agent: str) -> spaces.Space:
        """The agent's action space (the same object every time); KeyError for an unknown agent."""
        return _of_agent(self.action_spaces, agent)

    def _require_reset(self) -> None:
        if not self._started:
            raise RuntimeError("call reset() before stepping or reading the env")

    @property
    def record_events(self) -> bool:
        return self.system.log.enabled

    # ----------------------------------------------------------------- API
    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        """Start an episode: ``seed`` (a non-negative integer) makes it and the unseeded resets
        after it reproducible; without one, the config's ``seed`` seeds the first. ``options``
        (a dict) is accepted and unused, as Gymnasium allows. Events not drained yet are dropped:
        the stream starts again with this episode's ``init``."""
        if options is not None and not isinstance(options, dict):
            raise TypeError(f"options must be a dict or None, got {type(options).__name__}")
        if seed is not None:
            seed = _seed(seed)
            self._seed_rng = np.random.default_rng(seed)
            episode_seed = seed
        elif self._seed_rng is not None:
            episode_seed = int(self._seed_rng.integers(2**62))
        elif self.config.seed is not None:
            self._seed_rng = np.random.default_rng(self.config.seed)
            episode_seed = self.config.seed
        else:
            episode_seed = None
        self.system.max_steps = self.max_cycles
        self.system.reset(episode_seed)
        self._started = True
        self.agents = list(self.possible_agents)
        self._shortfall = np.zeros(self.system.n)
        if self.central_bank_agent is not None:
            self.central_bank_agent.reset()
        self._refresh_observations()
        self.events = self.system.log.drain()
        prio, index = self._priority.tolist(), self.agent_index
        banks = self._banks(self.agents)
        # the same keys as after a step (clients that size tensors from the first infos need them)
        infos = {a: {"action": -1, "invalid_action": 0, "priority": prio[index[a]], "defaulted": 0} for a in banks}
        self._mask_into_infos(infos)
        observations = self._observation_dict(banks)
        if self.central_bank_agent is not None:
            infos[CENTRAL_BANK] = self._central_bank_info(None)
            observations[CENTRAL_BANK] = self.central_bank_agent.observation()
        if self.render_mode == "human":
            self.render()
        return observations, infos

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        self._require_reset()
        if not self.agents:  # after the end, as PettingZoo's own envs do; reset() starts the next episode
            return {}, {}, {}, {}, {}
        arr = np.full(self.system.n, HOLD, dtype=np.int64)
        cb_action = None
        for agent, action in actions.items():
            if agent == CENTRAL_BANK and self.central_bank_agent is not None:
                cb_action = -1 if action is None else action
                continue
            idx = self.agent_index.get(agent)
            if idx is None:
                raise KeyError(f"unknown agent {agent!r}")
            arr[idx] = discrete_action(action, N_ACTIONS)
        live_all = self.agents
        live = self._banks(live_all)
        active = self.system.active
        deleted = {a for a in live if not active[self.agent_index[a]]}  # since the last step: they terminate now
        batch = self.step_batch(arr, cb_action)
        idx = [self.agent_index[a] for a in live]
        rew_l, gone_l = batch.rewards.tolist(), batch.terminated.tolist()
        exec_l, inv_l, prio_l = batch.executed.tolist(), batch.invalid.tolist(), batch.priority.tolist()
        truncate, defaulted_l = batch.truncated, self.system.defaulted.tolist()
        rewards = {a: rew_l[i] for a, i in zip(live, idx)}
        terminations = {a: gone_l[i] or a in deleted for a, i in zip(live, idx)}
        truncations = {a: truncate for a in live}
        infos = {
            a: {
                "action": exec_l[i],
                "invalid_action": int(inv_l[i]),
                "priority": prio_l[i],
                "defaulted": int(defaulted_l[i]),
            }
            for a, i in zip(live, idx)
        }
        self._mask_into_infos(infos)
        observations = self._observation_dict(live)
        if CENTRAL_BANK in live_all and self.central_bank_agent is not None:
            cb_step = batch.central_bank
            observations[CENTRAL_BANK] = self.central_bank_agent.observation()
            rewards[CENTRAL_BANK] = cb_step.reward
            truncations[CENTRAL_BANK] = truncate
            terminations[CENTRAL_BANK] = bool(self.system.done and not truncate)
            infos[CENTRAL_BANK] = self._central_bank_info(cb_step)
            live = live_all
        self.agents = [a for a in live if not (terminations[a] or truncations[a])]
        if self.render_mode == "human":
            self.render()
        return observations, rewards, terminations, truncations, infos

    def step_batch(self, actions: np.ndarray, central_bank_action: Any | None = None) -> "BatchStep":
        """Array form of ``step`` for vectorised training: ``actions`` is int[n_banks]
        (entries of gone banks are ignored, -1 or out-of-range counts as a masked action).
        Updates ``agents`` like ``step``; returns arrays over all n_banks. With the central bank
        agent, ``central_bank_action`` is its move (None: ``central_bank_policy`` decides).
        An array that is not of integers (floats, bools) is refused with a TypeError: ``step``
        reads such an entry as a masked action, a whole array of them is a caller's mistake."""
        self._require_reset()
        dtype = np.asarray(actions).dtype
        if dtype.kind not in "iu":
            raise TypeError(f"actions must be an integer array (one action per bank), got dtype {dtype}")
        system = self.system
        cb = self.central_bank_agent
        if cb is not None:
            cb_choice, cb_before = cb.choose(central_bank_action), cb.before_step()
        equity_before = self._equity  # as of the last refresh: nothing changes the system in between
        priority = self._priority
        live = system.active.copy()
        rcfg = self.config.reward
        welfare_before = system.welfare() if rcfg.objective == "social" else None  # only the social reward reads it
        start = copy.deepcopy(system.state) if rcfg.objective == "difference" else None
        outcome = system.step(actions, priority)
        self._shortfall = outcome.shortfall
        cb_step = None if cb is None else cb.after_step(*cb_choice, cb_before)
        base = self._refresh_observations()
        defaulted = np.zeros(system.n, dtype=bool)
        defaulted[outcome.new_defaults] = True
        comps = reward_components(equity_before, self._equity, system.capital0, base, defaulted, rcfg.default_penalty)
        if rcfg.objective == "selfish":
            paid = comps
        elif rcfg.objective == "social":
            paid = social_components(comps, system.welfare() - welfare_before, live)
        else:
            credit = difference_rewards(self._shadow, start, outcome.executed, priority, live, system.welfare(),
                                        system.max_steps, rcfg.difference_samples)
            paid = difference_components(comps, credit, live)
        reward = weighted_reward(paid, priority, rcfg.buffer_weight)
        reward[~live] = 0.0
        terminated = live & ~system.active
        truncated = bool(system.done and system.t >= system.max_steps)
        index = self.agent_index
        if system.done:
            self.agents = []
        elif terminated.any() or len(self.agents) != self._live_agents():
            # ``agents`` holds the active banks (and the central bank): only a bank gone this step leaves
            self.agents = [a for a in self.agents if a not in index or system.active[index[a]]]
        self.events.extend(system.log.drain())
        return BatchStep(reward, terminated, truncated, live, outcome.executed, outcome.invalid, priority, comps, cb_step)

    def _refresh_observations(self) -> np.ndarray:
        """Recompute everything the agents see (after reset, a step, or an interactive change)."""
        self._equity = self.system.equity()
        base = base_features(self.system, self._shortfall)
        self._base = base
        self._priority = _priorities(self.priority_model(base), self.system.n)
        self.system.set_priorities(self._priority)
        self._obs = with_priority(base, self._priority)
        self._mask = self.system.action_mask().astype(np.int8)
        if self.central_bank_agent is not None:
            self.central_bank_agent.refresh()
        return base

    def _live_agents(self) -> int:
        """How many agents ``agents`` holds while the episode runs: the active banks, and the central bank."""
        return int(np.count_nonzero(self.system.active)) + (self.central_bank_agent is not None)

    def _banks(self, agents: list[str]) -> list[str]:
        """The banks among ``agents`` (all of them unless the central bank agent is on)."""
        return agents if self.central_bank_agent is None else [a for a in agents if a != CENTRAL_BANK]

    def _central_bank_info(self, step: CentralBankStep | None) -> dict[str, Any]:
        """The central bank's infos: ``action`` (executed, -1 after reset), ``invalid_action``
        (0/1), ``due`` (0/1: it decides in the coming step); with ``flat_observation`` also its mask."""
        cb = self.central_bank_agent
        info: dict[str, Any] = {"action": -1 if step is None else step.action,
                                "invalid_action": int(step is not None and step.invalid), "due": int(cb.due())}
        if self.flat_observation:
            info["action_mask"] = cb.mask
        return info

    def _mask_into_infos(self, infos: dict[str, dict[str, Any]]) -> None:
        """With a flat observation the action mask also goes to ``infos`` (int8[5]), where clients
        of a Box observation look for it. With the dict observation it is in the observation only:
        TorchRL's ``PettingZooWrapper`` takes the mask from one place and fails on a second copy."""
        if self.flat_observation:
            mask, index = self._mask.copy(), self.agent_index
            for a, info in infos.items():
                info["action_mask"] = mask[index[a]]

    def _observation_dict(self, agents: list[str]) -> dict[str, Any]:
        # rows of copies: a caller writing into what it was given changes nothing the env keeps
        index = self.agent_index
        if self.flat_observation:
            flat = np.concatenate([self._obs, self._mask.astype(np.float32)], axis=1)
            return {a: flat[index[a]] for a in agents}
        obs, mask = self._obs.copy(), self._mask.copy()
        return {a: {"observation": obs[index[a]], "action_mask": mask[index[a]]} for a in agents}

    # ------------------------------------------------- interactive hooks
    # they live in ``interbank.envs.interventions`` (``env.interventions``); these names stay for callers
    CENTRAL_BANK_OPERATIONS = INTERVENTIONS

    @functools.cached_property
    def interventions(self) -> "Interventions":
        """The interactive hooks on this env (``interbank.envs.interventions.Interventions``)."""
        return Interventions(self)

    def add_capital(self, agent: str, amount: float) -> dict[str, Any]:
        """``Interventions.add_capital``: new equity (cash) for a live bank; emits ``capital_added``."""
        return self.interventions.add_capital(agent, amount)

    def delete_bank(self, agent: str) -> dict[str, Any]:
        """``Interventions.delete_bank``: a live bank settled and removed; emits ``bank_deleted``."""
        return self.interventions.delete_bank(agent)

    def delete_failed_bank(self, agent: str) -> dict[str, Any]:
        """``Interventions.delete_failed_bank``: a defaulted bank leaves the network; emits ``bank_deleted``."""
        return self.interventions.delete_failed_bank(agent)

    def central_bank(self, operation: str, bank: str | None = None, amount: float | None = None) -> dict[str, Any]:
        """``Interventions.central_bank``: inject, set_policy_rate or set_capital_requirement; emits ``central_bank``."""
        return self.interventions.central_bank(operation, bank, amount)

    def emit(self, type_: str, data: dict[str, Any]) -> None:
        """Append a (control) event to the stream at the current step, with the next seq."""
        self.system.log.emit(self.system.t, type_, data)
        self.events.extend(self.system.log.drain())

    # ------------------------------------------------------ batch helpers
    def observation_array(self) -> np.ndarray:
        """float32[n_banks, N_FEATURES] for every bank (gone banks are zero rows), read-only: the
        env's own (copy it to change it)."""
        self._require_reset()
        return _read_only(self._obs)

    def action_mask_array(self) -> np.ndarray:
        """int8[n_banks, 5] for every bank, read-only: the env's own (copy it to change it)."""
        self._require_reset()
        return _read_only(self._mask)

    def drain_events(self) -> list[Event]:
        """Events produced since the last drain or reset (empty unless ``record_events``): ``reset``
        starts the stream again with its episode's ``init`` (drain before it to keep the end of
        an episode)."""
        out, self.events = self.events, []
        return out

    def state(self) -> np.ndarray:
        """Global state for a centralised critic: every bank's base features, then market returns and momentum."""
        self._require_reset()
        sys_ = self.system
        markets = np.clip(np.concatenate([sys_.price / sys_.price0 - 1.0, sys_.momentum()]), -1.0, 5.0)
        return np.concatenate([self._base.ravel(), markets]).astype(np.float32)

    def render(self) -> str | None:
        if self.render_mode is None:
            return None
        self._require_reset()
        text = self._render_text()
        if self.render_mode == "human":
            print(text)
            return None
        return text

    def _render_text(self) -> str:
        s = self.system
        bs = s.balance_sheet()
        lines = [
            f"step {s.t}/{s.max_steps}  active {int(s.active.sum())}/{s.n}  defaults {int(s.defaulted.sum())}  "
            f"total capital {s.total_capital():,.2f}",
            "  ".join(f"{m} {p:,.2f} ({p / p0 - 1:+.2%})" for m, p, p0 in zip(s.markets, s.price, s.price0)),
        ]
        order = np.argsort(-bs["equity"])[:10]
        lines.append(f"{'bank':>10} {'equity':>12} {'cash':>12} {'loans out':>12} {'borrowed':>12} {'priority':>10}")
        for i in order.tolist():
            state = "" if s.active[i] else (" (defaulted)" if s.defaulted[i] else " (deleted)")
            lines.append(
                f"{s.names[i]:>10} {bs['equity'][i]:>12,.2f} {bs['cash'][i]:>12,.2f} {bs['loans_out'][i]:>12,.2f} "
                f"{bs['borrowings'][i]:>12,.2f} {PRIORITIES[int(self._priority[i])]:>10}{state}"
            )
        return "\n".join(lines)

    def close(self) -> None:
        pass


@dataclass
class BatchStep:
    """One step over all banks: ``rewards`` float[n]; ``terminated`` bool[n] (defaulted or
    deleted this step); ``truncated`` (time ran out: every bank that acted is truncated); ``acted`` bool[n]
    (was live before the step); ``executed``/``invalid``/``priority`` per bank;
    ``components`` float[n, 3] (profit, liquidity, stability); ``central_bank``: what the central
    bank agent did (None without it)."""

    rewards: np.ndarray
    terminated: np.ndarray
    truncated: bool
    acted: np.ndarray
    executed: np.ndarray
    invalid: np.ndarray
    priority: np.ndarray
    components: np.ndarray
    central_bank: CentralBankStep | None = None


def _of_agent(spaces_by_agent: dict[str, spaces.Space], agent: str) -> spaces.Space:
    try:
        return spaces_by_agent[agent]
    except (KeyError, TypeError):
        raise KeyError(f"unknown agent {agent!r}") from None


def _read_only(a: np.ndarray) -> np.ndarray:
    view = a.view()
    view.flags.writeable = False
    return view


def _seed(seed: Any) -> int:
    """A reset's seed as an int: a non-negative integer (Python or numpy, or a 0-d integer array)."""
    if isinstance(seed, int) and not isinstance(seed, bool):
        if seed < 0:
            raise ValueError(f"seed must be a non-negative integer or None, got {seed!r}")
        return seed  # (of any size, as numpy's generators take it)
    arr = np.asarray(seed) if not isinstance(seed, (str, bytes, np.bool_)) else None
    if arr is None or arr.shape != () or arr.dtype.kind not in "iu" or int(arr) < 0:
        raise ValueError(f"seed must be a non-negative integer or None, got {seed!r}")
    return int(arr)


def _priorities(given: Any, n: int) -> np.ndarray:
    """A priority model's answer checked: an integer per bank in [0, 3) (PROFIT, LIQUIDITY, STABILITY)."""
    arr = np.asarray(given)
    if arr.shape != (n,):
        raise ValueError(f"priority_model must return one priority per bank (shape ({n},)), got shape {arr.shape}")
    if arr.dtype.kind == "f" and np.isfinite(arr).all() and (arr == np.round(arr)).all():
        arr = arr.astype(np.int64)
    wanted = f"priority_model must return integers in 0..{len(PRIORITIES) - 1} ({', '.join(PRIORITIES)})"
    if arr.dtype.kind not in "iu":
        raise ValueError(f"{wanted}, got {arr.dtype} values")
    if arr.size and not (0 <= arr.min() and arr.max() < len(PRIORITIES)):
        raise ValueError(f"{wanted}, got values in [{arr.min()}, {arr.max()}]")
    return arr.astype(np.int64, copy=False)


def _run_info(run_info: Any) -> dict[str, Any]:
    """The caller's run facts for the init event: a JSON-serialisable dict without ``resolved``
    (the env writes the resolved config there; a replay re-simulates from it)."""
    if run_info is None:
        return {}
    if not isinstance(run_info, dict):
        raise TypeError(f"run_info must be a dict, got {type(run_info).__name__}")
    if "resolved" in run_info:
        raise ValueError("run_info cannot name 'resolved': the env writes the resolved config there")
    try:
        json.dumps(run_info, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise ValueError(f"run_info must be plain JSON (it goes into the init event): {err}") from None
    return run_info
