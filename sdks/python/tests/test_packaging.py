"""The package builds offline into a wheel that ships its type marker and the `stun` entry point, and
the sync and async clients keep one API (same methods, same parameters)."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from stun_client import AsyncStunClient, AsyncTaskHandle, StunClient, TaskHandle

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_builds_offline_with_py_typed_and_entry_point(tmp_path: Path) -> None:
    env = {**os.environ, "PIP_RETRIES": "0", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    p = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stderr
    wheel = next(tmp_path.glob("stun_client-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "stun_client/py.typed" in names and "stun_client/_wire.py" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "stun = stun_client.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def public(cls: type) -> dict[str, inspect.Signature]:
    return {n: inspect.signature(f) for n, f in vars(cls).items() if not n.startswith("_") and callable(f) and n not in ("close", "aclose")}


def test_sync_and_async_clients_have_one_api() -> None:
    assert public(StunClient).keys() == public(AsyncStunClient).keys()
    for name, sig in public(StunClient).items():
        other = public(AsyncStunClient)[name]
        assert list(sig.parameters) == list(other.parameters), name
    assert public(TaskHandle).keys() == public(AsyncTaskHandle).keys()
