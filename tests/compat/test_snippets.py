"""The "use it with ..." snippets (docs/compat/*.py) run as a user would, each in its own process.

Each snippet must exit 0 and report ``learning_steps=N`` with N > 0; the env's step is counted
from outside (a patched ``InterbankEnv.step``), and the run must have seen at least one default
(the stress scenario) and a few hundred bank-steps. A snippet whose library is not installed is
skipped: SuperSuit, TorchRL and RLlib come with ``pip install -e '.[test,ray]'`` (``make install``);
AgileRL and BenchMARL each need an environment of their own (``make compat``: AgileRL pins pettingzoo<1.27
and tensordict 0.13, BenchMARL torchrl<0.12), marked ``compat``; there (INTERBANK_REQUIRE_COMPAT set) a
missing library fails the test instead.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.deadlines import HANG_S

ROOT = Path(__file__).resolve().parents[2]

# the harness: count every bank-step and default the snippet's env makes, then run the snippet
DRIVER = """
import atexit, json, runpy, sys
import interbank.envs.interbank_env as m
counts = {"bank_steps": 0, "defaults": 0, "episodes_ended": 0}
step = m.InterbankEnv.step
def counted(self, actions):
    out = step(self, actions)
    counts["bank_steps"] += len(out[2])
    counts["defaults"] += sum(bool(t) for t in out[2].values())
    counts["episodes_ended"] += bool(out[2]) and not self.agents
    return out
m.InterbankEnv.step = counted
atexit.register(lambda: print("COUNTS " + json.dumps(counts), flush=True))
sys.argv = [sys.argv[1]]
sys.path.insert(0, sys.argv[0].rsplit("/", 1)[0])  # as `python docs/compat/x.py` does: helpers next to it import
runpy.run_path(sys.argv[0], run_name="__main__")
"""

SNIPPETS = [
    pytest.param("supersuit_sb3_ppo.py", ("supersuit", "stable_baselines3"), id="supersuit-sb3"),
    pytest.param("torchrl_ippo.py", ("torchrl", "tensordict"), id="torchrl"),
    pytest.param("rllib_ppo.py", ("ray.rllib",), id="rllib"),
    pytest.param("agilerl_ippo.py", ("agilerl",), id="agilerl", marks=pytest.mark.compat),
    pytest.param("benchmarl_ippo.py", ("benchmarl",), id="benchmarl", marks=pytest.mark.compat),
]


def _missing(modules: tuple[str, ...]) -> list[str]:
    missing = []
    for name in modules:
        try:
            if importlib.util.find_spec(name) is None:
                missing.append(name)
        except ModuleNotFoundError:
            missing.append(name)
    return missing


@pytest.mark.parametrize(("snippet", "modules"), SNIPPETS)
def test_snippet_trains_on_the_stress_scenario(snippet, modules, tmp_path):
    missing = _missing(modules)
    if missing:
        if os.environ.get("INTERBANK_REQUIRE_COMPAT"):  # make compat: there a missing library is a failed install
            pytest.fail(f"{', '.join(missing)} not installed in this environment (make compat-install)")
        pytest.skip(f"{', '.join(missing)} not installed (see docs/trainers.md)")
    # Ray's socket paths must stay under 107 bytes: a short folder, not pytest's deep tmp_path
    ray_tmp = tempfile.mkdtemp(prefix="ray", dir="/tmp")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "RAY_TMPDIR": ray_tmp, "OMP_NUM_THREADS": "1"}
    try:
        proc = subprocess.run([sys.executable, "-c", DRIVER, str(ROOT / "docs" / "compat" / snippet)], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=HANG_S, check=False)
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    learned = re.findall(r"^learning_steps=(\d+)$", proc.stdout, re.MULTILINE)
    counts = json.loads(re.findall(r"^COUNTS (.*)$", proc.stdout, re.MULTILINE)[-1])
    assert learned and int(learned[-1]) > 0, proc.stdout[-2000:]
    assert counts["bank_steps"] >= 300, counts
    assert counts["defaults"] >= 1, counts
