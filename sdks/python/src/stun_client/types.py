"""The SDK's views of the REST bodies: dataclasses with snake_case fields, money as ``int`` (the wire
carries decimal strings) and tensors as numpy arrays. Each keeps the wire body in ``raw``.

Every converter reads the generated TypedDicts of ``_wire`` (from the OpenAPI document), so a field
the server renames or retypes is a ``mypy --strict`` error here (tests/test_typing.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import _wire as w
from .tensors import decode_tensor

TERMINAL_STATUSES: frozenset[str] = frozenset({"completed", "failed", "expired"})


def money(s: str) -> int:
    """A wire amount (decimal string of base units) as an int; never a float."""
    if not isinstance(s, str) or not s.lstrip("-").isdigit():
        raise ValueError(f"not an amount of base units: {s!r}")
    return int(s)


def amount_to_wire(amount: int | str) -> str:
    """An amount (int, or a decimal string) as the wire's decimal string; refuses floats, bools, negatives."""
    if isinstance(amount, bool) or not isinstance(amount, (int, str)):
        raise TypeError(f"amounts are integers of base units (int or decimal str), not {type(amount).__name__}")
    s = str(amount).strip()
    if not s.isdigit() or (len(s) > 1 and s[0] == "0"):
        raise ValueError(f"amount {amount!r} is not a non-negative integer of base units")
    return s


@dataclass(frozen=True)
class CreatedAccount:
    account_id: str
    api_key: str

    @staticmethod
    def from_wire(v: w.CreatedAccount) -> CreatedAccount:
        return CreatedAccount(account_id=v["accountId"], api_key=v["apiKey"])


@dataclass(frozen=True)
class Account:
    account_id: str
    balance: int
    escrow: int
    stake: int
    raw: w.AccountView = field(repr=False, compare=False)

    @staticmethod
    def from_wire(v: w.AccountView) -> Account:
        return Account(v["accountId"], money(v["balance"]), money(v["escrow"]), money(v["stake"]), v)


@dataclass(frozen=True)
class LedgerEntry:
    id: str
    tx_id: str
    amount: int
    """Signed: credits positive, debits negative."""
    kind: str
    task_id: str | None
    created_at: str

    @staticmethod
    def from_wire(v: w.LedgerEntryView) -> LedgerEntry:
        return LedgerEntry(v["id"], v["txId"], money(v["amount"]), v["kind"], v["taskId"], v["createdAt"])


@dataclass(frozen=True)
class TensorSpec:
    """One input or output of a model: ``shape`` holds ints, or strings for symbolic dimensions."""

    name: str
    dtype: w.Dtype
    shape: tuple[int | str, ...]

    @staticmethod
    def from_wire(v: w.TensorInfo) -> TensorSpec:
        return TensorSpec(v["name"], v["dtype"], tuple(v["shape"]))


@dataclass(frozen=True)
class Model:
    id: str
    sha256: str
    name: str
    size_bytes: int
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    owner_id: str
    created_at: str
    raw: w.ModelView = field(repr=False, compare=False)

    @staticmethod
    def from_wire(v: w.ModelView) -> Model:
        return Model(
            id=v["id"],
            sha256=v["sha256"],
            name=v["name"],
            size_bytes=v["sizeBytes"],
            inputs=tuple(TensorSpec.from_wire(i) for i in v["inputs"]),
            outputs=tuple(TensorSpec.from_wire(o) for o in v["outputs"]),
            owner_id=v["ownerId"],
            created_at=v["createdAt"],
            raw=v,
        )


@dataclass(frozen=True)
class ReceiptProvider:
    provider_id: str
    backend: w.Backend
    paid: int


@dataclass(frozen=True)
class Split:
    providers: int
    treasury: int
    creator: int


@dataclass(frozen=True)
class Receipt:
    """What a completed task was, who ran it and who was paid (the server's signed-off record)."""

    task_id: str
    model_sha256: str
    input_digest: str
    output_digest: str
    providers: tuple[ReceiptProvider, ...]
    cost: int
    split: Split
    completed_at: str
    raw: w.Receipt = field(repr=False, compare=False)

    @staticmethod
    def from_wire(v: w.Receipt) -> Receipt:
        s = v["split"]
        return Receipt(
            task_id=v["taskId"],
            model_sha256=v["modelSha256"],
            input_digest=v["inputDigest"],
            output_digest=v["outputDigest"],
            providers=tuple(ReceiptProvider(p["providerId"], p["backend"], money(p["paid"])) for p in v["providers"]),
            cost=money(v["cost"]),
            split=Split(money(s["providers"]), money(s["treasury"]), money(s["creator"])),
            completed_at=v["completedAt"],
            raw=v,
        )


@dataclass(frozen=True)
class Execution:
    provider_id: str
    backend: w.Backend
    status: str
    verdict: str | None
    output_digest: str | None
    run_ms: float | None


@dataclass(frozen=True)
class Verification:
    mode: w.VerificationMode
    replicas: int
    outcome: str
    executions: tuple[Execution, ...]

    @staticmethod
    def from_wire(v: w.VerificationView) -> Verification:
        return Verification(
            v["mode"],
            v["replicas"],
            v["outcome"],
            tuple(Execution(e["providerId"], e["backend"], e["status"], e["verdict"], e["outputDigest"], e["runMs"]) for e in v["executions"]),
        )


@dataclass(frozen=True)
class TaskError:
    code: str
    message: str


@dataclass(frozen=True)
class TaskInfo:
    """A task as the server last reported it; ``outputs`` (numpy arrays) only once ``completed``."""

    id: str
    status: w.TaskStatus
    model_id: str
    verification: Verification
    cost: int | None
    receipt: Receipt | None
    error: TaskError | None
    created_at: str
    completed_at: str | None
    outputs: dict[str, np.ndarray[Any, Any]] | None = field(default=None, compare=False)
    data_purged_at: str | None = None
    raw: w.TaskView | None = field(default=None, repr=False, compare=False)

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @staticmethod
    def from_wire(v: w.TaskView) -> TaskInfo:
        outputs = v.get("outputs")
        err = v.get("error")
        cost, receipt = v["cost"], v["receipt"]
        return TaskInfo(
            id=v["id"],
            status=v["status"],
            model_id=v["modelId"],
            verification=Verification.from_wire(v["verification"]),
            cost=None if cost is None else money(cost),
            receipt=None if receipt is None else Receipt.from_wire(receipt),
            error=None if err is None else TaskError(err["code"], err["message"]),
            created_at=v["createdAt"],
            completed_at=v["completedAt"],
            outputs=None if outputs is None else decode_outputs(outputs),
            data_purged_at=v.get("dataPurgedAt"),
            raw=v,
        )


def decode_outputs(outputs: dict[str, w.TensorJson]) -> dict[str, np.ndarray[Any, Any]]:
    return {name: decode_tensor(t, name) for name, t in outputs.items()}


@dataclass(frozen=True)
class SubmittedTask:
    id: str
    status: w.TaskStatus

    @staticmethod
    def from_wire(v: w.SubmitTaskResponse) -> SubmittedTask:
        return SubmittedTask(v["id"], v["status"])


@dataclass(frozen=True)
class Provider:
    id: str
    name: str
    kind: str
    backend: w.Backend
    region: str
    price: int
    reputation: float
    slots: int
    load: int
    tasks_completed: int
    raw: w.ProviderView = field(repr=False, compare=False)

    @staticmethod
    def from_wire(v: w.ProviderView) -> Provider:
        return Provider(v["id"], v["name"], v["kind"], v["backend"], v["region"], money(v["price"]), v["reputation"], v["slots"], v["load"], v["tasksCompleted"], v)


@dataclass(frozen=True)
class Stats:
    providers_online: int
    tasks: dict[str, int]
    volume: int
    models: int

    @staticmethod
    def from_wire(v: w.StatsView) -> Stats:
        return Stats(v["providersOnline"], dict(v["tasks"]), money(v["volume"]), v["models"])


@dataclass(frozen=True)
class Health:
    status: str
    providers_online: int

    @staticmethod
    def from_wire(v: w.HealthView) -> Health:
        return Health(v["status"], v["providers"]["online"])
