"""The ``interbank`` command line.

    interbank simulate   run a scenario with a baseline policy, print a summary, write events
    interbank schema     print the event stream's JSON Schema
    interbank bench      throughput of the core step and of the PettingZoo API
    interbank train      learn one shared bank policy with masked PPO
    interbank evaluate   compare a checkpoint with the baselines on the same seeded episodes
    interbank export     write stable-baselines3's model.zip for a checkpoint (never loaded by interbank)
    interbank replay     watch and steer a run in the terminal; --verify re-simulates a recording
    interbank serve      HTTP/SSE API and web page for interactive sessions
    interbank experiment reproduce Gai-Kapadia, Nier et al. and DebtRank with the core
    interbank facts      stylised facts of banking measured against their bands
    interbank search-rules  search a linear rule (CMA-ES) on tuning seeds, score it on evaluation seeds
    interbank evaluate-central-bank  judge central banks (rules and learned) after the banks re-train under them

Every user mistake is one line on stderr (``interbank: ...``) and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import socket
import sys
from pathlib import Path
from typing import Any

from interbank.scenarios import (
    default_scenario, experiment_preset, resolve, scenario_arg, scenario_names, scenarios_folder, train_config_arg,
)
from interbank.ui import check_out_folder, fail, note, note_listed_banks, path_arg, table


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad argument as one line instead of usage + error."""

    def error(self, message: str) -> "NoReturn":  # noqa: F821
        command = self.prog.removeprefix("interbank").strip()  # fail() names interbank itself
        fail(f"{command + ': ' if command else ''}{message} (see --help)")


def _whole_number(text: str, minimum: int, bound: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(bound.format(value=value))
    return value


def _positive_int(text: str) -> int:
    return _whole_number(text, 1, "{value} must be at least 1")


def _workers(text: str) -> int:
    from interbank.config import MAX_WORKERS

    value = _positive_int(text)
    if value > MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"{value} processes is more than {MAX_WORKERS}, the most a command starts")
    return value


def _bank_count(text: str) -> int:
    return _whole_number(text, 2, "{value} banks: at least 2 (one bank has no interbank market)")


def _non_negative_int(text: str) -> int:
    return _whole_number(text, 0, "{value} must be >= 0")


def _seed(text: str) -> int:
    from interbank.config import MAX_SEED

    value = _whole_number(text, 0, "seed {value} must be >= 0")
    if value > MAX_SEED:
        raise argparse.ArgumentTypeError(f"seed {value} must be <= {MAX_SEED}")
    return value


def _seed_list(text: str) -> list[int]:
    parts = [p.strip() for p in text.split(",")]
    if not parts or any(not p for p in parts):
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of seeds such as 0,1,2")
    seeds = [_seed(p) for p in parts]
    if len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"{text!r} repeats a seed")
    return seeds


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def _positive_float(text: str) -> float:
    value = _number(text)
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text} must be a positive finite number")
    return value


def _non_negative_float(text: str) -> float:
    value = _number(text)
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text} must be a finite number >= 0")
    return value


def _popsize(text: str) -> int:
    return _whole_number(text, 2, "population {value} must be at least 2")


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of bank counts") from None
    if not sizes or min(sizes) < 2:
        raise argparse.ArgumentTypeError(f"{text!r}: every size must be at least 2")
    return sizes


def _central_bank_spec(text: str) -> tuple[str, dict[str, float]]:
    """``NAME`` or ``NAME:key=value,key=value``: a rule central bank and its parameters."""
    from interbank.envs.central_bank_rules import check_rule_params

    name, _, rest = text.partition(":")
    params: dict[str, float] = {}
    for item in filter(None, rest.split(",")):
        key, eq, value = item.partition("=")
        try:
            if not eq:
                raise ValueError
            number = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{item!r} is not key=number (e.g. taylor:funding=0.08)") from None
        if key.strip() in params:
            raise argparse.ArgumentTypeError(f"{text!r} gives {key.strip()} twice")
        params[key.strip()] = number
    try:
        check_rule_params(name, params)  # names, finite, in range: the one check of the config and HTTP too
    except (TypeError, ValueError) as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return name, params


def _or(names) -> str:
    """``a, b or c``: a list of choices in a help text."""
    names = list(names)
    return ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else "".join(names)


def build_parser() -> argparse.ArgumentParser:
    # every list of choices below is the one its source declares (a registry, a config model's field)
    from interbank.bench import PARTS
    from interbank.config import OBJECTIVES
    from interbank.envs.central_bank_rules import CENTRAL_BANK_RULES
    from interbank.evaluate.facts import EPISODES as FACT_EPISODES
    from interbank.evaluate.parallel import BACKENDS as EVAL_BACKENDS
    from interbank.experiments.config import EXPERIMENTS
    from interbank.train.best_response import DEFAULT_TIMESTEPS as EXPLOIT_TIMESTEPS, DEFAULT_WALL as EXPLOIT_MINUTES
    from interbank.train.config import ALGORITHM, DEVICES

    from interbank.policies import BASELINES, DEFAULT_POLICY, RULE_GRIDS

    central_bank_help = (f"a rule central bank acting as the central_bank agent: {_or(CENTRAL_BANK_RULES)}, "
                         "optionally with parameters, e.g. taylor:funding=0.08,credit=0.3 (see docs/central_bank.md)")

    parser = _Parser(
        prog="interbank",
        description="Interbank networks for reinforcement learning: simulate scenarios, train and evaluate shared bank policies, replay and steer runs live (terminal, HTTP/SSE, web page), reproduce contagion results, benchmark.",
        epilog="Quick start: interbank simulate --policy heuristic --banks 20 --steps 50 --seed 3 --events out.jsonl",
    )
    parser.add_argument("--version", action="version", version=f"interbank {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    sim = sub.add_parser(
        "simulate", help="run a scenario with a baseline policy and print a summary",
        description="Run one seeded episode of a scenario with a baseline policy. Shows progress, prints a "
        "summary table (defaults, cascades, total capital start/end) and, with --events, writes the event "
        "stream as JSON lines (byte-identical for the same seed).",
        epilog="Example: interbank simulate --config stress --policy random --seed 3 --events sim.jsonl",
    )
    sim.add_argument("--config", type=scenario_arg, help=f"scenario YAML, or the name of one in configs/ ({scenario_names()}; default: default)")
    sim.add_argument("--policy", default=DEFAULT_POLICY, choices=list(BASELINES), help=f"baseline policy (default: {DEFAULT_POLICY})")
    sim.add_argument("--banks", type=_bank_count, help="number of generated banks (replaces the config's banks, those it lists one by one included)")
    sim.add_argument("--steps", type=_positive_int, help="episode length (overrides max_steps)")
    sim.add_argument("--seed", type=_seed, help="seed of the network, shocks and policy (default: the config's, else 0)")
    sim.add_argument("--events", type=path_arg, metavar="OUT.jsonl", help="write the event stream to this file")
    sim.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    sim.add_argument("--json", action="store_true", help="print the summary as JSON instead of a table")
    sim.add_argument("--central-bank", type=_central_bank_spec, metavar="RULE[:k=v,...]", help=central_bank_help)

    sch = sub.add_parser("schema", help="print the event stream's JSON Schema",
                         description="Print the JSON Schema (draft 2020-12) every event satisfies.",
                         epilog="Example: interbank schema --out event.schema.json")
    sch.add_argument("--out", type=path_arg, help="write to this file instead of stdout")

    tr = sub.add_parser(
        "train", help="learn one policy shared by all banks (masked PPO)",
        description="Train one policy shared by all banks with sb3-contrib's MaskablePPO on the env's action "
        "masks. Writes a run folder: config.yaml (resolved), command.txt, versions.json, tb/ (TensorBoard), "
        "checkpoints/<step>/ (policy.safetensors + policy.json, trainer.safetensors + trainer.json for --resume; "
        "nothing pickled). Timesteps count bank-decisions.",
        epilog="Example: interbank train --config configs/train/smoke.yaml --out runs/smoke  "
        "(then: tensorboard --logdir runs/smoke/tb)",
    )
    tr.add_argument("--config", type=train_config_arg, help="training YAML with env: and train: sections, or the name of one in configs/train/")
    tr.add_argument("--out", type=path_arg, help="run folder (default runs/<config name>-s<seed>)")
    tr.add_argument("--timesteps", type=_positive_int, help="total bank-decisions to train for (overrides train.total_timesteps)")
    tr.add_argument("--seed", type=_seed, help="overrides train.seed")
    tr.add_argument("--seeds", type=_seed_list, metavar="S1,S2,...",
                    help="train one run per seed, one after another, each in --out/s<seed> (social objective: --out/social-s<seed>; "
                    "default --out: runs/<config name>); "
                    "then `interbank evaluate` on --out reports mean ± spread over the seeds")
    tr.add_argument("--objective", choices=OBJECTIVES,
                    help="overrides env.reward.objective: selfish (each bank's own equity), social (every bank the change "
                    "in system welfare) or difference (each bank the welfare change its own action caused, against HOLD); "
                    "with --seeds such a run goes to OUT/social-s<seed> (OUT/difference-s<seed>), beside the selfish OUT/s<seed>, "
                    "so that evaluate OUT reports the price of anarchy")
    tr.add_argument("--device", choices=DEVICES, help="overrides train.device")
    tr.add_argument("--resume", action="store_true", help="continue the run in --out from its newest checkpoint, under its own config.yaml (a --config must "
                    "match it; its backend, seed and settings are the run's own; --timesteps raises its budget; a two-policy "
                    "run's --resume takes none of --config, --seed, --timesteps: its plan fixes them)")
    tr.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    tr.add_argument("--central-bank", type=_central_bank_spec, metavar="RULE[:k=v,...]",
                    help="learn two policies by alternating best responses: the banks under this rule central bank, "
                         "then the central bank against those banks, then --rounds-1 more rounds of each (the banks "
                         "under the learned central bank); a run folder with banks/ and central_bank/; with --backend "
                         "rllib both learn together as two RLlib policies")
    tr.add_argument("--central-bank-timesteps", type=_positive_int, metavar="N",
                    help="with --central-bank: the central bank's PPO steps per round (default 4096)")
    tr.add_argument("--rounds", type=_positive_int, metavar="R",
                    help="with --central-bank: rounds of the alternation (default 2); the banks' budget is split over them")
    tr.add_argument("--backend", choices=list(ALGORITHM), help="stable-baselines3 or Ray RLlib (default: the config's train.backend, else sb3; "
                                                       "on --resume: the run's own)")
    tr.add_argument("--address", help="rllib: join the Ray cluster at HOST:PORT (default: start a local Ray instance)")
    tr.add_argument("--num-env-runners", type=int, help="rllib: env runner processes (overrides rllib.num_env_runners)")
    tr.add_argument("--num-gpus", type=float, help="rllib: GPUs per learner (overrides rllib.num_gpus)")

    ev = sub.add_parser(
        "evaluate", help="compare a checkpoint (or seed runs) with tuned reference rules and baselines",
        description="Run the checkpoint and the baselines on the same seeded episodes (same networks and "
        f"shocks). Rules with parameters ({', '.join(RULE_GRIDS)}) are first tuned on training "
        "seeds over a small grid, then scored at their best point. Reports return, default rate, social welfare, "
        "interbank volume, unmet funding, fire-sale losses, central bank usage, DebtRank, action frequencies, "
        "cascades and return by priority: metrics.json and metrics.csv for machines, a table and PNG plots "
        "(actions over time, intermediation, system figures) for people. On a folder of seed runs (train --seeds) "
        "it reports mean ± spread over seeds, and the price of anarchy when selfish and social runs are both there.",
        epilog="Examples: interbank evaluate runs/smoke --episodes 20   |   "
        "interbank evaluate runs/smoke --episodes 20 --deviations",
    )
    ev.add_argument("checkpoint", type=path_arg, metavar="CHECKPOINT",
                    help="a run folder (its newest checkpoint), a checkpoint folder, policy.safetensors/policy.json, "
                    "or a folder of seed runs written by train --seeds")
    ev.add_argument("--episodes", type=_positive_int, default=20, help="seeded episodes per policy (default 20)")
    ev.add_argument("--seed", type=_seed, default=1000, help="episode i uses seed + i (default 1000, apart from training seeds)")
    ev.add_argument("--config", type=scenario_arg, help="scenario YAML or name in configs/ (default: the training run's env)")
    ev.add_argument("--banks", type=_bank_count, help="evaluate on a network of this many generated banks (the observation does not depend on the size; banks a config lists one by one are replaced)")
    ev.add_argument("--out", type=path_arg, help="output folder (default: RUN/eval, or ./eval)")
    ev.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    ev.add_argument("--priority-variants", action="store_true",
                    help="also run the trained policy under rule-based and each fixed priority (automatic with a learned priority model)")
    ev.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    ev.add_argument("--central-bank", type=_central_bank_spec, metavar="RULE[:k=v,...]",
                    help="score every policy under " + central_bank_help)
    ev.add_argument("--backend", choices=EVAL_BACKENDS, default="local", help="rllib: spread the episodes over a Ray cluster's workers")
    ev.add_argument("--address", help="with --backend rllib: the Ray cluster HOST:PORT (default: a local Ray instance)")
    ev.add_argument("--workers", type=_workers, default=1, help="local processes for the episodes (default 1)")
    ev.add_argument("--compare", action="append", default=[], metavar="NAME=package.module:factory",
                    help="add your own policy (repeatable): factory() returns an object with act(observations, masks) -> "
                    "actions over a batch of banks and optionally reset(seed); it is reported under NAME")
    ev.add_argument("--tune-episodes", type=_non_negative_int, default=10,
                    help="episodes per grid point when tuning the rules (training seeds; default 10, 0 = no tuning)")
    ev.add_argument("--tune-seed", type=_seed, default=0, help="first tuning seed (default 0)")
    ev.add_argument("--deviations", action="store_true",
                    help="also test each trained policy and the best rule for unilateral deviations: one bank at a time "
                    "switches to another policy (each one evaluated, every grid point of the tuned rules) on the same "
                    "episodes; reports its gain and what it does to the others (is the profile an equilibrium?)")
    ev.add_argument("--search-rules", action="store_true",
                    help="also search a linear rule (one score per action over the observation features, CMA-ES) on the "
                    "tuning seeds and report it as `searched` beside the tuned rules, its weights printed readably "
                    "(cost: generations x population x tune-episodes episodes); writes OUT/searched_rule.json")
    ev.add_argument("--search-generations", type=_positive_int, default=15, metavar="G",
                    help="with --search-rules: CMA-ES generations (default 15)")
    ev.add_argument("--search-popsize", type=_popsize, default=12, metavar="P",
                    help="with --search-rules: candidates per generation (default 12)")
    ev.add_argument("--exploit", action="store_true",
                    help="also measure each trained policy's and the best rule's exploitability ε: with every other bank "
                    "on the profile, train one bank with MaskablePPO as a best response (starting from the profile "
                    "itself: the checkpoint's weights, or a clone of the rule; the run's PPO settings), then score it "
                    "as a lone deviator on the evaluation episodes at 0, 1/4, 1/2 and all of its budget; ε = its gain "
                    "± s.e. (metrics.json: exploitability; plot: exploitability.png). The default budget took "
                    f"{EXPLOIT_MINUTES} at 20 banks on a busy 2-core machine (both deviators, training and scoring)")
    ev.add_argument("--exploit-timesteps", type=_positive_int, metavar="N",
                    help=f"with --exploit: the deviator's training budget in its own decisions, per profile "
                    f"(default {EXPLOIT_TIMESTEPS:,})")

    rp = sub.add_parser(
        "replay", help="run a policy live in the terminal: pause, add capital, delete banks, resume",
        description="Replay a trained checkpoint (or a baseline with --policy) step by step in the terminal. "
        "Keys: p pause, r resume, s stop; while paused: c add capital, i inject central bank liquidity, d delete a bank. "
        "--events writes the stream (same schema as everywhere); --verify re-simulates a recorded stream and reports "
        "the first difference.",
        epilog="Examples: interbank replay runs/smoke --events run.jsonl   |   interbank replay --events run.jsonl --verify",
    )
    rp.add_argument("checkpoint", type=path_arg, nargs="?", metavar="CHECKPOINT", help="run folder, checkpoint folder or policy file")
    rp.add_argument("--policy", choices=list(BASELINES), help="a baseline instead of a checkpoint")
    rp.add_argument("--config", type=scenario_arg, help="scenario YAML or name in configs/ (default: the training run's env, else the built-in default)")
    rp.add_argument("--banks", type=_bank_count, help="number of generated banks (replaces the config's banks, those it lists one by one included)")
    rp.add_argument("--steps", type=_positive_int, help="episode length")
    rp.add_argument("--seed", type=_seed, help="seed of the network, shocks and policy (default: the config's, else 0)")
    rp.add_argument("--speed", type=float, default=5.0, help="steps per second (0 = as fast as possible; default 5)")
    rp.add_argument("--events", type=path_arg, metavar="FILE.jsonl", help="write the stream here (with --verify: the recording to check)")
    rp.add_argument("--no-interactive", action="store_true", help="run straight through without keys (for scripts)")
    rp.add_argument("--paused", action="store_true", help="start paused at step 0 (change banks first, then press r)")
    rp.add_argument("--verify", action="store_true", help="re-simulate --events FILE and report the first difference")
    rp.add_argument("--central-bank", type=_central_bank_spec, metavar="RULE[:k=v,...]",
                    help=central_bank_help + "; a two-policy run folder (train --central-bank) plays its learned one by default")

    xp = sub.add_parser(
        "export", help="write stable-baselines3's model.zip for a checkpoint (for SB3 users)",
        description="Rebuild a MaskablePPO from a checkpoint's safe files (weights, optimizer state, counters) and "
        "save it as SB3's own zip, for use with sb3_contrib.MaskablePPO.load. interbank never loads such a zip.",
        epilog="Example: interbank export runs/smoke --out model.zip",
    )
    xp.add_argument("checkpoint", type=path_arg, metavar="CHECKPOINT", help="a run folder (its newest checkpoint) or a checkpoint folder of the sb3 backend")
    xp.add_argument("--out", type=path_arg, required=True, metavar="FILE.zip", help="the zip to write")

    sv = sub.add_parser(
        "serve", help="HTTP/SSE API and web page for interactive sessions",
        description="Serve the interactive API (POST /api/interactive/start, /control, GET /status, "
        "/stream/{id}) and the web page at /. OpenAPI docs at /docs.",
        epilog="Example: interbank serve --checkpoints runs --port 8000  (then open http://127.0.0.1:8000/)",
    )
    sv.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1, this machine only)")
    sv.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    sv.add_argument("--checkpoints", type=path_arg, help="folder whose sub-folders (run or checkpoint folders) can be started by name")
    sv.add_argument("--configs", type=path_arg, help="folder of scenario YAMLs usable by name (default: configs, else the scenarios shipped with the package)")
    sv.add_argument("--max-sessions", type=_positive_int, default=8, help="sessions kept at once, running or finished and not yet evicted (default 8)")
    sv.add_argument("--max-banks", type=_positive_int, default=10_000, help="largest network a session may start (default 10000)")
    sv.add_argument("--max-steps", type=_positive_int, default=5000, help="longest episode a session may start (default 5000)")
    sv.add_argument("--client-buffer", type=_positive_int, default=2000, help="events a viewer that stopped reading may lag before it is dropped")
    sv.add_argument("--memory-budget-mb", type=_positive_int, default=640,
                    help="memory the sessions may take together (estimated; beyond it a start answers 503; default 640)")
    sv.add_argument("--finished-ttl", type=_positive_float, default=600.0, metavar="SECONDS",
                    help="evict a finished session this long after it ends (default 600)")
    sv.add_argument("--data-dir", type=path_arg, metavar="DIR",
                    help="folder of the sessions database (sessions.db: every session, its stream, branches and "
                         "interventions, kept across restarts; default $XDG_DATA_HOME/interbank, i.e. ~/.local/share/interbank)")
    sv.add_argument("--no-store", action="store_true",
                    help="keep no database: sessions live only as long as the server (streams spill to a temporary folder)")
    sv.add_argument("--keep-sessions", type=_positive_int, metavar="N",
                    help="sessions the database keeps; beyond, the oldest finished go first (default 200)")
    sv.add_argument("--keep-mb", type=_positive_float, metavar="M",
                    help="MB of stored (compressed) streams the database keeps; beyond, the oldest finished sessions go first (default 2000)")
    sv.add_argument("--store-compress", type=int, choices=range(10), metavar="LEVEL",
                    help="zlib level of the stored streams, 0-9 (0: uncompressed, about 4x the disk and less CPU; default 1)")
    sv.add_argument("--spill-dir", type=path_arg, help="with --no-store: folder for the sessions' event spills (default: a temporary folder)")
    sv.add_argument("--history-mb", type=_positive_float, default=8.0,
                    help="newest stream events kept in memory per session (default 8)")
    sv.add_argument("--spill-mb", type=_positive_float,
                    help="with --no-store: newest stream events kept on disk per session, for Last-Event-ID (default 256)")
    sv.add_argument("--allowed-host", action="append", metavar="NAME",
                    help="a Host name the server answers besides the loopback names (repeat; '*' = any)")

    ex = sub.add_parser(
        "experiment", help=f"reproduce classic contagion results ({', '.join(EXPERIMENTS)})",
        description="Validation experiments run through interbank's own core. gai-kapadia: frequency and extent "
        "of contagion against average degree (Gai & Kapadia 2010); nier: defaults against connectivity and "
        "capitalisation (Nier et al. 2007); debtrank: DebtRank of every bank of a scenario (Battiston et al. 2012). "
        "Writes results.csv, results.json and PNG plots.",
        epilog="Example: interbank experiment gai-kapadia --banks 1000 --runs 1000 --degrees 0.5:10:0.5 --seed 0",
    )
    ex.add_argument("name", choices=EXPERIMENTS, help="which experiment: " + ", ".join(EXPERIMENTS))
    ex.add_argument("--config", type=path_arg, help="preset: a YAML file or the name of one in configs/experiments/; for debtrank, a scenario YAML or name in configs/")
    ex.add_argument("--banks", type=_bank_count, help="banks in each network (default: the preset's; debtrank: the scenario's)")
    ex.add_argument("--runs", type=_positive_int, help="runs per point")
    ex.add_argument("--degrees", help="gai-kapadia: START:STOP:STEP or a list, e.g. 0.5:10:0.5")
    ex.add_argument("--probabilities", help="nier: START:STOP:STEP or a list")
    ex.add_argument("--net-worths", help="nier: a list such as 0.01,0.05,0.1")
    ex.add_argument("--seed", type=_seed, help="seed of the first run (default: the preset's, else 0)")
    ex.add_argument("--default-at-zero-equity", action="store_const", const=True, default=None,
                    help="gai-kapadia: a loss exactly equal to the capital buffer is a default (default: it is not)")
    ex.add_argument("--workers", type=_workers, default=2, help="processes (default 2)")
    ex.add_argument("--out", type=path_arg, help="output folder (default runs/experiments/NAME)")
    ex.add_argument("--no-progress", action="store_true", help="no progress bar")

    ben = sub.add_parser(
        "bench", help="bank-steps per second of the core step and of the PettingZoo API",
        description="Time the core step (event stream off, as in training, and on) and the PettingZoo dict API "
        "for each network size, with random valid actions, in the default scenario with its network generator (the "
        "size-ranked fitness network, tiered) at --degree links per bank. Medians over --repeat runs.",
        epilog="Example: interbank bench --banks 10,100,1000 --steps 100 --repeat 3",
    )
    ben.add_argument("--banks", type=_sizes, default=[10, 100, 1000, 10000], help="comma-separated sizes (default 10,100,1000,10000)")
    ben.add_argument("--steps", type=_positive_int, default=200, help="steps per run (default 200)")
    ben.add_argument("--degree", type=_non_negative_float, default=5.0, help="average degree of the network (default 5)")
    ben.add_argument("--repeat", type=_positive_int, default=1, help="runs per size; the median is reported")
    ben.add_argument("--seed", type=_seed, default=0, help="seed of the networks and the random actions (default 0)")
    ben.add_argument("--parts", type=_parts, default=PARTS,
                     help="comma-separated parts to time: core (events off), events (core with events), api "
                     "(the PettingZoo dict API); default all three. --parts core times a large size for the core alone")
    ben.add_argument("--json", action="store_true", help="print a JSON list of objects instead of a table")
    sr = sub.add_parser(
        "search-rules", help="search a linear rule with CMA-ES and score it beside hold and the tuned lend_surplus",
        description="Search the rule class 'one linear score per action over the observation features, the action mask "
        "applied, the highest score wins' with CMA-ES: every candidate plays the same --episodes tuning episodes (seeds "
        "--tune-seed ...) and is scored by its mean return per bank, the score evaluate ranks rules by. The best "
        "candidate is then scored on --eval-episodes evaluation episodes (seeds --eval-seed ..., disjoint from the "
        "tuning seeds) beside hold and lend_surplus tuned on the same tuning seeds. Writes OUT/searched_rule.json "
        "(weights per action and feature, the search's history, the scores) and prints the rule: per action, the "
        "features that matter most. Cost: generations x population x episodes episodes.",
        epilog="Example: interbank search-rules --config configs/stress.yaml --out runs/searched-stress --generations 15 --popsize 12 --episodes 5",
    )
    sr.add_argument("--config", type=scenario_arg, help="scenario YAML or name in configs/ (default: the built-in default scenario)")
    sr.add_argument("--out", type=path_arg, required=True, metavar="DIR", help="folder for searched_rule.json")
    sr.add_argument("--generations", type=_positive_int, default=15, help="CMA-ES generations (default 15)")
    sr.add_argument("--popsize", type=_popsize, default=12, help="candidates per generation (default 12)")
    sr.add_argument("--episodes", type=_positive_int, default=5, help="tuning episodes per candidate (default 5)")
    sr.add_argument("--seed", type=_seed, default=0, help="the search's random seed (default 0)")
    sr.add_argument("--banks", type=_bank_count, help="number of generated banks (replaces the config's banks, those it lists one by one included)")
    sr.add_argument("--tune-seed", type=_seed, default=0, help="first tuning seed (default 0)")
    sr.add_argument("--eval-episodes", type=_positive_int, default=20, help="evaluation episodes (default 20)")
    sr.add_argument("--eval-seed", type=_seed, default=1000, help="first evaluation seed (default 1000, apart from the tuning seeds)")
    sr.add_argument("--top", type=_positive_int, default=3, help="features printed per action (default 3)")
    sr.add_argument("--workers", type=_workers, default=1, help="local processes for the episodes (default 1)")
    sr.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    fa = sub.add_parser(
        "facts", help="measure the stylised facts of banking on a scenario against their bands",
        description="Play seeded episodes of a scenario with a rule and print each stylised fact (profitability, "
        "network shape, funding market, price predictability): the model's value, the target band, pass/fail and "
        "the reference. A fact outside its band is a measurement, not an error (exit status 0).",
        epilog="Example: interbank facts --config configs/stress.yaml --banks 100 --episodes 6 --json",
    )
    fa.add_argument("--config", help="scenario YAML, or the name of one in configs/ (default: configs/default.yaml)")
    fa.add_argument("--policy", default="lend_surplus(3)",
                    help="a rule by name, optionally with its parameter: lend_surplus(3), heuristic(low_cash=0.1) "
                    "(default lend_surplus(3))")
    fa.add_argument("--episodes", type=_positive_int, default=FACT_EPISODES,
                    help=f"seeded episodes (default {FACT_EPISODES}: fewer can pass or fail a band on the draw)")
    fa.add_argument("--banks", type=_bank_count, help="number of generated banks (replaces the config's banks, those it lists one by one included)")
    fa.add_argument("--seed", type=_seed, default=0, help="episode i uses seed + i (default 0)")
    fa.add_argument("--json", action="store_true", help="print a JSON list of objects (fact, value, low, high, ok, reference, unit; ok is null where a band is not held)")
    fa.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    from interbank.cli_central_bank import add_parser as add_central_bank_parser

    add_central_bank_parser(sub, _positive_int, _non_negative_int, _seed_list, _seed)
    return parser


def _version() -> str:
    from interbank import __version__

    return __version__


# ---------------------------------------------------------------- commands
def cmd_simulate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from interbank.config import ConfigError, resolve_env_config
    from interbank.envs import parallel_env
    from interbank.evaluate.episode import evaluate_episode
    from interbank.jsonl import JsonlError, JsonlWriter
    from interbank.policies import make_policy

    overrides: dict[str, Any] = {}
    if args.banks is not None:
        overrides["n_banks"] = args.banks
    if args.steps is not None:
        overrides["max_steps"] = args.steps
    if args.central_bank is not None:
        rule, params = args.central_bank
        overrides.update({"central_bank.agent": True, "central_bank.rule": rule, "central_bank.rule_params": params})
    config_path = args.config if args.config is not None else default_scenario()  # None: the built-in default
    try:
        config = resolve_env_config(config_path, **overrides)
    except ConfigError as err:
        fail(str(err))
    seed = config.episode_seed(args.seed)
    out = None
    if args.events is not None:
        if args.events.parent and not args.events.parent.exists():
            fail(f"--events: folder {args.events.parent} does not exist")
        if args.events.is_dir():
            fail(f"--events: {args.events} is a folder; give a file name")
        try:
            out = JsonlWriter(args.events)  # whole lines only: a full disk never leaves half an event
        except JsonlError as err:
            fail(f"--events: {err}")
    note_listed_banks("simulate", config_path, args.banks)

    env = parallel_env(config, record_events=out is not None)
    policy = make_policy(args.policy, seed)
    bar = tqdm(total=config.max_steps, desc=f"simulate {args.policy}", unit="step", disable=args.no_progress or not sys.stderr.isatty(), file=sys.stderr, mininterval=0.2)

    def on_step(step: int, events: list) -> None:
        if out is not None:
            out.write(events)
        if step:
            bar.update(1)
            bar.set_postfix(active=int(env.system.active.sum()), defaults=int(env.system.defaulted.sum()))

    try:
        result = evaluate_episode(env, policy, seed, on_step)
    except JsonlError as err:
        fail(f"--events: {err} (the file ends after the last whole event, {out.written:,} events)")
    except ValueError as err:  # an event with a non-finite number: the config bounds should prevent it
        fail(f"the simulation produced a number that is not finite at step {env.system.t} ({err}); "
             "the scenario's values are too large or too small")
    finally:
        bar.close()
        if out is not None:
            try:
                out.close()
            except JsonlError as err:
                fail(f"--events: {err}")
    system = env.system
    events_written = out.written if out is not None else 0
    prices = {str(name): float(p) for name, p in zip(system.markets, system.price)}
    summary = {
        "scenario": str(config_path) if config_path else "built-in default",
        "policy": args.policy, "seed": seed, "banks": system.n, "steps": result.steps,
        "defaults": result.defaults, "default_rate": result.defaults / system.n,
        "cascades": len(result.cascades), "max_cascade": max(result.cascades, default=0),
        "total_capital_start": result.initial_capital, "total_capital_end": result.final_capital,
        "mean_return": result.mean_return,
        "bank_index": prices.get("BANK_INDEX"), "fin_services": prices.get("FIN_SERVICES"), "prices": prices,
        "events": str(args.events) if out is not None else None, "events_written": events_written,
    }
    if config.central_bank.agent:
        cb = config.central_bank
        summary["central_bank"] = {
            "rule": cb.rule, "params": dict(cb.rule_params), "policy_rate": system.policy_rate, "ccyb": system.ccyb,
            "haircuts": system.haircuts, "losses": system.central_bank_losses / float(system.capital0.sum()),
            "welfare": system.welfare(),
        }
    bad = [k for k, v in [*summary.items(), *prices.items()] if isinstance(v, float) and not math.isfinite(v)]
    if bad:
        fail(f"the simulation produced a number that is not finite ({', '.join(bad)}); "
             "the scenario's values are too large or too small")
    if args.json:
        print(json.dumps(summary, indent=2, allow_nan=False))
        return 0
    change = result.final_capital / result.initial_capital - 1 if result.initial_capital else 0.0
    rows = [
        ("scenario", summary["scenario"]), ("policy", args.policy), ("seed", seed),
        ("banks", system.n), ("steps", result.steps),
        ("defaults", f"{result.defaults} ({summary['default_rate']:.1%})"),
        ("cascades", f"{len(result.cascades)} (largest {summary['max_cascade']} banks)"),
        ("total capital start", f"{result.initial_capital:,.2f}"),
        ("total capital end", f"{result.final_capital:,.2f} ({change:+.1%})"),
        ("mean return per bank", f"{result.mean_return:,.3f}"),
        (" / ".join(prices), " / ".join(f"{p:,.2f}" for p in prices.values())),
    ]
    if "central_bank" in summary:
        c = summary["central_bank"]
        rows.append(("central bank", f"{c['rule']}: policy rate {c['policy_rate']:.2%}, buffer {c['ccyb']:.2%}, "
                                     f"haircuts {c['haircuts']}, losses {c['losses']:.2%} of equity, welfare {c['welfare']:.3f}"))
    if out is not None:
        rows.append(("events", f"{events_written:,} written to {args.events}"))
    print(table(("", "value"), rows))
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from interbank.schema import event_schema

    text = json.dumps(event_schema(), indent=2)
    if args.out:
        try:
            args.out.write_text(text + "\n")
        except OSError as err:
            fail(f"--out: cannot write {args.out}: {err.strerror}")
    else:
        print(text)
    return 0


def _parts(text: str) -> tuple[str, ...]:
    from interbank.bench import PARTS

    parts = tuple(p.strip() for p in text.split(",") if p.strip())
    bad = [p for p in parts if p not in PARTS]
    if bad or not parts:
        raise argparse.ArgumentTypeError(f"{', '.join(bad) or text!r} is not one of {', '.join(PARTS)}")
    return parts


def cmd_bench(args: argparse.Namespace) -> int:
    from interbank.bench import bench_config, run_bench
    from interbank.config import ConfigError

    try:  # the scenario every size is timed in, checked before the first run (--degree, --banks)
        for n in args.banks:
            bench_config(n, args.steps, args.seed, args.degree)
    except ConfigError as err:
        fail(f"bench: {str(err).removeprefix('config: ')}")
    log = (lambda msg: print(f"bench: {msg}", file=sys.stderr)) if not args.json else None
    rows = run_bench(args.banks, args.steps, args.seed, args.degree, args.repeat, progress=log, parts=args.parts)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(table(
        ("banks", "steps", "core bank-steps/s", "core+events bank-steps/s", "API bank-steps/s", "API us/bank-step"),
        [(r["banks"], r["steps"], *(("-" if r[k] is None else round(r[k])) for k in (
            "core_bank_steps_per_s", "core_events_bank_steps_per_s", "api_bank_steps_per_s")),
          "-" if r["api_us_per_bank_step"] is None else r["api_us_per_bank_step"]) for r in rows],
    ))
    return 0


def _two_policy_plan(out: Path) -> dict | None:
    """The curriculum of the two-policy run in ``out`` (None when it is not one); unreadable: a one-line failure."""
    from interbank.config import ConfigError
    from interbank.policies.central_bank import CURRICULUM, read_curriculum

    if not (out / CURRICULUM).exists():
        return None
    try:
        return read_curriculum(out)
    except ConfigError as err:
        fail(str(err))


def _train_both(args: argparse.Namespace, backend: str, progress: bool) -> int:
    """``train --central-bank RULE``: sb3, the banks under the rule, then the central bank against them;
    rllib, both together as two RLlib policies (the rule recorded, never deciding)."""
    from interbank.config import ConfigError
    from interbank.files import WriteError
    from interbank.run_folder import CheckpointError, RunFolderError
    from interbank.train.central_bank import CentralBankSettings, train_both

    if args.config is None and not args.resume:
        fail("--config is required (e.g. configs/train/smoke.yaml)")
    if args.resume:
        rule, params, out = "never", {}, args.out
    else:
        rule, params = args.central_bank
        out = args.out or Path("runs") / f"{args.config.stem}-cb-{rule}"
    settings = CentralBankSettings(timesteps=args.central_bank_timesteps or 4096, seed=args.seed or 0)
    try:
        if backend == "rllib":  # both learn together, as two RLlib policies
            from interbank.train.rllib_backend import train_both_rllib

            banks, central_bank, _ = train_both_rllib(args.config, out, rule, params, args.timesteps, args.seed, progress,
                                                      args.command_line, args.address, args.num_env_runners, args.num_gpus)
        else:
            banks, central_bank = train_both(args.config, out, rule, args.timesteps, settings, progress, params,
                                             rounds=args.rounds or 2, resume=args.resume, seed=args.seed)
    except (ConfigError, RunFolderError, WriteError, CheckpointError) as err:
        fail(str(err))
    print(table(("", "value"), [("run folder", str(out)), ("banks' policy", str(banks)),
                                ("central bank's policy", str(central_bank))]))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from interbank.config import ConfigError
    from interbank.files import WriteError
    from interbank.run_folder import RunFolderError

    try:
        from interbank.train.run import resolve_backend, train
    except ImportError as err:
        fail(f"train needs stable-baselines3, sb3-contrib and torch ({err.name} is missing): pip install -e .")
    progress = not args.no_progress and sys.stderr.isatty()
    if args.central_bank is not None and (args.objective or args.seeds):
        fail("--central-bank trains one run (no --objective or --seeds)")
    if args.central_bank is not None and args.resume:
        fail("--resume continues the two-policy run in --out by its own plan: leave --central-bank out")
    if args.central_bank is None and (args.rounds is not None or args.central_bank_timesteps is not None):
        fail("--rounds and --central-bank-timesteps apply to a new two-policy run: add --central-bank RULE "
             "(--resume continues one by its own plan, without them)")
    plan = _two_policy_plan(args.out) if args.resume and args.out is not None else None
    if plan is not None:
        given = [flag for flag, value in (("--config", args.config), ("--seed", args.seed), ("--seeds", args.seeds),
                                          ("--timesteps", args.timesteps), ("--objective", args.objective),
                                          ("--device", args.device)) if value is not None]
        if given:
            fail(f"--resume continues the two-policy run in {args.out} by its own plan: leave out {', '.join(given)}")
        if args.backend == "rllib" or any(p.get("backend") == "rllib" for p in plan["phases"]):
            fail("--resume: a two-policy RLlib run cannot be resumed yet (train it again into a new --out)")
        return _train_both(args, "sb3", progress)
    try:
        backend = resolve_backend(args.backend, args.resume, args.out, args.config)
    except (ConfigError, RunFolderError, WriteError) as err:
        fail(str(err))
    if backend == "sb3" and (args.address or args.num_env_runners is not None or args.num_gpus is not None):
        fail("--address, --num-env-runners and --num-gpus need --backend rllib")
    if args.num_env_runners is not None and args.num_env_runners < 0:
        fail(f"--num-env-runners {args.num_env_runners} must be >= 0")
    if args.num_gpus is not None and not args.num_gpus >= 0:
        fail(f"--num-gpus {args.num_gpus} must be >= 0")
    if args.seeds is not None:
        return _train_seeds(args, backend, train, progress)
    if args.central_bank is not None:
        return _train_both(args, backend, progress)
    try:
        if backend == "rllib":
            from interbank.train.rllib_backend import train_rllib

            result = train_rllib(args.config, args.out, args.timesteps, args.seed, args.device, args.resume, progress,
                                 args.command_line, args.address, args.num_env_runners, args.num_gpus, args.objective)
        else:
            result = train(args.config, args.out, args.timesteps, args.seed, args.device, args.resume,
                           progress=progress, command=args.command_line, objective=args.objective)
    except (ConfigError, RunFolderError, WriteError) as err:
        fail(str(err))
    if not result.trained:
        print(f"nothing to train: {result.run_dir} is already at {result.timesteps:,} bank-decisions (budget "
              f"{result.budget:,}); give --timesteps above {result.timesteps} to continue it")
        return 0
    stats = result.last_stats
    rows = [
        ("run folder", str(result.run_dir)), ("checkpoint", str(result.checkpoint)),
        ("bank-decisions", result.timesteps), ("episodes", result.episodes),
    ]
    if "episode_return" in stats:
        # one training episode, exploring: the result is what evaluate measures on seeded episodes
        rows += [("last training episode: return per bank", stats["episode_return"]),
                 ("last training episode: default rate", f"{stats['default_rate']:.1%}")]
    elif "episode_return_mean" in stats:
        rows += [("episode return (sum over banks)", stats["episode_return_mean"])]
    if "warm_start_accuracy" in stats:
        rows.append(("warm start (agreement with the rule)", f"{stats['warm_start_accuracy']:.1%}"))
    if "pool_return" in stats:
        rows.append(("last pool-bank return", stats["pool_return"]))
    if not args.resume and _without_train_section(args.config):
        rows.append(("learner settings", f"built-in: {args.config} has no train: section "
                                         "(the measured recipe is configs/train/default.yaml)"))
    rows.append(("TensorBoard", f"tensorboard --logdir {result.run_dir / 'tb'}"))
    rows.append(("next", f"interbank evaluate {result.run_dir}"))
    print(table(("", "value"), rows))
    return 0


def _without_train_section(config: Path | None) -> bool:
    """Whether ``config`` is a scenario file with no ``train:`` section (its run used the built-in
    learner settings, not the measured recipe of configs/train/default.yaml)."""
    from interbank.config import ConfigError, read_yaml

    if config is None:
        return False
    try:
        data = read_yaml(config)
    except (ConfigError, OSError):
        return False
    return isinstance(data, dict) and "train" not in data


def _train_seeds(args: argparse.Namespace, backend: str, train, progress: bool) -> int:
    """``train --seeds``: one run per seed, one after another, in OUT/s<seed> (OUT/social-s<seed>
    for the social objective)."""
    from interbank.config import ConfigError
    from interbank.train.config import load_train_config
    from interbank.policies.checkpoint import CheckpointError

    if args.seed is not None:
        fail("--seed and --seeds exclude each other")
    if backend == "rllib":
        asked = "--backend rllib" if args.backend else f"{args.config} asks for rllib"
        fail(f"--seeds trains with the sb3 backend, and {asked}: run it once per --seed instead")
    parent = args.out or Path("runs") / (args.config.stem if args.config else "default")
    check_out_folder("train", parent)
    try:
        objective = args.objective or (load_train_config(args.config).env.reward.objective if args.config else "selfish")
    except ConfigError as err:
        fail(str(err))
    prefix = "" if objective == "selfish" else f"{objective}-"
    rows = []
    for seed in args.seeds:
        try:
            result = train(args.config, parent / f"{prefix}s{seed}", args.timesteps, seed, args.device, args.resume,
                           progress=progress, command=args.command_line, objective=args.objective)
        except (ConfigError, CheckpointError) as err:
            fail(f"seed {seed}: {err}")
        stats = result.last_stats
        rows.append((seed, str(result.run_dir), result.timesteps,
                     stats.get("episode_return", "-") if result.trained else "- (nothing to train: at its budget)", f"{stats['default_rate']:.1%}" if "default_rate" in stats else "-"))
    print(table(("seed", "run folder", "bank-decisions", "last episode return", "last default rate"), rows))
    print(f"\nnext: interbank evaluate {parent}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from interbank.config import ConfigError
    from interbank.evaluate import run as evaluation
    from interbank.evaluate.compare import CompareError
    from interbank.evaluate.deviation import deviations_table
    from interbank.evaluate.run import BASELINE_NAMES, metrics_table, seeds_table
    from interbank.evaluate.search import SearchBudget
    from interbank.evaluate.tuning import grid_points
    from interbank.policies import RULE_GRIDS
    from interbank.policies.checkpoint import CheckpointError

    check_out_folder("evaluate", args.out)
    if args.address is not None and args.backend != "rllib":
        fail("evaluate: --address names a Ray cluster: it needs --backend rllib")
    search = None
    if args.search_rules:
        if not args.tune_episodes:
            fail("evaluate: --search-rules searches on the tuning seeds: give --tune-episodes 1 or more")
        search = SearchBudget(generations=args.search_generations, popsize=args.search_popsize,
                              episodes=args.tune_episodes, seed=args.tune_seed)
    exploit = None
    if args.exploit_timesteps is not None and not args.exploit:
        fail("evaluate: --exploit-timesteps needs --exploit")
    if args.exploit:
        exploit = _exploit_trainer(args)
    # planning tunes the rules (a tick per grid point) and searches the linear one; the rest is
    # counted from the plan once it is made
    total = sum(len(grid_points(f)) for f in BASELINE_NAMES if f in RULE_GRIDS) if args.tune_episodes else 0
    total += search.evaluations() if search is not None else 0
    bar = tqdm(total=total, desc="evaluate", unit="ep", disable=args.no_progress or not sys.stderr.isatty(), file=sys.stderr)

    def progress(name: str, done: int) -> None:
        bar.set_postfix(policy=name)
        bar.update(1)

    for folder in evaluation.not_runs(args.checkpoint):  # a seed that failed would bias the mean over seeds unseen
        note(f"evaluate: {folder} is not a run folder (no config.yaml and checkpoints/ in it): it is not scored")
    try:
        plan = evaluation.plan(args.checkpoint, args.episodes, args.seed, args.config, args.banks, args.out,
                               progress=progress, priority_variants=args.priority_variants, backend=args.backend,
                               workers=args.workers, address=args.address, compare=tuple(args.compare),
                               tune_episodes=args.tune_episodes, tune_seed=args.tune_seed, search=search,
                               central_bank=args.central_bank)
        bar.total = bar.n + len(plan) + (plan.deviation_ticks() if args.deviations else 0)
        if exploit is not None:  # each profile's episodes and the learner's 4 snapshots
            bar.total += len(plan.profiles()) * args.episodes * (1 + 4)
        bar.refresh()
        outcome = evaluation.run(plan, progress, args.backend, args.workers, args.address, args.deviations, exploit)
        metrics, out = evaluation.report(plan, outcome, plots=not args.no_plots)
    except (ConfigError, CheckpointError, CompareError) as err:
        bar.close()
        fail(str(err))
    bar.close()
    headers, rows = metrics_table(metrics)
    env = metrics["env"]
    print(f"{env['n_banks']} banks, {metrics['episodes']} episodes (seeds {metrics['seeds'][0]}..{metrics['seeds'][-1]}), env: {env['source']}")
    print(table(headers, rows))
    if metrics.get("across_seeds"):
        print("\nacross training seeds (mean ± std):")
        print(table(*seeds_table(metrics)))
    if metrics.get("price_of_anarchy") is not None:
        print(f"price of anarchy (welfare selfish / welfare social): {metrics['price_of_anarchy']:.3f}")
    elif "price_of_anarchy" in metrics:
        print("price of anarchy: undefined (welfare under one of the objectives is not positive)")
    if metrics.get("price_of_anarchy_difference") is not None:
        print(f"price of anarchy (welfare selfish / welfare with difference rewards): {metrics['price_of_anarchy_difference']:.3f}")
    if metrics.get("searched_rule"):
        _print_searched(metrics["searched_rule"])
    if metrics.get("deviations"):
        print("\nunilateral deviations (one bank switches, the others keep the policy; gains in summed reward):")
        print(table(*deviations_table(metrics["deviations"])))
    if metrics.get("exploitability"):
        from interbank.evaluate.exploit import exploit_table

        print("\nlearned deviators (one bank trained by PPO against the others on the profile; ε = its gain as a lone "
              "deviator, in summed reward):")
        print(table(*exploit_table(metrics["exploitability"])))
    print(f"\nwrote {out / 'metrics.json'}, {out / 'metrics.csv'}" + ("" if args.no_plots else f" and plots in {out}/"))
    return 0


def _exploit_trainer(args: argparse.Namespace):
    """The best-response trainer ``evaluate`` calls for --exploit (``interbank.train.best_response``),
    with a progress bar per learner and its wall time on stderr."""
    from tqdm import tqdm

    from interbank.train.best_response import run_train_settings, train_best_response

    from interbank.train.best_response import DEFAULT_TIMESTEPS

    timesteps = args.exploit_timesteps or DEFAULT_TIMESTEPS
    quiet = args.no_progress or not sys.stderr.isatty()

    def trainer(name, profile, env_cfg, checkpoint, settings_from):
        settings, _ = run_train_settings(checkpoint or settings_from)  # a trained profile: its own run's PPO settings
        bar = tqdm(total=timesteps, desc=f"deviator vs {name}", unit="decision", disable=quiet, file=sys.stderr, leave=False)

        def progress(done: int) -> None:
            bar.update(min(done, timesteps) - bar.n)

        try:
            learned = train_best_response(env_cfg, profile, timesteps, checkpoint=checkpoint, settings=settings,
                                          seed=args.tune_seed, name=f"learned vs {name}", progress=progress)
        finally:
            bar.close()
        print(f"deviator vs {name}: {learned.snapshots[-1][0]:,} decisions in {learned.seconds:.0f} s", file=sys.stderr)
        return learned

    return trainer


def _print_searched(report: dict[str, Any]) -> None:
    search = report["search"]
    budget, seeds = search["budget"], search["tuning_seeds"]
    print(f"\nsearched rule ({search['method']}, {budget['generations']} generations x {budget['popsize']} candidates x "
          f"{budget['episodes']} tuning episodes, seeds {seeds[0]}..{seeds[-1]}, search seed {budget['seed']}; "
          f"tuning score {search['tuning_score']:+.3f}):")
    print("\n".join(report["description"]))


def cmd_search_rules(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from interbank.config import ConfigError, EnvConfig, load_env_config, resolve_env_config
    from interbank.evaluate.search import SearchBudget
    from interbank.evaluate.search_rules import RULE_FILE, SearchRulesError, check_seeds, search_rules
    from interbank.evaluate.tuning import grid_points
    from interbank.files import WriteError
    from interbank.policies.searched import describe_rule

    check_out_folder("search-rules", args.out)
    budget = SearchBudget(generations=args.generations, popsize=args.popsize, episodes=args.episodes, seed=args.seed)
    try:
        listed = load_env_config(args.config) if args.config is not None else EnvConfig()
        env_cfg = resolve_env_config(listed, n_banks=args.banks) if args.banks is not None else listed
        check_seeds(range(args.tune_seed, args.tune_seed + args.episodes),
                    range(args.eval_seed, args.eval_seed + args.eval_episodes))
    except (ConfigError, SearchRulesError) as err:
        fail(f"search-rules: {err}")
    note_listed_banks("search-rules", listed, args.banks)
    # scored as evaluate scores rules: the shareholder's reward, whatever the scenario says
    env_cfg = env_cfg.model_copy(update={"reward": env_cfg.reward.model_copy(update={"objective": "selfish"})})
    total = budget.evaluations() + len(grid_points("lend_surplus")) * args.episodes + 3 * args.eval_episodes
    bar = tqdm(total=total, desc="search-rules", unit="ep", disable=args.no_progress or not sys.stderr.isatty(), file=sys.stderr)

    def progress(name: str, done: int) -> None:
        bar.set_postfix(stage=name)
        bar.update(1)

    try:
        policy, data = search_rules(env_cfg, str(args.config or "built-in default"), args.out, budget, args.tune_seed,
                            args.eval_episodes, args.eval_seed, workers=args.workers, progress=progress)
    except WriteError as err:
        bar.close()
        fail(f"search-rules: {err}")
    bar.close()
    search, evaluation = data["search"], data["evaluation"]
    seeds = evaluation["seeds"]
    _print_searched({"search": search, "description": describe_rule(policy, args.top)})
    print(f"\n{env_cfg.n_banks} banks, {len(seeds)} evaluation episodes (seeds {seeds[0]}..{seeds[-1]}), env: {data['env']['source']}")
    rows = []
    for name, score in evaluation["scores"].items():
        vs = evaluation["vs"].get(name)
        rows.append((name, score["mean_return"], f"± {score['stderr']:.3f}",
                     "-" if vs is None else f"{vs['gain']:+.3f} ± {vs['stderr']:.3f}"))
    print(table(("policy", "mean return", "± s.e.", "searched minus it (paired)"), rows))
    print(f"\nwrote {args.out / RULE_FILE}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from interbank.config import ConfigError
    from interbank.files import WriteError
    from interbank.run_folder import RunFolderError

    try:
        from interbank.train.run import export_sb3_zip
    except ImportError as err:
        fail(f"export needs stable-baselines3, sb3-contrib and torch ({err.name} is missing): pip install -e .")
    try:
        out = export_sb3_zip(args.checkpoint, args.out)
    except (ConfigError, RunFolderError, WriteError) as err:
        fail(str(err))
    print(f"wrote {out} (load it with sb3_contrib.MaskablePPO.load)")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from interbank.interactive.gctune import tune_gc
        from interbank.interactive.guard import LOOPBACK_HOSTS
        from interbank.interactive.protocol import JsonErrorH11Protocol
        from interbank.interactive.server import ServerLimits, create_app
        from interbank.interactive.store import StoreError, default_data_dir
    except ImportError as err:
        fail(f"serve needs fastapi, uvicorn and sse-starlette ({err.name} is missing): pip install -e .")
    if args.checkpoints is not None and not args.checkpoints.is_dir():
        fail(f"--checkpoints: {args.checkpoints} is not a folder")
    if args.configs is not None and not args.configs.is_dir():
        fail(f"--configs: {args.configs} is not a folder")
    if not 0 < args.port < 65536:
        fail(f"--port {args.port} is not a valid port")
    if args.spill_dir is not None and args.spill_dir.exists() and not args.spill_dir.is_dir():
        fail(f"--spill-dir: {args.spill_dir} is not a folder")
    if not args.host.strip():
        fail("serve: --host is empty; give an address (127.0.0.1 for this machine, 0.0.0.0 for every interface)")
    hosts = list(LOOPBACK_HOSTS)
    if args.host not in ("0.0.0.0", "::", ""):
        hosts.append(args.host)
    hosts += args.allowed_host or []
    # the store's flags and the spill's each act on one side of --no-store: one given for the other is refused
    given_for = {flag: getattr(args, flag) is not None for flag in ("keep_sessions", "keep_mb", "store_compress", "spill_dir", "spill_mb")}
    wrong = [f for f, given in given_for.items() if given and f.startswith("spill_") != args.no_store]
    if wrong:
        flag = "--" + wrong[0].replace("_", "-")
        fail(f"serve: {flag} is for the data folder's store; --no-store keeps none" if args.no_store else
             f"serve: {flag} is for --no-store (with the data folder, the store keeps the sessions' events)")
    given = {k: v for k, v in (("keep_sessions", args.keep_sessions), ("keep_mb", args.keep_mb),
                               ("store_compress", args.store_compress),
                               ("spill_bytes", None if args.spill_mb is None else int(args.spill_mb * 1_000_000)))
             if v is not None}  # (the others: ServerLimits' defaults, which the help texts name)
    limits = ServerLimits(max_sessions=args.max_sessions, max_banks=args.max_banks, max_steps=args.max_steps,
                          client_buffer=args.client_buffer, memory_budget_bytes=args.memory_budget_mb * 1_000_000,
                          finished_ttl_seconds=args.finished_ttl, spill_dir=args.spill_dir,
                          data_dir=None if args.no_store else (args.data_dir or default_data_dir()),
                          history_window_bytes=int(args.history_mb * 1_000_000), **given,
                          allowed_hosts=None if "*" in hosts else tuple(hosts))
    if args.no_store and args.data_dir is not None:
        fail("serve: give --data-dir or --no-store, not both")
    sock = _listening_socket(args.host, args.port)  # first: a port already taken leaves no data folder behind
    try:
        app = create_app(args.checkpoints, args.configs if args.configs is not None else scenarios_folder(), limits)
    except StoreError as err:
        sock.close()
        fail(str(err))
    tune_gc()  # a session's steps build tens of thousands of short-lived event dicts
    shown = f"[{args.host}]" if ":" in args.host else args.host  # an IPv6 address in a URL is bracketed
    print(f"interbank: serving the page at http://{shown}:{args.port}/ (API docs at /docs, online; the schema at /openapi.json); Ctrl-C stops", file=sys.stderr)
    # a bounded graceful shutdown: open streams end, and the sessions' spills are removed
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level="warning", http=JsonErrorH11Protocol,
                            timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    if not server.started:
        fail(f"serve: the server on {args.host}:{args.port} did not start")
    return 0


def _listening_socket(host: str, port: int) -> socket.socket:
    """The server's socket, bound here as uvicorn would bind it, so that a port already taken (another
    serve, mkdocs serve on 8000) is one line before the banner; uvicorn itself logs it and exits 3."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family=family, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        fail(f"serve: cannot listen on {host}:{port}: {err.strerror or err}")
    sock.set_inheritable(True)
    return sock


def cmd_replay(args: argparse.Namespace) -> int:
    from interbank.interactive.terminal import replay

    return replay(args)


def cmd_experiment(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from interbank.config import ConfigError, EnvConfig, load_env_config, resolve_env_config
    from interbank.experiments import run as ex

    from interbank.experiments.config import DEBTRANK, MODELS, load_experiment

    out = args.out or Path("runs/experiments") / args.name
    check_out_folder("experiment", out)
    # the flags of one experiment's sweep (its model's fields the others lack); debtrank takes none
    takes = MODELS[args.name].model_fields if args.name in MODELS else {}
    common = set.intersection(*(set(m.model_fields) for m in MODELS.values()))
    sweep = [f for m in MODELS.values() for f in m.model_fields if f not in common and f in vars(args)]
    for flag in sweep:  # another experiment's flag would be ignored: refused instead
        if getattr(args, flag) is not None and flag not in takes:
            owner = next(name for name, m in MODELS.items() if flag in m.model_fields)
            fail(f"experiment {args.name}: --{flag.replace('_', '-')} is {owner}'s flag; {args.name} does not take it")
    if args.name == DEBTRANK and args.runs is not None:  # (the sweeps share --runs: the loop above lets it by)
        fail("experiment debtrank: --runs is for the sweeps (gai-kapadia, nier); debtrank ranks one scenario's banks once")
    try:
        if args.name == DEBTRANK:
            scenario = resolve(args.config) if args.config else None
            listed = load_env_config(scenario) if scenario else EnvConfig()
            cfg = resolve_env_config(listed, n_banks=args.banks) if args.banks else listed
            note_listed_banks("experiment debtrank", listed, args.banks)
            seed = cfg.episode_seed(args.seed)
            payload = ex.run_debtrank(cfg, str(args.config or "built-in default"), seed, out)
            rows = payload["rows"][:15]
            print(table(("bank", "DebtRank", "equity", "interbank assets", "interbank liabilities"),
                        [(r["bank"], r["debtrank"], r["equity"], r["interbank_assets"], r["interbank_liabilities"]) for r in rows]))
            print(f"\nwrote {out / 'results.csv'}, {out / 'results.json'}, {out / 'debtrank.png'}")
            return 0
        preset = resolve(args.config, "experiments") if args.config is not None else experiment_preset(args.name)
        overrides = {"banks": args.banks, "runs": args.runs, "seed": args.seed,
                     **{f: getattr(args, f) for f in sweep if f in takes}}
        cfg = load_experiment(args.name, preset, overrides)
    except ConfigError as err:
        fail(str(err))
    points = len(cfg.degrees) if args.name == "gai-kapadia" else len(cfg.probabilities) * len(cfg.net_worths)
    bar = tqdm(total=points * cfg.runs, desc=args.name, unit="run", disable=args.no_progress or not sys.stderr.isatty(), file=sys.stderr)
    runner = ex.run_gai_kapadia if args.name == "gai-kapadia" else ex.run_nier
    try:
        payload = runner(cfg, out, args.workers, bar.update)
    finally:
        bar.close()
    if args.name == "gai-kapadia":
        w = payload["analytic_window"]
        print(table(("z", "runs", "frequency", "extent"), [(r["z"], r["runs"], r["frequency"], r["extent"]) for r in payload["rows"]]))
        if w["z_low"] is not None:
            print(f"\nanalytic contagion window: {w['z_low']:.2f} < z < {w['z_high']:.2f} "
                  f"(banks with at most {w['vulnerable_max_debtors']} debtors are vulnerable)")
        print(f"rule: {payload['equity_zero_rule']}")
    else:
        print(table(("p", "net worth", "runs", "mean defaults"),
                    [(r["p"], r["net_worth"], r["runs"], r["mean_defaults"]) for r in payload["rows"]]))
    print(f"\n{payload['seconds']:.1f} s; wrote {out / 'results.csv'}, {out / 'results.json'} and plots in {out}/")
    return 0


def cmd_facts(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from interbank.config import ConfigError, resolve_env_config
    from interbank.evaluate.facts import FACTS, below_size, check, parse_policy, scenario_not_held

    config = args.config
    path = resolve(config) if config is not None else default_scenario()  # None: the built-in default
    if path is not None and not path.is_file():
        fail(f"facts: config {config!r} is neither a file nor a scenario in configs/")
    overrides = {"n_banks": args.banks} if args.banks is not None else {}
    try:
        resolved = resolve_env_config(path, **overrides)
        scenario_not_held(path)  # the file's facts: section, checked before any episode (None: none)
        parse_policy(args.policy)
    except (ConfigError, ValueError) as err:
        fail(f"facts: {err}")
    note_listed_banks("facts", path, args.banks)
    source = path if path is not None else resolved  # the file, for its facts: section too
    bar = tqdm(total=args.episodes, desc="facts", unit="ep", disable=args.no_progress or not sys.stderr.isatty(), file=sys.stderr)
    try:
        results = check(source, args.policy, args.episodes, args.banks, args.seed, progress=lambda done: bar.update(1))
    finally:
        bar.close()
    if args.json:
        print(json.dumps([r.to_json() for r in results], indent=2, allow_nan=False))
        return 0
    how = {f.name: f.how for f in FACTS}

    def band(r) -> str:
        if r.low is None and r.high is None:
            return "(reported)"
        if r.low is None:
            return f"<= {r.high:.3g}"
        if r.high is None:
            return f">= {r.low:.3g}"
        return f"{r.low:.3g} - {r.high:.3g}"

    def held(r) -> str:
        if r.not_held:
            return "- (not held)"
        if below_size(r.min_banks, resolved.n_banks):
            return f"- ({r.min_banks}+ banks)"
        return "-" if r.ok is None else ("pass" if r.ok else "FAIL")

    rows = [(r.fact, "n/a" if r.value is None else f"{r.value:.4g}", band(r), r.unit,
             held(r), r.reference) for r in results]
    print(f"{resolved.n_banks} banks, {args.episodes} episode(s) from seed {args.seed}, policy {args.policy}, "
          f"env: {path or 'built-in default'}")
    print(table(("fact", "value", "band", "unit", "", "reference"), rows))
    reasons: dict[str, list[str]] = {}
    for r in results:
        if r.not_held:
            reasons.setdefault(r.not_held, []).append(r.fact)
    for reason, names in reasons.items():
        print(f"\nnot held here ({', '.join(names)}): {reason}")
    print("\n" + "\n".join(f"  {name}: {text}" for name, text in how.items()))
    return 0


def _central_bank_command(args: argparse.Namespace) -> int:
    from interbank.cli_central_bank import cmd_evaluate_central_bank

    return cmd_evaluate_central_bank(args)


COMMANDS = {
    "facts": cmd_facts,
    "experiment": cmd_experiment,
    "serve": cmd_serve, "replay": cmd_replay,
    "simulate": cmd_simulate, "schema": cmd_schema, "bench": cmd_bench, "train": cmd_train, "evaluate": cmd_evaluate,
    "export": cmd_export, "search-rules": cmd_search_rules,
    "evaluate-central-bank": _central_bank_command,
}



def _user_errors() -> tuple[type[Exception], ...]:
    """The errors that name a user's mistake (a config, a run folder or checkpoint, an output path,
    a policy): each command reports the ones it expects; ``main`` reports any other in one line
    (imported only then: the command line starts without them)."""
    from interbank.config import ConfigError
    from interbank.evaluate.compare import CompareError
    from interbank.files import WriteError
    from interbank.jsonl import JsonlError
    from interbank.run_folder import RunFolderError  # (CheckpointError is one)

    return ConfigError, RunFolderError, WriteError, CompareError, JsonlError


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:  # (Ctrl-C while the command's modules load)
        print("interbank: interrupted", file=sys.stderr)
        return 130


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args, extra = parser.parse_known_args(argv)
    if extra:  # (argparse's own message would come from the top parser, naming no command)
        fail(f"{args.command + ': ' if args.command else ''}unrecognized arguments: {' '.join(extra)} (see --help)")
    args.command_line = "interbank " + shlex.join(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print("interbank: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as err:
        if not isinstance(err, _user_errors()):
            raise
        # a user mistake a command did not catch itself: one line, never a traceback
        fail(f"{args.command}: {str(err).splitlines()[0] if str(err) else type(err).__name__}")


if __name__ == "__main__":
    sys.exit(main())
