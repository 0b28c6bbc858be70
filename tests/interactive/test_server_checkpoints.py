"""GET /api/checkpoints lists exactly the names start accepts: a folder start would refuse (a
corrupt policy, one built for other features, an empty folder) is not offered."""

from __future__ import annotations

import httpx

from tests.deadlines import HANG_S
from tests.interactive.conftest import serve, stop
from tests.policies.test_checkpoint import _write


def test_only_checkpoints_that_start_accepts_are_listed(tmp_path):
    folder = tmp_path / "checkpoints"
    _write(folder / "good")
    (_write(folder / "corrupt") / "policy.safetensors").write_bytes(b"not a safetensors file")
    _write(folder / "other_features", n_features=3, features=["a", "b", "c"])
    (folder / "empty").mkdir()
    _write(folder / "bad_env" / "checkpoints" / "100")  # a good policy in a run whose env start refuses
    (folder / "bad_env" / "config.yaml").write_text("env: {n_banks: 0}\n")
    proc, base = serve("--checkpoints", str(folder))
    try:
        listed = httpx.get(base + "/api/checkpoints", timeout=HANG_S).json()
        assert listed["checkpoints"] == ["good"] and listed["central_bank"] == []
        for name in ("corrupt", "other_features", "empty", "bad_env"):
            r = httpx.post(base + "/api/interactive/start", json={"checkpoint": name, "n_banks": 4, "steps": 2},
                           timeout=HANG_S)
            said = r.json()["error"]  # naming the checkpoint, or its run's config file
            assert r.status_code == 422 and (said.startswith(f"checkpoint {name!r}") or f"/{name}/config.yaml" in said), r.text
        r = httpx.post(base + "/api/interactive/start", json={"checkpoint": "good", "n_banks": 4, "steps": 2, "speed": 0},
                       timeout=HANG_S)
        assert r.status_code == 201, r.text
    finally:
        stop(proc)
