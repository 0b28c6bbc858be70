"""Action and priority vocabularies shared by the core, the env and the policies.

Actions (``Discrete(5)``, fixed order). Counterparty, market and amount follow
these seeded rules (sizes from ``ActionConfig``; ``risk`` is the bank's risk
factor, ``spare`` its cash above the reserve requirement at the start of the step):

=====  ========  ==========================================================  =============================
index  name      effect                                                      masked when
=====  ========  ==========================================================  =============================
0      LEND      offers ``lend_fraction * (0.5 + risk) * spare`` to the       capital ratio below the
                 funding market; what banks short of reserves request is      minimum, or amount too small
                 matched to it (existing counterparties first, then new
                 ones, ``interbank.sim.funding``); the rest stays cash
1      BORROW    refuses to roll over ``call_fraction`` of every loan out:   nothing lent out above the
                 it is due now; a borrower short of cash turns to the         minimum trade
                 funding market, fire sales, the central bank
2      INVEST    buys ``invest_fraction * (0.5 + risk) * spare`` of one      capital ratio below the
                 market, drawn with probability softmax(momentum /            minimum, or amount too small
                 temperature)
3      DIVEST    sells ``divest_fraction`` of its largest market position    no position above the minimum
4      HOLD      nothing                                                      never
=====  ========  ==========================================================  =============================

"Too small" means below ``min_trade`` times the bank's initial capital.
BORROW is the seed's DECREASE_LENDING.
"""

from __future__ import annotations

ACTIONS: tuple[str, ...] = ("LEND", "BORROW", "INVEST", "DIVEST", "HOLD")
LEND, BORROW, INVEST, DIVEST, HOLD = range(5)
N_ACTIONS = len(ACTIONS)

PRIORITIES: tuple[str, ...] = ("PROFIT", "LIQUIDITY", "STABILITY")
PROFIT, LIQUIDITY, STABILITY = range(3)

MARKETS: tuple[str, ...] = ("BANK_INDEX", "FIN_SERVICES")
"""The default markets (``markets.names``); a scenario may list others."""
