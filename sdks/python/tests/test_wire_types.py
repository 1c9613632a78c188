"""src/stun_client/_wire.py is what scripts/generate_types.py makes from the running server's OpenAPI
document: a route or schema change on the server fails here until the file is regenerated (and then
mypy, tests/test_typing.py, flags every SDK read of a field that changed)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from stun_client import StunClient

ROOT = Path(__file__).resolve().parent.parent


def load_generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("generate_types", ROOT / "scripts" / "generate_types.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["generate_types"] = mod
    spec.loader.exec_module(mod)
    return mod


def test_generated_wire_types_are_up_to_date(client: StunClient) -> None:
    gen = load_generator()
    doc = client.openapi()
    expected = gen.generate(doc)
    current = (ROOT / "src" / "stun_client" / "_wire.py").read_text("utf-8")
    assert current == expected, "src/stun_client/_wire.py is stale: run `python scripts/generate_types.py --url <server>` in sdks/python"


def test_every_sdk_route_is_in_the_document(client: StunClient) -> None:
    paths = client.openapi()["paths"]
    for path, method in [("/api/v1/tasks", "post"), ("/api/v1/tasks/{id}", "get"), ("/api/v1/models", "post"), ("/api/v1/faucet", "post"), ("/api/v1/accounts/me/ledger", "get")]:
        assert method in paths[path]
    # The long-poll parameter the SDK sends.
    assert any(p["name"] == "wait" for p in paths["/api/v1/tasks/{id}"]["get"]["parameters"])
