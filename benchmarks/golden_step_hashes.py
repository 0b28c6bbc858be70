"""Golden hashes of seeded episodes, to check that a change to the core leaves every result as it was.

    .venv/bin/python benchmarks/golden_step_hashes.py OUT.json            # hashes of this checkout
    .venv/bin/python benchmarks/golden_step_hashes.py --compare A.json B.json

Runs seeded episodes (default and stress configs at 20 and 1,000 banks with the lend_surplus,
random and heuristic policies through the env with events on; the core alone with random valid
actions at 1,000 and 10,000 banks, including an Erdos-Renyi network and Eisenberg-Noe clearing)
and records, after reset and after every step, a SHA-256 of the balance sheets, prices, income
lines, sector accounts, cached ratios and the mask (``pub``), of the ledger and relationships in
their stored order (``internal``), of the events (env runs) and of the rewards, observations and
step outcome. Same seed, same result: two checkouts agree when ``--compare`` prints IDENTICAL.
Takes about 20 seconds. Used for the speed-ups of issue 19 (against edebdeb).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys

import numpy as np

from interbank.config import load_env_config, resolve_env_config
from interbank.envs.interbank_env import InterbankEnv
from interbank.policies import make_policy
from interbank.policies.base import batch_actions
from interbank.sim.events import dumps
from interbank.sim.system import BankingSystem


def h_arrays(h, *arrs):
    for a in arrs:
        a = np.ascontiguousarray(a)
        h.update(str(a.dtype).encode())
        h.update(str(a.shape).encode())
        h.update(a.tobytes())


def state_hash(s):
    h = hashlib.sha256()
    h_arrays(h, s.cash, s.book, s.deposits, s.cb_loans, s.holdings, s.basis, s.price, s.log_value, s.transient,
             s.active, s.defaulted, s.deleted, s.frozen, s.counterparty_losses, s.deposits0, s.priorities,
             s.equity(), s.loans_out(), s.borrowings(), s.last_return, s.action_mask(),
             s.capital_ratio(), s.liquidity_coverage())
    for k in sorted(s.income): h_arrays(h, s.income[k])
    for k, v in s.funding.items(): h_arrays(h, np.asarray(v))
    a = s.accounts
    h.update(repr((a.households, a.central_bank, a.investors_cash, a.investors_book, a.shareholders,
                   sorted(a.exogenous.items()), s.external_losses, s.fire_sales, s.book_sales, s.cb_lent,
                   s.market_rate, s.total_defaults, s.cascades, sorted(s.default_causes.items()),
                   sorted(s.liquidity_sources.items()))).encode())
    h_arrays(h, a.investors_units)
    pub = h.hexdigest()
    h2 = hashlib.sha256()
    led = s.ledger
    h_arrays(h2, led.lender, led.borrower, led.amount, led.rate, led.due, s.relationships.key, s.relationships.last)
    return pub, h2.hexdigest()


def env_run(cfg, policy, seed, events):
    env = InterbankEnv(cfg, record_events=events)
    pol = make_policy(policy, seed) if policy == "random" else make_policy(policy)
    pol.reset(seed)
    env.reset(seed=seed)
    s = env.system
    out = []
    def rec(extra):
        ev = hashlib.sha256("\n".join(dumps(e) for e in env.drain_events()).encode()).hexdigest()
        pub, internal = state_hash(s)
        out.append([pub, internal, ev, extra])
    rec("")
    while env.agents:
        b = env.step_batch(batch_actions(pol, env))
        h = hashlib.sha256()
        h_arrays(h, b.rewards, b.terminated, b.acted, b.executed, b.invalid, b.priority, b.components,
                 env.observation_array())
        rec(h.hexdigest())
    return out


def core_run(cfg, seed, steps):
    s = BankingSystem(cfg, record_events=False)
    s.reset(seed)
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(steps):
        acts = np.argmax(rng.random((s.n, 5)) * s.action_mask(), axis=1)
        o = s.step(acts)
        h = hashlib.sha256()
        h_arrays(h, o.executed, o.invalid, o.new_defaults, o.shortfall)
        out.append(list(state_hash(s)) + [h.hexdigest()])
        if s.done:
            break
    return out


def main(path):
    res = {}
    base = {"default": load_env_config("configs/default.yaml"), "stress": load_env_config("configs/stress.yaml")}
    for cname, c in base.items():
        for n in (20, 1000):
            cfg = resolve_env_config(c, n_banks=n)
            for pol in ("lend_surplus", "random", "heuristic"):
                for seed in ((0, 3) if n == 20 else (1,)):
                    key = f"{cname}/{n}/{pol}/{seed}"
                    res[key] = env_run(cfg, pol, seed, events=True)
                    print(key, len(res[key]), res[key][-1][0][:12], flush=True)
    for cname, extra in (("default", {}), ("stress", {}), ("default", {"network.type": "erdos_renyi"}),
                         ("stress", {"clearing.model": "eisenberg_noe"})):
        for n, steps in ((1000, 100), (10000, 30)):
            cfg = resolve_env_config(base[cname], n_banks=n, max_steps=steps + 1, **extra)
            key = f"core/{cname}/{extra}/{n}"
            res[key] = core_run(cfg, 5, steps)
            print(key, len(res[key]), res[key][-1][0][:12], flush=True)
    json.dump(res, open(path, "w"))


def compare(a_path: str, b_path: str) -> int:
    a, b = (json.load(open(p)) for p in (a_path, b_path))
    bad = 0
    for key in a:
        if key not in b or len(a[key]) != len(b[key]):
            print("differs in length or missing:", key)
            bad += 1
            continue
        for i, (x, y) in enumerate(zip(a[key], b[key])):
            if x != y:
                print("DIFF", key, "step", i, "columns", [j for j in range(len(x)) if x[j] != y[j]])
                bad += 1
                break
    print("IDENTICAL" if not bad else f"{bad} runs differ", f"({len(a)} runs)")
    return 1 if bad else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--compare", action="store_true")
    args = parser.parse_args()
    if args.compare:
        sys.exit(compare(*args.paths))
    main(args.paths[0])
