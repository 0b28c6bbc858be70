"""The RLlib backend on a real local Ray cluster (a head on 127.0.0.1 that the run joins by address)."""

import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

from interbank.cli import main
from tests.deadlines import HANG_S
from tests.interactive.conftest import free_port

TINY = {
    "env": {"n_banks": 6, "max_steps": 20, "seed": 0},
    "train": {"total_timesteps": 600, "net_arch": [16, 16], "seed": 0, "checkpoint_every": 1},
    "rllib": {"num_env_runners": 2, "train_batch_size": 300, "minibatch_size": 150, "num_epochs": 1},
}


def cli(*args: str) -> subprocess.CompletedProcess:
    """Run `interbank ...` in its own process: a Ray driver never lives inside the test worker,
    so stopping the cluster cannot take the test process down with it."""
    return subprocess.run([sys.executable, "-m", "interbank.cli", *args], capture_output=True, text=True, timeout=HANG_S)


def _stop_cluster(temp, port: int) -> None:
    """Stop only this test's cluster (every process of it names its session folder under ``temp``, or,
    as its client server does, its head's ``port``); `ray stop` would stop every Ray process on the
    machine, a parallel test's cluster included."""
    import psutil

    mine = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            cmdline = proc.info["cmdline"] or []
            if any(str(temp) in part or (part.startswith("--address=") and part.endswith(f":{port}")) for part in cmdline):
                mine.append(proc)
                mine.extend(proc.children(recursive=True))
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    mine = list({p.pid: p for p in mine}.values())
    for proc in mine:
        try:
            proc.terminate()
        except psutil.NoSuchProcess:
            pass
    # then killed: a throwaway cluster has nothing to save, and one of Ray's processes lets SIGTERM wait
    # out the whole grace (60 s of the suite's time before)
    _, alive = psutil.wait_procs(mine, timeout=5)
    for proc in alive:
        proc.kill()
    psutil.wait_procs(alive, timeout=HANG_S)


def _ray_bin():
    return shutil.which("ray") or os.path.join(os.path.dirname(sys.executable), "ray")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    pytest.importorskip("ray", reason='Ray is an optional extra: pip install -e ".[ray]"')
    port = free_port()
    temp = tmp_path_factory.mktemp("ray")
    # a throwaway cluster on loopback: no token authentication, so the test leaves no token behind
    saved = {k: os.environ.get(k) for k in ("RAY_AUTH_MODE", "RAY_DISABLE_USAGE_STATS")}
    os.environ.update(RAY_AUTH_MODE="disabled", RAY_DISABLE_USAGE_STATS="1")
    env = dict(os.environ)
    subprocess.run(
        [_ray_bin(), "start", "--head", f"--port={port}", "--node-ip-address=127.0.0.1", "--num-cpus=3",
         "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp}"],
        check=True, env=env, capture_output=True, timeout=HANG_S,
    )
    try:
        yield f"127.0.0.1:{port}"
    finally:
        _stop_cluster(temp, port)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="module")
def run(cluster, tmp_path_factory):
    root = tmp_path_factory.mktemp("rllib")
    cfg = root / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(TINY))
    out = root / "run"
    proc = cli("train", "--backend", "rllib", "--config", str(cfg), "--out", str(out), "--address", cluster,
               "--num-env-runners", "2", "--no-progress")
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out


def test_two_iterations_on_the_cluster_land_in_the_usual_run_folder(run):
    steps = sorted(int(p.name) for p in (run / "checkpoints").iterdir())
    # a checkpoint per iteration; each iteration samples 50 env steps = at most 300 bank-decisions
    # (fewer when banks default), so 600 decisions take at least two iterations
    assert len(steps) >= 2 and steps[-1] >= 600
    assert all(0 < later - earlier <= 300 for earlier, later in zip([0, *steps], steps))
    last = run / "checkpoints" / str(steps[-1])
    assert {p.name for p in last.iterdir()} == {"policy.safetensors", "policy.json", "trainer.safetensors", "trainer.json"}
    meta = json.loads((last / "policy.json").read_text())
    assert meta["train"]["backend"] == "rllib" and meta["train"]["algorithm"] == "rllib_ppo"
    assert meta["train"]["iteration"] == len(steps)
    config = yaml.safe_load((run / "config.yaml").read_text())
    # the run records the backend, the algorithm really used and the flags, so --resume needs none of them again
    assert config["train"]["backend"] == "rllib" and config["train"]["algorithm"] == "rllib_ppo"
    assert config["rllib"]["num_env_runners"] == 2 and config["rllib"]["address"].startswith("127.0.0.1:")
    trainer = json.loads((last / "trainer.json").read_text())
    assert trainer["backend"] == "rllib" and "exp_avg_sq" in json.dumps(trainer["state"])  # the optimizer state
    assert list((run / "tb").rglob("events.out.tfevents.*"))


def test_the_exported_checkpoint_evaluates_and_replays(run, tmp_path):
    assert main(["evaluate", str(run), "--episodes", "2", "--out", str(tmp_path / "ev"), "--no-plots", "--no-progress"]) == 0
    assert "trained" in json.loads((tmp_path / "ev" / "metrics.json").read_text())["policies"]
    events = tmp_path / "run.jsonl"
    assert main(["replay", str(run), "--no-interactive", "--steps", "5", "--events", str(events)]) == 0
    assert main(["replay", "--events", str(events), "--verify"]) == 0


def test_evaluation_over_ray_workers_equals_a_local_one(run, cluster, tmp_path):
    base = ["evaluate", str(run), "--episodes", "3", "--no-plots", "--no-progress"]
    assert main([*base, "--out", str(tmp_path / "local")]) == 0
    proc = cli(*base, "--out", str(tmp_path / "ray"), "--backend", "rllib", "--address", cluster)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "local" / "metrics.json").read_bytes() == (tmp_path / "ray" / "metrics.json").read_bytes()


def test_resume_loads_the_saved_weights_and_optimizer_and_continues_the_count(run, cluster):
    import numpy as np
    from safetensors.numpy import load_file

    before = max(int(p.name) for p in (run / "checkpoints").iterdir())
    proc = cli("train", "--out", str(run), "--resume", "--timesteps", "900", "--no-progress")  # no repeated flags
    assert proc.returncode == 0, proc.stderr[-2000:]
    after = max(int(p.name) for p in (run / "checkpoints").iterdir())
    assert before < 900 <= after  # the count went on from the saved step to the new total
    old = load_file(str(run / "checkpoints" / str(before) / "policy.safetensors"))
    new = load_file(str(run / "checkpoints" / str(before + min(int(p.name) - before for p in (run / "checkpoints").iterdir() if int(p.name) > before)) / "policy.safetensors"))
    # one more iteration moved the weights a little from the saved ones, not from a fresh random start
    diff = np.abs(old["action_net.weight"] - new["action_net.weight"]).max()
    assert 0 < diff < 0.2
    proc = cli("train", "--backend", "sb3", "--out", str(run), "--resume", "--timesteps", "1200", "--no-progress")
    assert proc.returncode == 2
    assert proc.stderr == f"interbank: --resume: {run} was trained with --backend rllib; resume it with the same backend (or leave --backend out)\n"


def test_unreachable_address_and_bad_rllib_keys_are_one_line(tmp_path, capsys):
    pytest.importorskip("ray")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(TINY))
    with pytest.raises(SystemExit):
        main(["train", "--backend", "rllib", "--config", str(cfg), "--out", str(tmp_path / "a"), "--address", "127.0.0.1:1"])
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no Ray cluster answers there" in err
    cfg.write_text(yaml.safe_dump({**TINY, "rllib": {"num_env_runnerz": 2}}))
    with pytest.raises(SystemExit):
        main(["train", "--backend", "rllib", "--config", str(cfg), "--out", str(tmp_path / "b")])
    assert capsys.readouterr().err.strip() == f"interbank: {cfg}: rllib.num_env_runnerz is not a known key"


def test_missing_extra_is_a_one_line_error_with_the_install_command(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(TINY))
    code = ("import sys; sys.modules['ray'] = None\n"
            "from interbank.cli import main\n"
            f"main(['train', '--backend', 'rllib', '--config', {str(cfg)!r}, '--out', {str(tmp_path / 'r')!r}])")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip() == 'interbank: --backend rllib needs Ray RLlib, which is not installed; install it with: pip install -e ".[ray]"'
    assert not (tmp_path / "r").exists()


def test_a_run_whose_algorithm_cannot_be_built_leaves_no_run_folder(tmp_path, monkeypatch):
    pytest.importorskip("ray", reason='Ray is an optional extra: pip install -e ".[ray]"')
    from pathlib import Path

    from interbank.train import rllib_backend

    class NoCluster:  # no Ray started: the build fails before any runner would
        def shutdown(self) -> None:
            pass

    def cannot_build(*args, **kwargs):
        raise RuntimeError("cannot build the algorithm here")

    monkeypatch.setattr(rllib_backend, "connect", lambda *a, **k: NoCluster())
    monkeypatch.setattr(rllib_backend, "_algo_config", cannot_build)
    with pytest.raises(RuntimeError, match="cannot build"):
        rllib_backend.train_rllib(Path("configs/train/smoke.yaml"), tmp_path / "run", 1000, None, None, False, False,
                                  "interbank train", None, None, None)
    assert not (tmp_path / "run").exists()  # nothing written: a new run into it is not refused as "already holds a run"
