"""How long a test waits for a condition before it calls it a hang.

Tests wait for conditions, never for fixed times; each wait still needs an end, so that a real
hang fails instead of stalling the suite. That end is this one deadline, generous enough that a
busy machine (the suite beside 6 busy processes on 2 cores) never reaches it: it guards against
hangs, it is not a performance expectation. ``INTERBANK_TEST_HANG_S`` changes it.
"""

import os

HANG_S = float(os.environ.get("INTERBANK_TEST_HANG_S", "900"))
HANG_MS = HANG_S * 1000  # for Playwright
