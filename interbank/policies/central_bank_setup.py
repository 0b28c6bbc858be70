"""Who plays the ``central_bank`` agent in a session (interactive, replay, evaluate): a rule by
name, or the learned central bank of a two-policy run folder (``interbank.train.central_bank``).

:data:`CENTRAL_BANK_CHOICES` is the served list (``GET /api/vocabulary``'s ``central_banks``): the
rules of ``interbank.envs.central_bank_rules`` and ``learned``. :func:`with_central_bank` turns a
choice into what a ``Runner`` needs: the env config with the agent on, the learned policy (or
``None``: the config's rule decides) and the run facts the init event records, so that
``replay --verify`` re-creates the session (``central_bank.checkpoint_path`` names the learned
policy's folder).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from interbank.config import ConfigError, EnvConfig, resolve_env_config
from interbank.envs.central_bank_rules import CENTRAL_BANK_RULES, check_rule_params
from interbank.policies.central_bank import CentralBankMLP, load_central_bank_policy, two_policy_run
from interbank.run_folder import CheckpointError, resolve_checkpoint

LEARNED = "learned"
CENTRAL_BANK_CHOICES: tuple[str, ...] = (*CENTRAL_BANK_RULES, LEARNED)
_ABOUT: dict[str, str] = {
    "never": "standing facilities only: rate, buffer and haircuts stay as configured",
    "taylor": "the policy rate follows funding stress and credit growth",
    "ccyb": "the countercyclical buffer rises with credit growth and is released in stress",
    "bagehot": "in stress: wide haircuts, then lending to the most systemic banks",
    LEARNED: "the central bank trained beside the banks (a two-policy run folder as the checkpoint)",
}
assert list(_ABOUT) == list(CENTRAL_BANK_CHOICES), "one line for each rule (CENTRAL_BANK_RULES) and learned"


def central_bank_catalogue() -> list[dict[str, Any]]:
    """The served choices: name, kind (``rule`` or ``learned``), what it does, what it needs."""
    return [{"name": name, "kind": "learned" if name == LEARNED else "rule", "description": _ABOUT[name],
             "needs_checkpoint": name == LEARNED} for name in CENTRAL_BANK_CHOICES]


@dataclass
class CentralBankSetup:
    """A session's central bank: ``config`` (the env config, agent on), ``policy`` (the learned one,
    or ``None``: the config's rule decides) and ``info`` (run facts for the init event)."""

    config: EnvConfig
    policy: CentralBankMLP | None
    info: dict[str, Any]


def with_central_bank(cfg: EnvConfig, choice: str | None, checkpoint: str | Path | None = None,
                      params: dict[str, float] | None = None) -> CentralBankSetup:
    """The session's central bank for ``choice`` (a rule name, ``learned`` or ``None``) and a rule's
    ``params`` (``None``: the scenario's, if it names the same rule). ``None`` with a two-policy
    ``checkpoint`` means its learned central bank; ``None`` otherwise leaves ``cfg`` as it is, or,
    with ``params``, gives them to ``cfg``'s own rule (its central bank agent on: a scenario's or a
    checkpoint's training env), and refuses them when no rule would use them. A bad choice is a
    one-line ``ConfigError``."""
    both = two_policy_run(checkpoint) if checkpoint is not None else None
    if choice is None:
        if both is not None:
            choice = LEARNED
        elif not params:  # none given, or an empty set: nothing to apply
            return CentralBankSetup(cfg, None, {})
        elif cfg.central_bank.agent:
            choice = cfg.central_bank.rule
        else:
            raise ConfigError("central_bank_params need central_bank (a rule: "
                              f"{', '.join(CENTRAL_BANK_RULES)}) or a scenario "
                              "whose central bank agent is on")
    if choice not in CENTRAL_BANK_CHOICES:
        raise ConfigError(f"central_bank must be one of {', '.join(CENTRAL_BANK_CHOICES)}, got {choice!r}")
    if choice == LEARNED:
        if params:
            raise ConfigError("central_bank_params are for a rule central bank, not the learned one")
        if both is None:
            raise ConfigError("central_bank learned needs a two-policy run folder as the checkpoint "
                              "(trained with interbank train --central-bank)")
        return learned_setup(cfg, both[1])
    if params is None:  # the scenario's own parameters when it names the same rule, else the rule's defaults
        params = dict(cfg.central_bank.rule_params) if cfg.central_bank.rule == choice else {}
    try:
        check_rule_params(choice, dict(params))
    except ValueError as err:
        raise ConfigError(f"central_bank_params: {err}") from None
    on = resolve_env_config(cfg, **{"central_bank.agent": True, "central_bank.rule": choice,
                                   "central_bank.rule_params": dict(params)})
    return CentralBankSetup(on, None, {})


def learned_setup(cfg: EnvConfig, folder: str | Path) -> CentralBankSetup:
    """The learned central bank of ``folder`` (its run folder or checkpoint) over ``cfg`` (agent on)."""
    try:
        policy = load_central_bank_policy(folder)
    except CheckpointError as err:
        raise ConfigError(str(err)) from None
    if not cfg.central_bank.agent:
        cfg = resolve_env_config(cfg, **{"central_bank.agent": True})
    path = str(resolve_checkpoint(folder).resolve())
    return CentralBankSetup(cfg, policy, {"central_bank": {"policy": LEARNED, "checkpoint_path": path}})
