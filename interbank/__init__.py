"""interbank: a reinforcement-learning environment and training suite for interbank networks.

Subpackages: ``sim`` (pure numpy core), ``envs`` (PettingZoo env), ``policies``
(baselines and the policy interface), ``train``, ``evaluate``, ``interactive``
(runner, server and web page), ``experiments``, and the command line in ``cli``.
Importing this package imports nothing heavy.

Imports flow one way: ``sim`` <- ``envs`` <- ``policies`` <- ``train`` /
``evaluate`` / ``interactive`` <- ``cli``. The core imports no framework (no
torch, PettingZoo, web or YAML: ``tests/sim/test_import_purity.py``); ``train``,
``evaluate`` and ``interactive`` are siblings: evaluation and training never
import each other, nor do the interactive runner and evaluation
(``tests/test_import_rules.py``).
"""

__version__ = "0.1.0"
