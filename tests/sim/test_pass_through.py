"""The policy rate passes through to what deposits pay and the loan book yields only when configured;
by default the customers' rates are fixed and nothing changes."""

import numpy as np
import pytest

from interbank.config import EnvConfig
from interbank.sim.phases import customer_rates
from interbank.sim.system import BankingSystem


def system(**central_bank) -> BankingSystem:
    s = BankingSystem(EnvConfig.model_validate({"n_banks": 8, "max_steps": 10, "central_bank": central_bank}),
                      record_events=False)
    s.reset(seed=3)
    return s


def test_by_default_the_customer_rates_ignore_the_policy_rate_and_the_config_dumps_as_before():
    s = system()
    s.set_policy_rate(0.06)
    r = s.config.rates
    assert customer_rates(s.state, s.params) == (r.deposit, r.book)
    assert not {"deposit_pass_through", "book_pass_through"} & set(s.config.model_dump()["central_bank"])


def test_a_rate_move_passes_through_by_the_configured_coefficients():
    s = system(deposit_pass_through=0.4, book_pass_through=0.8)
    r = s.config.rates
    s.set_policy_rate(0.03)  # +1 point from the configured 2%
    deposit, book = customer_rates(s.state, s.params)
    assert deposit == pytest.approx(r.deposit + 0.004) and book == pytest.approx(r.book + 0.008)
    s.set_policy_rate(0.0)  # a cut deeper than the deposit rate: deposits pay nothing, not less
    assert customer_rates(s.state, s.params)[0] == 0.0


def test_depositors_earn_more_after_a_hike_when_deposit_rates_follow():
    paid = []
    for beta in (0.0, 1.0):
        s = system(deposit_pass_through=beta)
        s.set_policy_rate(0.05)
        before = s.state.accounts.households
        s.step(np.full(s.n, 4))
        paid.append(s.state.accounts.households - before)
    assert paid[1] > paid[0]
