"""interbank: a reinforcement-learning environment and training suite for interbank networks.

Subpackages: ``sim`` (pure numpy core), ``envs`` (PettingZoo env), ``policies``
(baselines and the policy interface), and the command line in ``cli``.
Importing this package imports nothing heavy.
"""

__version__ = "0.1.0"
