"""The `stun` console script, as installed ([project.scripts]), against the real server."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
from conftest import need

STUN = str(Path(sys.executable).with_name("stun"))


def stun(args: list[str], tmp: Path, **env: str) -> subprocess.CompletedProcess[str]:
    e = {k: v for k, v in os.environ.items() if k not in ("STUN_API_KEY", "STUN_SERVER")}
    e.update({"HOME": str(tmp), "STUN_CONFIG": str(tmp / "config.json"), **env})
    return subprocess.run([STUN, *args], capture_output=True, text=True, env=e, cwd=tmp, timeout=300)


def ok(p: subprocess.CompletedProcess[str]) -> Any:
    assert p.returncode == 0, f"exit {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}"
    return json.loads(p.stdout) if p.stdout.strip().startswith(("{", "[")) else p.stdout


def test_cli_account_models_tasks_receipt(server_url: str, tmp_path: Path, reference: dict[str, Any]) -> None:
    created = ok(stun(["account", "create", "--server", server_url, "--json"], tmp_path))
    assert created["accountId"].startswith("acc_")
    config = tmp_path / "config.json"
    assert json.loads(config.read_text())["apiKey"] == created["apiKey"]
    assert stat.S_IMODE(config.stat().st_mode) == 0o600  # it holds a secret

    assert ok(stun(["faucet", "100000", "--json"], tmp_path))["balance"] == "100000"
    shown = ok(stun(["account", "show"], tmp_path))
    assert "balance" in shown and "100000" in shown

    model = ok(stun(["models", "upload", need("STUN_CLI_MLP_PATH"), "--json"], tmp_path))
    assert model["inputs"][0]["name"] == "x"
    assert model["id"] in ok(stun(["models", "list"], tmp_path))

    r = reference["cli"]
    np.save(tmp_path / "x.npy", np.array(r["x"], dtype=np.float32).reshape(r["dims"]))
    done = ok(stun(["tasks", "submit", "--model", model["id"], "--input", "x=x.npy", "--verification", "none", "--wait", "--output-dir", "out", "--json"], tmp_path))
    assert done["status"] == "completed"
    y = np.load(tmp_path / "out" / "y.npy")
    np.testing.assert_allclose(y.reshape(-1), np.array(r["y"], dtype=np.float32), rtol=1e-5, atol=1e-6)

    # Inline JSON input (a nested list takes the model's dtype), printed as text.
    text = ok(stun(["tasks", "submit", "-m", model["id"], "-i", f"x=@{json.dumps([r['x']])}", "--verification", "none", "--wait"], tmp_path))
    assert "completed" in text

    got = ok(stun(["tasks", "get", done["id"], "--json"], tmp_path))
    assert got["id"] == done["id"] and got["status"] == "completed"
    receipt = ok(stun(["receipt", done["id"], "--json"], tmp_path))
    assert receipt["taskId"] == done["id"] and receipt["modelSha256"] == model["sha256"]
    assert done["id"] in ok(stun(["tasks", "list"], tmp_path))


def test_cli_errors_and_usage(server_url: str, tmp_path: Path) -> None:
    missing = stun(["tasks", "get", "tsk_doesnotexist", "--server", server_url, "--api-key", need("STUN_API_KEY")], tmp_path)
    assert missing.returncode == 1 and "error TASK_NOT_FOUND" in missing.stderr
    no_key = stun(["account", "show", "--server", server_url], tmp_path)
    assert no_key.returncode == 1 and "NO_API_KEY" in no_key.stderr
    assert stun(["faucet", "-5", "--server", server_url, "--api-key", "k"], tmp_path).returncode == 2
    assert stun(["nonsense"], tmp_path).returncode == 2
    health = ok(stun(["health", "--server", server_url, "--json"], tmp_path))
    assert health["status"] == "ok" and health["providers_online"] >= 1
