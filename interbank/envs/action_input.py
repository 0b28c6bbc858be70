"""What counts as an action of a ``Discrete(n)`` space, for the banks and the central bank alike.

Only integers are actions (a Python or numpy integer, or a one-element integer array): a float
such as 2.7, a bool or a string is not truncated or parsed into one. Anything else reads as -1,
which the env treats as a masked action (HOLD, reported in ``infos[agent]["invalid_action"]``).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def discrete_action(action: Any, n: int) -> int:
    """``action`` as an int in [0, n), or -1 when it is not one (see the module docstring)."""
    if isinstance(action, (str, bytes)):
        return -1
    try:
        arr = np.asarray(action)
    except (TypeError, ValueError):  # (a ragged sequence)
        return -1
    if arr.size != 1 or arr.dtype.kind not in "iu":
        return -1
    value = int(arr.reshape(()))
    return value if 0 <= value < n else -1
