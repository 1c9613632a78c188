"""Generates ``stun_client/_wire.py`` (TypedDicts of the REST bodies) from the server's OpenAPI document.

Usage::

    python scripts/generate_types.py --url http://localhost:4000      # a running server
    python scripts/generate_types.py --file openapi.json               # a saved document
    python scripts/generate_types.py --url ... --check                 # exit 1 when the file is stale

The SDK reads every REST body through these types and ``mypy --strict`` checks it, so a schema
change on the server shows up as a stale file (tests/test_wire_types.py) and, once regenerated, as
type errors wherever the SDK reads a field that changed.
"""

from __future__ import annotations

import argparse
import json
import keyword
import sys
import urllib.request
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent.parent / "src" / "stun_client" / "_wire.py"

# (name, method, path, response status or "body" for the request body)
ROOTS: list[tuple[str, str, str, str]] = [
    ("CreatedAccount", "post", "/api/v1/accounts", "201"),
    ("AccountView", "get", "/api/v1/accounts/me", "200"),
    ("FaucetResponse", "post", "/api/v1/faucet", "200"),
    ("StakeResponse", "post", "/api/v1/accounts/me/stake", "200"),
    ("UnstakeResponse", "post", "/api/v1/accounts/me/unstake", "200"),
    ("AmountBody", "post", "/api/v1/faucet", "body"),
    ("LedgerPage", "get", "/api/v1/accounts/me/ledger", "200"),
    ("ModelView", "get", "/api/v1/models/{id}", "200"),
    ("UploadModelResponse", "post", "/api/v1/models", "201"),
    ("ModelPage", "get", "/api/v1/models", "200"),
    ("SubmitTaskBody", "post", "/api/v1/tasks", "body"),
    ("SubmitTaskResponse", "post", "/api/v1/tasks", "202"),
    ("TaskView", "get", "/api/v1/tasks/{id}", "200"),
    ("TaskPage", "get", "/api/v1/tasks", "200"),
    ("TaskOutputsView", "get", "/api/v1/tasks/{id}/outputs", "200"),
    ("ProviderPage", "get", "/api/v1/providers", "200"),
    ("StatsView", "get", "/api/v1/stats", "200"),
    ("HealthView", "get", "/api/v1/health", "200"),
    ("ErrorBody", "get", "/api/v1/tasks/{id}", "400"),
]

# Readable names for nested schemas (by path: ".prop", "[]" for array items, "{}" for map values).
NAMES: dict[str, str] = {
    "TaskView.status": "TaskStatus",
    "TaskView.outputs{}": "TensorJson",
    "TaskView.outputs{}.dtype": "Dtype",
    "TaskView.sealed": "SealedOutputs",
    "TaskView.verification": "VerificationView",
    "TaskView.verification.mode": "VerificationMode",
    "TaskView.verification.executions[]": "ExecutionView",
    "TaskView.verification.executions[].backend": "Backend",
    "TaskView.receipt": "Receipt",
    "TaskView.receipt.providers[]": "ReceiptProvider",
    "TaskView.receipt.split": "ReceiptSplit",
    "TaskView.error": "TaskErrorView",
    "ModelView.inputs[]": "TensorInfo",
    "LedgerPage.entries[]": "LedgerEntryView",
    "ProviderPage.providers[]": "ProviderView",
    "ErrorBody.error": "ErrorDetail",
    "SubmitTaskBody.verification": "VerificationRequest",
    "SubmitTaskBody.requirements": "Requirements",
}


def load(url: str | None, file: str | None) -> dict[str, Any]:
    if file is not None:
        doc: dict[str, Any] = json.loads(Path(file).read_text("utf-8"))
        return doc
    assert url is not None
    root = url.rstrip("/").removesuffix("/api/v1")
    with urllib.request.urlopen(f"{root}/api/v1/openapi.json", timeout=30) as r:
        fetched: dict[str, Any] = json.load(r)
        return fetched


def pascal(s: str) -> str:
    return "".join(p[:1].upper() + p[1:] for p in s.replace("-", "_").split("_") if p)


class Generator:
    def __init__(self, preferred: dict[str, str] | None = None) -> None:
        # definition -> readable name, learnt by a first pass (so the first use of a shape gets it)
        self.preferred = preferred or {}
        self.blocks: list[str] = []
        self.by_body: dict[str, str] = {}  # rendered definition -> name (structural dedupe)
        self.used: set[str] = set()

    def define(self, name: str, body: str, kind: str) -> str:
        """Emits `name` (a TypedDict class body or an alias) unless the same definition exists."""
        key = f"{kind}:{body}"
        if key in self.by_body:
            return self.by_body[key]
        name = self.preferred.get(key, name)
        base, n = name, 2
        while name in self.used:
            name, n = f"{base}{n}", n + 1
        self.used.add(name)
        self.by_body[key] = name
        if kind == "alias":
            self.blocks.append(f"\n{name} = {body}\n")
        else:
            self.blocks.append(body.replace("__NAME__", name))
        return name

    def render(self, schema: dict[str, Any], path: str, name: str) -> str:
        """The Python type of `schema`; nested objects become TypedDicts named from `path`."""
        t = self.render_inner(schema, path, name)
        alias = NAMES.get(path) or self.preferred.get(f"alias:{t}")
        if alias is not None and t.startswith("Literal["):
            return self.define(alias, t, "alias")
        return t

    def render_inner(self, schema: dict[str, Any], path: str, name: str) -> str:
        if "const" in schema:
            return f"Literal[{json.dumps(schema['const'])}]"
        if "enum" in schema:
            return "Literal[" + ", ".join(json.dumps(v) for v in schema["enum"]) + "]"
        if "anyOf" in schema:
            parts = [self.render(s, path, name) for s in schema["anyOf"]]
            return " | ".join(dict.fromkeys(parts))
        typ = schema.get("type")
        if isinstance(typ, list):
            return " | ".join(self.render({**schema, "type": t}, path, name) for t in typ)
        if typ == "string":
            return "str"
        if typ == "integer":
            return "int"
        if typ == "number":
            return "float"
        if typ == "boolean":
            return "bool"
        if typ == "null":
            return "None"
        if typ == "array":
            return f"list[{self.render(schema.get('items', {}), path + '[]', name + 'Item')}]"
        if typ == "object":
            props: dict[str, Any] = schema.get("properties", {})
            if not props:
                extra = schema.get("additionalProperties")
                value = self.render(extra, path + "{}", name + "Value") if isinstance(extra, dict) and extra else "Any"
                return f"dict[str, {value}]"
            return self.typed_dict(props, set(schema.get("required", [])), path, name)
        return "Any"

    def typed_dict(self, props: dict[str, Any], required: set[str], path: str, name: str) -> str:
        own = NAMES.get(path, name)
        fields: list[tuple[str, str]] = []
        for key, sub in props.items():
            t = self.render(sub, f"{path}.{key}", own + pascal(key))
            fields.append((key, t if key in required else f"NotRequired[{t}]"))
        if all(k.isidentifier() and not keyword.iskeyword(k) for k, _ in fields):
            lines = [f"    {k}: {t}" for k, t in fields]
            body = "\n\nclass __NAME__(TypedDict):\n" + "\n".join(lines) + "\n"
        else:
            items = ", ".join(f"{json.dumps(k)}: {t}" for k, t in fields)
            body = f'\n__NAME__ = TypedDict("__NAME__", {{{items}}})\n'
        return self.define(own, body, "class")


HEADER = '''"""The REST API's JSON bodies as TypedDicts.

GENERATED by sdks/python/scripts/generate_types.py from the server's OpenAPI document
(GET /api/v1/openapi.json); do not edit. tests/test_wire_types.py fails when it is stale.
"""

# fmt: off
import sys
from typing import Any, Literal, TypedDict

if sys.version_info >= (3, 11):
    from typing import NotRequired
else:  # pragma: no cover
    from typing_extensions import NotRequired

__all__ = ["Any", "NotRequired"]
'''


def generate(doc: dict[str, Any]) -> str:
    first = Generator()
    run(first, doc)
    named = set(NAMES.values())
    g = Generator({key: name for key, name in first.by_body.items() if name in named})
    aliases = run(g, doc)
    return HEADER + "".join(g.blocks) + ("\n" + "".join(aliases) if aliases else "")


def run(g: Generator, doc: dict[str, Any]) -> list[str]:
    """Renders every root into `g`; returns the alias lines of roots that are another root's shape."""
    aliases: list[str] = []
    for name, method, path, status in ROOTS:
        op = doc["paths"][path][method]
        if status == "body":
            schema = op["requestBody"]["content"]["application/json"]["schema"]
        else:
            schema = op["responses"][status]["content"]["application/json"]["schema"]
        got = g.render(schema, name, name)
        if got != name:
            aliases.append(f"{name} = {got}\n")
    return aliases


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--url", help="server root, e.g. http://localhost:4000")
    src.add_argument("--file", help="a saved openapi.json")
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--check", action="store_true", help="compare instead of writing; exit 1 when stale")
    args = ap.parse_args(argv)
    text = generate(load(args.url, args.file))
    out = Path(args.out)
    if args.check:
        if not out.exists() or out.read_text("utf-8") != text:
            print(f"{out} is stale: run scripts/generate_types.py --url <server>", file=sys.stderr)
            return 1
        return 0
    out.write_text(text, "utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
