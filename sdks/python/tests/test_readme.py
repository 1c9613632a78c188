"""The README's example runs: the block in sdks/python/README.md and the repo README's Python section
are the same code, and it runs against the real server."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SDK_README = HERE.parent / "README.md"
REPO_README = HERE.parent.parent.parent / "README.md"


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_readme_examples_agree() -> None:
    sdk = python_blocks(SDK_README.read_text("utf-8"))
    repo = python_blocks(REPO_README.read_text("utf-8"))
    assert sdk, "sdks/python/README.md has a python example"
    assert sdk[0] in repo, "the repo README's Python section shows the same example"
    assert len(sdk[0].strip().splitlines()) <= 12


def test_readme_example_runs(server_url: str, mlp_path: str, tmp_path: Path) -> None:
    shutil.copy(mlp_path, tmp_path / "mlp.onnx")
    (tmp_path / "example.py").write_text(python_blocks(SDK_README.read_text("utf-8"))[0], "utf-8")
    p = subprocess.run([sys.executable, "example.py"], cwd=tmp_path, capture_output=True, text=True, timeout=180, env={**os.environ, "STUN_URL": server_url})
    assert p.returncode == 0, p.stderr
    numbers = re.findall(r"-?\d+\.\d+", p.stdout)
    assert len(numbers) == 3, p.stdout  # y: one row of 3 logits
