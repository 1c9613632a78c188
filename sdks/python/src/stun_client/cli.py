"""``stun``: the command line of the Python SDK (mirrors the TypeScript CLI's commands and config file).

Settings: ``--server`` (env STUN_SERVER), ``--api-key`` (env STUN_API_KEY), then the config file
(``$STUN_CONFIG``, else ``$XDG_CONFIG_HOME/stun/config.json`` or ``~/.config/stun/config.json``: the
same file the TypeScript CLI writes). Exit status 0 ok, 1 error (``error CODE: message``), 2 usage."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._core import DEFAULT_BASE_URL
from ._sync import StunClient
from .errors import StunApiError, make_error
from .tensors import load_npy, tensor_from_values, write_outputs
from .types import TaskInfo


class UsageError(Exception):
    pass


def config_path(env: dict[str, str] | None = None) -> Path:
    env = dict(os.environ) if env is None else env
    if env.get("STUN_CONFIG"):
        return Path(env["STUN_CONFIG"]).expanduser().resolve()
    xdg = env.get("XDG_CONFIG_HOME")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path(env.get("HOME") or Path.home()) / ".config"
    return base / "stun" / "config.json"


def load_config(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise make_error(0, "FILE_ERROR", f"cannot read config {path}: {e}") from None
    try:
        parsed = json.loads(text)
    except ValueError as e:
        raise make_error(0, "CONFIG_INVALID", f"config {path} is not valid JSON: {e}") from None
    if not isinstance(parsed, dict):
        raise make_error(0, "CONFIG_INVALID", f"config {path} must hold a JSON object")
    return parsed


def save_config(path: Path, patch: dict[str, Any]) -> None:
    data = {**load_config(path), **patch}
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


def _norm(url: str) -> str:
    return url.strip().rstrip("/").removesuffix("/api/v1")


class Context:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.json: bool = args.json
        self.config_path = config_path()
        config = load_config(self.config_path)
        self.server = _norm(args.server or os.environ.get("STUN_SERVER") or config.get("server") or DEFAULT_BASE_URL)
        key = args.api_key or os.environ.get("STUN_API_KEY")
        if not key and config.get("apiKey") and (not config.get("server") or _norm(str(config["server"])) == self.server):
            key = str(config["apiKey"])
        self.api_key: str | None = key or None

    def client(self, need_key: bool = True) -> StunClient:
        if need_key and not self.api_key:
            raise make_error(0, "NO_API_KEY", "no API key: pass --api-key, set STUN_API_KEY, or run `stun account create`")
        return StunClient(self.server, self.api_key, push=not getattr(self.args, "no_push", False))

    def out(self, value: Any, text: Callable[[], str]) -> None:
        print(json.dumps(plain(value), indent=2) if self.json else text())


def plain(v: Any) -> Any:
    """Dataclasses as their wire JSON (``raw``) where they have one; arrays as lists."""
    if is_dataclass(v) and not isinstance(v, type):
        raw = getattr(v, "raw", None)
        return raw if raw is not None else {k: plain(x) for k, x in asdict(v).items()}
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, Path):
        return str(v)
    return v


def kv(pairs: Sequence[tuple[str, object]]) -> str:
    width = max(len(k) for k, _ in pairs)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in pairs)


def table(header: Sequence[str], rows: Sequence[Sequence[object]], empty: str) -> str:
    if not rows:
        return empty
    cells = [list(header), *[[str(c) for c in r] for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells)


def amount(s: str) -> int:
    if not s.isdigit():
        raise UsageError(f"amount must be a non-negative integer of base units, got {s!r}")
    return int(s)


def show_account(ctx: Context, a: Any) -> None:
    ctx.out(a, lambda: kv([("accountId", a.account_id), ("balance", a.balance), ("escrow", a.escrow), ("stake", a.stake)]))


def load_input(spec: str, dtype: str | None) -> tuple[str, np.ndarray[Any, Any]]:
    """``NAME=FILE.npy``, ``NAME=FILE.json`` or ``NAME=@JSON``."""
    name, sep, src = spec.partition("=")
    if not sep or not name or not src:
        raise UsageError(f"--input takes NAME=FILE.npy, NAME=FILE.json or NAME=@JSON, got {spec!r}")
    if src.startswith("@"):
        try:
            obj = json.loads(src[1:])
        except ValueError as e:
            raise UsageError(f"--input {name}: inline JSON is not valid: {e}") from None
        return name, tensor_from_values(obj, dtype, name)
    path = Path(src)
    try:
        if path.suffix.lower() == ".npy":
            return name, load_npy(path)
        obj = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as e:
        raise make_error(0, "FILE_ERROR", f"cannot read input {name} from {path}: {e}") from None
    return name, tensor_from_values(obj, dtype, name)


def show_task(ctx: Context, info: TaskInfo, files: dict[str, Path] | None = None) -> None:
    def text() -> str:
        v = info.verification
        pairs: list[tuple[str, object]] = [
            ("id", info.id),
            ("status", info.status),
            ("model", info.model_id),
            ("verification", f"{v.mode}, {v.replicas} replica{'' if v.replicas == 1 else 's'}, {v.outcome}"),
            ("cost", "-" if info.cost is None else info.cost),
            ("created", info.created_at),
            ("completed", info.completed_at or "-"),
        ]
        if info.error:
            pairs.append(("error", f"{info.error.code}: {info.error.message}"))
        lines = [kv(pairs)]
        for name, arr in (info.outputs or {}).items():
            flat = arr.reshape(-1)[:6].tolist()
            where = f"  -> {files[name]}" if files and name in files else ""
            lines.append(f"  {name}  {arr.dtype} {list(arr.shape)} {flat}{'…' if arr.size > 6 else ''}{where}")
        return "\n".join(lines)

    value = dict(info.raw or {})
    if files:
        value["files"] = {k: str(p) for k, p in files.items()}
    ctx.out(value, text)


def maybe_write(ctx: Context, info: TaskInfo) -> dict[str, Path] | None:
    out_dir = getattr(ctx.args, "output_dir", None)
    if out_dir is None:
        return None
    from ._core import completed_or_raise

    return write_outputs(out_dir, completed_or_raise(info).outputs or {})


# ---- commands


def cmd_account_create(ctx: Context) -> None:
    created = StunClient.create_account(ctx.server)
    if not ctx.args.no_save:
        save_config(ctx.config_path, {"server": ctx.server, "accountId": created.account_id, "apiKey": created.api_key})
    value = {"accountId": created.account_id, "apiKey": created.api_key, "server": ctx.server}
    ctx.out(value, lambda: kv([("accountId", created.account_id), ("apiKey", created.api_key), ("server", ctx.server)]))


def cmd_account_show(ctx: Context) -> None:
    with ctx.client() as c:
        show_account(ctx, c.account())


def cmd_account_ledger(ctx: Context) -> None:
    with ctx.client() as c:
        entries = c.ledger(limit=ctx.args.limit)
    ctx.out(
        {"entries": [asdict(e) for e in entries]},
        lambda: table(["ID", "AMOUNT", "KIND", "TASK", "CREATED"], [[e.id, e.amount, e.kind, e.task_id or "-", e.created_at] for e in entries], "no ledger entries"),
    )


def cmd_money(op: str) -> Callable[[Context], None]:
    def run(ctx: Context) -> None:
        with ctx.client() as c:
            show_account(ctx, getattr(c, op)(amount(ctx.args.amount)))

    return run


def cmd_models_upload(ctx: Context) -> None:
    with ctx.client() as c:
        m = c.upload_model(ctx.args.path, name=ctx.args.name)
    ctx.out(
        m,
        lambda: kv(
            [
                ("id", m.id),
                ("name", m.name),
                ("sha256", m.sha256),
                ("sizeBytes", m.size_bytes),
                ("inputs", ", ".join(f"{i.name} {i.dtype} {list(i.shape)}" for i in m.inputs)),
                ("outputs", ", ".join(f"{o.name} {o.dtype} {list(o.shape)}" for o in m.outputs)),
            ]
        ),
    )


def cmd_models_list(ctx: Context) -> None:
    with ctx.client() as c:
        models = c.list_models(limit=ctx.args.limit)
    ctx.out({"models": models}, lambda: table(["ID", "NAME", "SIZE", "SHA256"], [[m.id, m.name, m.size_bytes, m.sha256[:16]] for m in models], "no models"))


def cmd_models_get(ctx: Context) -> None:
    with ctx.client() as c:
        m = c.get_model(ctx.args.id)
    ctx.out(m, lambda: kv([("id", m.id), ("name", m.name), ("sha256", m.sha256), ("inputs", ", ".join(f"{i.name} {i.dtype} {list(i.shape)}" for i in m.inputs))]))


def cmd_tasks_submit(ctx: Context) -> None:
    a = ctx.args
    if not a.input:
        raise UsageError("at least one --input NAME=SPEC is required")
    inputs: dict[str, np.ndarray[Any, Any]] = {}
    with ctx.client() as c:
        model = c.get_model(a.model)
        declared = {i.name: i.dtype for i in model.inputs}
        for spec in a.input:
            name = spec.partition("=")[0]
            if name in inputs:
                raise UsageError(f"--input {name} is given twice")
            inputs[name] = load_input(spec, a.dtype or declared.get(name))[1]
        verification: Any = None
        if a.verification or a.replicas:
            verification = {"mode": a.verification or "redundant", **({"replicas": a.replicas} if a.replicas else {})}
        handle = c.submit(model, inputs, verification=verification, max_price=a.max_price, deadline_seconds=a.deadline, priority=a.priority)
        if not (a.wait or a.output_dir):
            ctx.out({"id": handle.id, "status": handle.status}, lambda: kv([("id", handle.id), ("status", handle.status or "queued")]))
            return
        if not ctx.json:
            print(f"submitted task {handle.id}; waiting…", file=sys.stderr)
        info = handle.wait(timeout=a.timeout)
    if info.status != "completed":
        show_task(ctx, info)
        from ._core import completed_or_raise

        completed_or_raise(info)
    show_task(ctx, info, maybe_write(ctx, info))


def cmd_tasks_get(ctx: Context) -> None:
    with ctx.client() as c:
        if ctx.args.wait:
            info, _ = c.wait_for_task(ctx.args.id, timeout=ctx.args.wait)
        else:
            info = c.get_task(ctx.args.id)
    show_task(ctx, info, maybe_write(ctx, info))


def cmd_tasks_list(ctx: Context) -> None:
    with ctx.client() as c:
        tasks = c.list_tasks(limit=ctx.args.limit, status=ctx.args.status)
    ctx.out(
        {"tasks": [t.raw for t in tasks]},
        lambda: table(["ID", "STATUS", "MODEL", "COST", "CREATED"], [[t.id, t.status, t.model_id, "-" if t.cost is None else t.cost, t.created_at] for t in tasks], "no tasks"),
    )


def cmd_receipt(ctx: Context) -> None:
    with ctx.client() as c:
        r = c.receipt(ctx.args.id)
    if r is None:
        raise make_error(0, "RECEIPT_NOT_READY", f"task {ctx.args.id} has no receipt yet (it is not completed)")
    ctx.out(
        r,
        lambda: kv(
            [
                ("task", r.task_id),
                ("modelSha256", r.model_sha256),
                ("inputDigest", r.input_digest),
                ("outputDigest", r.output_digest),
                ("cost", r.cost),
                ("split", f"providers {r.split.providers}, treasury {r.split.treasury}, creator {r.split.creator}"),
                ("providers", ", ".join(f"{p.provider_id} ({p.backend}) {p.paid}" for p in r.providers)),
                ("completedAt", r.completed_at),
            ]
        ),
    )


def cmd_health(ctx: Context) -> None:
    with ctx.client(need_key=False) as c:
        h = c.health()
    ctx.out(asdict(h), lambda: kv([("status", h.status), ("providers online", h.providers_online)]))


def cmd_providers(ctx: Context) -> None:
    with ctx.client() as c:
        ps = c.providers()
    ctx.out({"providers": ps}, lambda: table(["ID", "NAME", "KIND", "BACKEND", "PRICE", "LOAD"], [[p.id, p.name, p.kind, p.backend, p.price, f"{p.load}/{p.slots}"] for p in ps], "no providers"))


def cmd_stats(ctx: Context) -> None:
    with ctx.client() as c:
        s = c.stats()
    ctx.out(asdict(s), lambda: kv([("providers online", s.providers_online), ("models", s.models), ("volume", s.volume), ("tasks", json.dumps(s.tasks))]))


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--server", help="server URL (env STUN_SERVER; default http://localhost:4000)")
    common.add_argument("--api-key", help="API key (env STUN_API_KEY)")
    common.add_argument("--json", action="store_true", help="print JSON")
    p = argparse.ArgumentParser(prog="stun", description="Stun requester CLI (Python SDK)", parents=[common])
    sub = p.add_subparsers(dest="command", required=True)

    def add(parent: Any, name: str, fn: Callable[[Context], None], help: str) -> argparse.ArgumentParser:
        sp: argparse.ArgumentParser = parent.add_parser(name, help=help, parents=[common])
        sp.set_defaults(fn=fn)
        return sp

    account = sub.add_parser("account", help="your account").add_subparsers(dest="sub", required=True)
    add(account, "create", cmd_account_create, "create an account and save its key").add_argument("--no-save", action="store_true")
    add(account, "show", cmd_account_show, "balance, escrow and stake")
    add(account, "ledger", cmd_account_ledger, "ledger entries").add_argument("--limit", type=int)
    for op in ("faucet", "stake", "unstake"):
        add(sub, op, cmd_money(op), f"{op} AMOUNT base units").add_argument("amount")
    models = sub.add_parser("models", help="models").add_subparsers(dest="sub", required=True)
    up = add(models, "upload", cmd_models_upload, "upload an ONNX file")
    up.add_argument("path")
    up.add_argument("--name")
    add(models, "list", cmd_models_list, "list models").add_argument("--limit", type=int)
    add(models, "get", cmd_models_get, "show a model").add_argument("id")
    tasks = sub.add_parser("tasks", help="tasks").add_subparsers(dest="sub", required=True)
    s = add(tasks, "submit", cmd_tasks_submit, "submit a task")
    s.add_argument("--model", "-m", required=True)
    s.add_argument("--input", "-i", action="append", default=[], help="NAME=FILE.npy | NAME=FILE.json | NAME=@JSON")
    s.add_argument("--dtype", help="dtype of JSON arrays that do not say (default: the model's)")
    s.add_argument("--verification", choices=["none", "redundant", "auto", "zk"])
    s.add_argument("--replicas", type=int)
    s.add_argument("--max-price")
    s.add_argument("--deadline", type=int)
    s.add_argument("--priority", type=int)
    s.add_argument("--wait", "-w", action="store_true")
    s.add_argument("--timeout", type=float, default=600.0, help="seconds --wait waits (600)")
    s.add_argument("--output-dir", "-o", help="write each output as DIR/NAME.npy (implies --wait)")
    s.add_argument("--no-push", action="store_true", help="long-poll instead of listening to tasks.watch")
    g = add(tasks, "get", cmd_tasks_get, "show a task")
    g.add_argument("id")
    g.add_argument("--wait", "-w", type=float, help="wait up to S seconds for it to finish")
    g.add_argument("--output-dir", "-o")
    g.add_argument("--no-push", action="store_true")
    ls = add(tasks, "list", cmd_tasks_list, "list your tasks")
    ls.add_argument("--limit", type=int)
    ls.add_argument("--status")
    add(sub, "receipt", cmd_receipt, "a completed task's receipt").add_argument("id")
    add(sub, "health", cmd_health, "server health")
    add(sub, "providers", cmd_providers, "online providers")
    add(sub, "stats", cmd_stats, "network stats")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    p = parser()
    try:
        args = p.parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)
    try:
        args.fn(Context(args))
        return 0
    except UsageError as e:
        print(f"usage error: {e}", file=sys.stderr)
        return 2
    except StunApiError as e:
        if args.json:
            print(json.dumps(e.to_json()), file=sys.stderr)
        else:
            print(f"error {e.code}: {e.message}", file=sys.stderr)
        return 1
    except ValueError as e:
        print(f"error VALIDATION_FAILED: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
