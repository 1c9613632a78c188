"""The suite runs against a real Stun server with a real provider, started by
packages/sdk/test/python.e2e.test.ts (npm test), which passes:

STUN_URL, STUN_API_KEY (a funded requester), STUN_MLP_PATH, STUN_CLI_MLP_PATH (ONNX files),
STUN_REFERENCE (inputs and reference outputs computed by the TypeScript side), STUN_CONFORMANCE_INPUTS.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from stun_client import StunClient


def need(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} is not set: run these tests through `npm test` (packages/sdk/test/python.e2e.test.ts)")
    return value


@pytest.fixture(scope="session")
def server_url() -> str:
    return need("STUN_URL")


@pytest.fixture(scope="session")
def api_key() -> str:
    return need("STUN_API_KEY")


@pytest.fixture(scope="session")
def reference() -> dict[str, Any]:
    with open(need("STUN_REFERENCE"), encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data


@pytest.fixture(scope="session")
def mlp_path() -> str:
    return need("STUN_MLP_PATH")


@pytest.fixture
def client(server_url: str, api_key: str) -> Iterator[StunClient]:
    with StunClient(server_url, api_key) as c:
        yield c


def mlp_input(reference: dict[str, Any], key: str = "mlp") -> np.ndarray[Any, Any]:
    r = reference[key]
    return np.array(r["x"], dtype=np.float32).reshape(r["dims"])


def mlp_expected(reference: dict[str, Any], key: str = "mlp") -> np.ndarray[Any, Any]:
    r = reference[key]
    return np.array(r["y"], dtype=np.float32).reshape(r["dims"][0], -1)


@pytest.fixture
def closed_url() -> str:
    """A URL on which nothing listens (a port bound and released)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"
