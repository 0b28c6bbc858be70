"""Property tests on random scenarios: accounting, ledger, masks, terminations, finiteness."""

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from interbank.envs import parallel_env
from interbank.sim.actions import HOLD


@st.composite
def scenarios(draw):
    lev_low = draw(st.floats(2, 20))
    return {
        "n_banks": draw(st.integers(2, 14)),
        "max_steps": draw(st.integers(5, 40)),
        "generation": {
            "leverage_low": lev_low, "leverage_high": lev_low + draw(st.floats(0, 15)),
            "capital_sigma": draw(st.floats(0, 1.5)),
        },
        "network": {
            "type": draw(st.sampled_from(["erdos_renyi", "scale_free", "core_periphery"])),
            "avg_degree": draw(st.floats(0, 8)),
        },
        "balance_sheet": {
            "interbank_share": draw(st.floats(0, 0.6)), "market_share": draw(st.floats(0, 0.6)),
            "book_share": draw(st.floats(0, 0.9)),
        },
        "deposit_flows": {"volatility": draw(st.floats(0, 0.3))},
        "central_bank": {"enabled": draw(st.booleans())},
        "markets": {"depth_fraction": draw(st.floats(0.2, 5)), "volatility": draw(st.floats(0, 0.1))},
        "shocks": {
            "crash_prob": draw(st.floats(0, 0.3)), "crash_size": draw(st.floats(0, 0.6)),
            "withdrawal_prob": draw(st.floats(0, 0.3)), "withdrawal_size": draw(st.floats(0, 1)),
        },
        "clearing": {"model": draw(st.sampled_from(["eisenberg_noe", "rogers_veraart", "fixed_recovery"]))},
        "rates": {"deposit": draw(st.floats(0, 0.05)), "book": draw(st.floats(-0.05, 0.1))},
    }


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.integers(0, 2**31 - 1))
def test_random_scenarios_keep_every_invariant(config, seed):
    env = parallel_env(config, record_events=True)
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    gone: set[str] = set()
    while env.agents:
        masks = {a: obs[a]["action_mask"].copy() for a in env.agents}
        actions = {a: int(rng.integers(0, 5)) for a in env.agents}  # masked actions too
        live = list(env.agents)
        obs, rewards, terms, truncs, infos = env.step(actions)
        events = env.drain_events()
        # a gone bank never acts again and never reappears
        assert not gone & set(live)
        for e in events:
            if e["type"] == "transaction":
                bank = e["data"]["bank"]
                assert bank not in gone
                # masked actions are never executed
                idx = ["LEND", "BORROW", "INVEST", "DIVEST"].index(e["data"]["action"])
                assert masks[bank][idx] == 1 and actions[bank] == idx
        for a in live:
            if not masks[a][actions[a]]:
                assert infos[a]["invalid_action"] == 1 and infos[a]["action"] == HOLD
            assert math.isfinite(rewards[a])
            assert np.isfinite(obs[a]["observation"]).all()
            assert env.observation_space(a)["observation"].contains(obs[a]["observation"])
        gone |= {a for a in live if terms[a]}
        (end,) = [e["data"] for e in events if e["type"] == "step_end"]
        assert len(end["banks"]) == env.system.n
        lent = borrowed = 0.0
        for b in end["banks"]:
            for key in ("cash", "book", "loans_out", "borrowings", "deposits", "central_bank_loans", "equity"):
                assert math.isfinite(b[key])
            assets = b["cash"] + b["book"] + b["loans_out"] + sum(b["investments"].values())
            lhs = assets - b["borrowings"] - b["deposits"] - b["central_bank_loans"]
            # the balance-sheet identity, relative tolerance 1e-9
            assert math.isclose(lhs, b["equity"], rel_tol=1e-9, abs_tol=1e-9 * max(1.0, assets))
            assert b["defaulted"] == (b["id"] in gone)
            if not (b["defaulted"] or b["deleted"]):
                lent += b["loans_out"]
                borrowed += b["borrowings"]
        # the ledger is double-entry: loans out equal borrowings
        assert math.isclose(lent, borrowed, rel_tol=1e-9, abs_tol=1e-9)
        bs = env.system.balance_sheet()
        assert math.isclose(bs["loans_out"].sum(), bs["borrowings"].sum(), rel_tol=1e-9, abs_tol=1e-9)
        assert np.isfinite(env.state()).all()
