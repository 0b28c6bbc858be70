import subprocess
import sys

FORBIDDEN = [
    "pettingzoo", "gymnasium", "torch", "stable_baselines3", "fastapi", "starlette", "uvicorn",
    "sse_starlette", "aiohttp", "requests", "pydantic", "yaml", "tqdm",
]


def test_importing_the_core_imports_no_framework_library():
    code = (
        "import sys, interbank.sim, interbank.sim.clearing, interbank.sim.events, interbank.sim.network;"
        f"bad = [m for m in {FORBIDDEN!r} if m in sys.modules];"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"interbank.sim imported: {out.stdout.strip()}"


def test_core_runs_with_a_plain_attribute_config_and_no_pydantic_import():
    code = (
        "import sys, numpy as np\n"
        "from interbank.sim import BankingSystem\n"
        "sys.modules['pydantic'] = None  # any import of it now fails\n"
        "sys.modules['yaml'] = None\n"
        "from interbank.config import EnvConfig\n"
    )
    # importing the config module needs pydantic: the core itself must not
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "BankingSystem" not in out.stderr
    assert "ImportError" in out.stderr or "ModuleNotFoundError" in out.stderr
