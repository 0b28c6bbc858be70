"""Action and priority vocabularies shared by the core, the env and the policies.

Actions (``Discrete(5)``, fixed order). Counterparty, market and amount follow
these seeded rules (sizes from ``ActionConfig``; ``risk`` is the bank's risk
factor, ``cash`` its cash at the start of the step):

=====  ========  ==========================================================  =============================
index  name      effect                                                      masked when
=====  ========  ==========================================================  =============================
0      LEND      lends ``lend_fraction * (0.5 + risk) * cash`` to one of its  no surviving borrower on its
                 surviving out-neighbours, drawn uniformly (seeded)           out-edges, or amount too small
1      BORROW    calls back ``call_fraction`` of every loan it has out; a    nothing lent out above the
                 borrower short of cash fire-sells, then pays what it can     minimum trade
2      INVEST    buys ``invest_fraction * (0.5 + risk) * cash`` of one       amount too small
                 market; BANK_INDEX with probability
                 sigmoid((momentum_BI - momentum_FS) / temperature)
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
