"""The package is typed: mypy --strict passes over it, which also checks that every field the SDK
reads exists, with that type, in the wire TypedDicts generated from the OpenAPI document."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_mypy_strict() -> None:
    p = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir", os.devnull, "src/stun_client"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr


def test_py_typed_marker_ships() -> None:
    assert (ROOT / "src" / "stun_client" / "py.typed").exists()


def test_ruff_lint_and_format() -> None:
    for args in (["check", "--no-cache", "src", "tests", "scripts"], ["format", "--no-cache", "--check", "src", "tests", "scripts"]):
        p = subprocess.run([sys.executable, "-m", "ruff", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stdout + p.stderr
