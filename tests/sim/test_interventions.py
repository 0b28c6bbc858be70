"""Interventions by hand: what a move of the corridor does to the interbank loans outstanding."""

import numpy as np

from interbank.config import EnvConfig
from interbank.sim.system import BankingSystem


def test_a_cut_reprices_the_loans_above_the_new_lending_facility_at_it_and_a_hike_reprices_none():
    s = BankingSystem(EnvConfig.model_validate({"n_banks": 8, "max_steps": 10}), record_events=False)
    s.reset(seed=3)
    led = s.state.ledger
    assert len(led) >= 3
    ceiling = s.state.lending_rate
    # loans made at 1 point below the ceiling up to the ceiling itself
    led.rate[:] = np.linspace(ceiling - 0.01, ceiling, len(led))
    made = led.rate.copy()
    s.set_policy_rate(s.state.policy_rate - 0.005)  # the corridor down half a point
    new_ceiling = s.state.lending_rate
    assert abs(new_ceiling - (ceiling - 0.005)) < 1e-15
    above = made > new_ceiling
    assert above.any() and (~above).any()
    assert (led.rate[above] == new_ceiling).all()  # refinanced at the facility
    assert (led.rate[~above] == made[~above]).all()  # the others keep their fixed rate
    repriced = led.rate.copy()
    s.set_policy_rate(s.state.policy_rate + 0.01)  # a hike: fixed rates stay as they were made
    assert (led.rate == repriced).all()
    assert (led.rate <= s.state.lending_rate).all()
