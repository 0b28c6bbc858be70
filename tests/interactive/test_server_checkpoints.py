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
    proc, base = serve("--checkpoints", str(folder))
    try:
        listed = httpx.get(base + "/api/checkpoints", timeout=HANG_S).json()
        assert listed["checkpoints"] == ["good"] and listed["central_bank"] == []
        for name in ("corrupt", "other_features", "empty"):
            r = httpx.post(base + "/api/interactive/start", json={"checkpoint": name, "n_banks": 4, "steps": 2},
                           timeout=HANG_S)
            assert r.status_code == 422 and r.json()["error"].startswith(f"checkpoint {name!r}"), r.text
        r = httpx.post(base + "/api/interactive/start", json={"checkpoint": "good", "n_banks": 4, "steps": 2, "speed": 0},
                       timeout=HANG_S)
        assert r.status_code == 201, r.text
    finally:
        stop(proc)
