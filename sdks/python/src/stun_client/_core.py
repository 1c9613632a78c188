"""The transport-free core both clients share (sans-I/O): every operation is a generator ("flow")
that yields instructions — :class:`Send` an HTTP request, :class:`Sleep`, :class:`Watch` a task's
push stream — and gets their results back. ``StunClient`` runs flows with ``httpx.Client`` and
``time.sleep``; ``AsyncStunClient`` with ``httpx.AsyncClient`` and ``asyncio.sleep``. Request
building, retries, response parsing, the wait logic and the push stream's protocol live here once."""

from __future__ import annotations

import email.utils
import json
import math
import os
import random
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import quote

import httpx

from . import _wire as w
from .errors import StunApiError, error_from_response, make_error
from .tensors import TensorLike, check_inputs, encode_unchecked
from .types import (
    Account,
    CreatedAccount,
    Health,
    LedgerEntry,
    Model,
    Provider,
    Receipt,
    Stats,
    SubmittedTask,
    TaskInfo,
    amount_to_wire,
    decode_outputs,
)

T = TypeVar("T")

DEFAULT_BASE_URL = "http://localhost:4000"
DEFAULT_TIMEOUT = 30.0
DEFAULT_UPLOAD_TIMEOUT = 600.0
DEFAULT_WAIT_TIMEOUT = 600.0
#: How long ``run`` waits in its request by default (the server's default for POST /tasks/run).
DEFAULT_RUN_WAIT = 30.0
DEFAULT_PUSH_CONNECT_TIMEOUT = 5.0
#: The server's long-poll cap (GET /tasks/:id?wait=S, S ≤ 60).
MAX_WAIT_SECONDS = 60.0
#: The server pings a tasks.watch stream every 15 s; silence for longer means it is gone.
PUSH_SILENCE_TIMEOUT = 40.0

WaitPath = Literal["push", "long-poll", "run"]


# ---- instructions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    method: Literal["GET", "POST", "DELETE"]
    path: str
    """Under /api/v1."""
    query: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    content: bytes | None = None
    auth: bool = True
    timeout: float | None = None
    """Seconds; None: the client's default."""


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes
    reason: str = ""

    @staticmethod
    def of(r: httpx.Response) -> Response:
        """A read httpx response (sync or async)."""
        return Response(r.status_code, r.headers, r.content, r.reason_phrase)


@dataclass(frozen=True)
class Failure:
    """No HTTP answer. ``connect``: nothing reached the server (safe to send again)."""

    kind: Literal["connect", "timeout", "network"]
    message: str


@dataclass(frozen=True)
class Send:
    request: Request


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Watch:
    """Listen to ``tasks.watch`` for ``task_id`` until it is terminal or ``deadline`` (time.monotonic())."""

    task_id: str
    deadline: float


Instruction = Send | Sleep | Watch
Flow = Generator[Instruction, Any, T]


@dataclass(frozen=True)
class WatchOutcome:
    kind: Literal["terminal", "deadline", "unavailable", "error"]
    reason: str = ""
    error: StunApiError | None = None


# ---- configuration --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryEvent:
    """Told to ``RetryPolicy.on_retry`` before each retry."""

    attempt: int
    delay: float
    method: str
    path: str
    status: int | None
    """The HTTP status that is retried (None for a failed connection)."""
    retry_after: float | None


@dataclass(frozen=True)
class RetryPolicy:
    """Retries with exponential backoff and full jitter: delay = uniform(0, min(max_delay, base_delay × 2^attempt)),
    or the server's ``Retry-After`` when it sends one (capped by ``max_retry_after``).

    GETs are retried on ``statuses`` and on network errors. Writes (POST) are not idempotent here, so they
    are retried only on ``unsafe_statuses`` (429 and 503 mean nothing was done) and when the connection was
    refused (nothing was sent)."""

    retries: int = 3
    base_delay: float = 0.25
    max_delay: float = 8.0
    max_retry_after: float = 60.0
    statuses: frozenset[int] = frozenset({429, 500, 502, 503, 504})
    unsafe_statuses: frozenset[int] = frozenset({429, 503})
    jitter: bool = True
    on_retry: Callable[[RetryEvent], None] | None = None

    def retryable(self, method: str, status: int) -> bool:
        return status in (self.statuses if method == "GET" else self.unsafe_statuses & self.statuses)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(0.0, retry_after), self.max_retry_after)
        cap = min(self.max_delay, self.base_delay * (2**attempt))
        return random.uniform(0, cap) if self.jitter else cap


NO_RETRY = RetryPolicy(retries=0)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date."""
    if value is None or not value.strip():
        return None
    v = value.strip()
    try:
        return max(0.0, float(v))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(v)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def normalize_base_url(url: str) -> str:
    u = url.strip().rstrip("/")
    u = u.removesuffix("/api/v1")
    parsed = httpx.URL(u)
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise make_error(0, "VALIDATION_FAILED", f"not a server URL: {url!r}")
    return u


@dataclass(frozen=True)
class Config:
    base_url: str
    api_key: str | None
    timeout: float = DEFAULT_TIMEOUT
    upload_timeout: float = DEFAULT_UPLOAD_TIMEOUT
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    push: bool = True
    push_url: str | None = None
    """Where tRPC lives (default ``<base_url>/trpc``)."""
    push_connect_timeout: float = DEFAULT_PUSH_CONNECT_TIMEOUT


@dataclass(frozen=True)
class Prepared:
    method: str
    url: str
    params: Mapping[str, str]
    headers: dict[str, str]
    content: bytes | None
    timeout: float


def prepare(config: Config, req: Request) -> Prepared:
    headers = {"accept": "application/json", "user-agent": "stun-client-python"}
    if req.auth and config.api_key:
        headers["authorization"] = f"Bearer {config.api_key}"
    content: bytes | None = None
    if req.json is not None:
        headers["content-type"] = "application/json"
        content = json.dumps(req.json, separators=(",", ":")).encode()
    elif req.content is not None:
        headers["content-type"] = "application/octet-stream"
        content = req.content
    return Prepared(req.method, f"{config.base_url}/api/v1{req.path}", req.query, headers, content, req.timeout or config.timeout)


def failure_of(exc: Exception) -> Failure:
    """An httpx exception (sync or async, they are the same classes) as a Failure."""
    if isinstance(exc, httpx.ConnectError):
        return Failure("connect", str(exc) or type(exc).__name__)
    if isinstance(exc, httpx.TimeoutException):
        return Failure("timeout", str(exc) or type(exc).__name__)
    return Failure("network", str(exc) or type(exc).__name__)


def watch_request(config: Config, task_id: str) -> Prepared:
    """The SSE request of the tRPC subscription ``tasks.watch`` (httpSubscriptionLink's wire form)."""
    root = (config.push_url or f"{config.base_url}/trpc").rstrip("/")
    headers = {"accept": "text/event-stream", "cache-control": "no-cache", "user-agent": "stun-client-python"}
    if config.api_key:
        headers["authorization"] = f"Bearer {config.api_key}"
    params = {"input": json.dumps({"taskId": task_id}, separators=(",", ":"))}
    return Prepared("GET", f"{root}/tasks.watch", params, headers, None, config.push_connect_timeout)


# ---- the push stream: Server-Sent Events of tRPC's httpSubscriptionLink ---------------------------


@dataclass
class SseEvent:
    event: str = "message"
    data: str = ""
    id: str | None = None


class SseParser:
    """Turns lines of a text/event-stream into events (WHATWG rules: blank line dispatches)."""

    def __init__(self) -> None:
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None

    def feed(self, line: str) -> SseEvent | None:
        line = line.rstrip("\r\n")
        if line == "":
            if not self._data and not self._event:
                return None
            ev = SseEvent(self._event or "message", "\n".join(self._data), self._id)
            self._event, self._data = "", []
            return ev
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id":
            self._id = value
        return None


class TaskWatcher:
    """Reads one task's ``tasks.watch`` stream: terminal status, the server's refusal, or the end.
    The clients only open the stream (``request``, ``timeout``) and feed it lines."""

    def __init__(self, config: Config, watch: Watch) -> None:
        self.task_id = watch.task_id
        self.deadline = watch.deadline
        self.request = watch_request(config, watch.task_id)
        read = min(PUSH_SILENCE_TIMEOUT, max(0.05, watch.deadline - time.monotonic()))
        self.timeout = httpx.Timeout(read, connect=config.push_connect_timeout)
        self.parser = SseParser()
        self.connected = False

    def opened(self, status: int, content_type: str) -> WatchOutcome | None:
        """The stream's answer: None to read on, or why it cannot be used."""
        if status != 200 or "text/event-stream" not in content_type:
            return WatchOutcome("unavailable", f"tasks.watch answered HTTP {status} ({content_type or 'no content type'})")
        return None

    def line(self, line: str) -> WatchOutcome | None:
        ev = self.parser.feed(line)
        out = None if ev is None else self.event(ev)
        if out is None and time.monotonic() >= self.deadline:
            return WatchOutcome("deadline")
        return out

    def event(self, ev: SseEvent) -> WatchOutcome | None:
        if ev.event == "connected":
            self.connected = True
            return None
        if ev.event in ("ping", "restore-id"):
            return None
        if ev.event == "return":
            return WatchOutcome("unavailable", "the stream ended")
        if ev.event == "serialized-error":
            return WatchOutcome("error", error=trpc_error(ev.data))
        try:
            msg = json.loads(ev.data)
        except ValueError:
            return WatchOutcome("unavailable", "unexpected data on the stream")
        if isinstance(msg, dict) and msg.get("taskId") == self.task_id and msg.get("status") in ("completed", "failed", "expired"):
            return WatchOutcome("terminal")
        return None

    @staticmethod
    def ended() -> WatchOutcome:
        return WatchOutcome("unavailable", "the stream closed")

    def failed(self, exc: Exception) -> WatchOutcome:
        """An httpx exception while opening or reading: the deadline passed, or the stream is unusable."""
        if isinstance(exc, httpx.ReadTimeout) and time.monotonic() >= self.deadline - 0.05:
            return WatchOutcome("deadline")
        return WatchOutcome("unavailable", failure_of(exc).message)


def trpc_error(data: str) -> StunApiError:
    """A tRPC error (``serialized-error`` event, or an error body) as StunApiError: ``data.stunCode``, ``data.httpStatus``."""
    try:
        shape = json.loads(data)
    except ValueError:
        shape = None
    if not isinstance(shape, dict):
        return make_error(0, "BAD_RESPONSE", "unexpected error on the push stream")
    inner = shape.get("error")
    err: dict[str, Any] = inner if isinstance(inner, dict) else shape
    payload = err.get("data")
    d: dict[str, Any] = payload if isinstance(payload, dict) else {}
    code = d.get("stunCode")
    status = d.get("httpStatus")
    code_s = code if isinstance(code, str) else "INTERNAL"
    return make_error(status if isinstance(status, int) else 0, code_s, str(err.get("message") or code_s))


# ---- flows ----------------------------------------------------------------------------------------


def call(config: Config, req: Request) -> Flow[Response]:
    """Sends ``req`` with the retry policy; returns the 2xx Response or raises the typed error."""
    policy = config.retry
    attempt = 0
    while True:
        got: Response | Failure = yield Send(req)
        status: int | None = None
        retry_after: float | None = None
        if isinstance(got, Failure):
            again = got.kind == "connect" or (req.method == "GET" and got.kind == "network")
            if not again or attempt >= policy.retries:
                code = "TIMEOUT" if got.kind == "timeout" else "NETWORK_ERROR"
                raise make_error(0, code, f"{req.method} {config.base_url}/api/v1{req.path} failed: {got.message}")
        else:
            if 200 <= got.status < 300:
                return got
            if not policy.retryable(req.method, got.status) or attempt >= policy.retries:
                raise error_from_response(got.status, got.body, got.reason)
            status = got.status
            retry_after = parse_retry_after(got.headers.get("retry-after"))
        delay = policy.delay(attempt, retry_after)
        attempt += 1
        if policy.on_retry is not None:
            policy.on_retry(RetryEvent(attempt, delay, req.method, req.path, status, retry_after))
        yield Sleep(delay)


def json_call(config: Config, req: Request, parse: Callable[[Any], T]) -> Flow[T]:
    res = yield from call(config, req)
    try:
        body = json.loads(res.body) if res.body else None
        return parse(body)
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise make_error(0, "BAD_RESPONSE", f"unexpected answer to {req.method} {req.path}: {type(e).__name__}: {e}") from None


def _q(v: str) -> str:
    return quote(v, safe="")


def _limit_query(**kv: object) -> dict[str, str]:
    return {k: str(v) for k, v in kv.items() if v is not None}


def clamp_wait(wait: float) -> float:
    """A wait in seconds as the server takes it: 0 to its cap (``?wait=S``, ``POST /tasks/run``)."""
    return min(MAX_WAIT_SECONDS, max(0.0, wait))


def is_transient(e: StunApiError) -> bool:
    return e.code in ("NETWORK_ERROR", "TIMEOUT", "RATE_LIMITED", "UNAVAILABLE") or e.status in (502, 503, 504)


class Operations:
    """Every API operation as a flow. Holds the configuration and a cache of model signatures (models
    are stored by content, so a model id's signature never changes)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._models: dict[str, Model] = {}

    # -- network
    def health(self) -> Flow[Health]:
        return json_call(self.config, Request("GET", "/health", auth=False), lambda b: Health.from_wire(b))

    def providers(self) -> Flow[list[Provider]]:
        return json_call(self.config, Request("GET", "/providers"), lambda b: [Provider.from_wire(p) for p in _page(b, "providers")])

    def stats(self) -> Flow[Stats]:
        return json_call(self.config, Request("GET", "/stats"), lambda b: Stats.from_wire(b))

    def openapi(self) -> Flow[dict[str, Any]]:
        return json_call(self.config, Request("GET", "/openapi.json", auth=False), lambda b: dict(b))

    # -- accounts and money
    def create_account(self) -> Flow[CreatedAccount]:
        return json_call(self.config, Request("POST", "/accounts", auth=False), lambda b: CreatedAccount.from_wire(b))

    def account(self) -> Flow[Account]:
        return json_call(self.config, Request("GET", "/accounts/me"), lambda b: Account.from_wire(b))

    def _move(self, path: str, amount: int | str) -> Flow[Account]:
        body: w.AmountBody = {"amount": amount_to_wire(amount)}
        return json_call(self.config, Request("POST", path, json=body), lambda b: Account.from_wire(b))

    def faucet(self, amount: int | str) -> Flow[Account]:
        return self._move("/faucet", amount)

    def stake(self, amount: int | str) -> Flow[Account]:
        return self._move("/accounts/me/stake", amount)

    def unstake(self, amount: int | str) -> Flow[Account]:
        return self._move("/accounts/me/unstake", amount)

    def ledger(self, limit: int | None, before: str | int | None) -> Flow[list[LedgerEntry]]:
        q = _limit_query(limit=limit, before=before)
        return json_call(self.config, Request("GET", "/accounts/me/ledger", query=q), lambda b: [LedgerEntry.from_wire(e) for e in _page(b, "entries")])

    # -- models
    def upload_model(self, model: bytes | bytearray | memoryview | str | os.PathLike[str], name: str | None) -> Flow[Model]:
        if isinstance(model, (bytes, bytearray, memoryview)):
            content = bytes(model)
        else:
            path = Path(model)
            try:
                content = path.read_bytes()
            except OSError as e:
                raise make_error(0, "FILE_ERROR", f"cannot read model file {path}: {e.strerror or e}") from None
            if name is None:
                name = path.name[:-5] if path.name.lower().endswith(".onnx") else path.name
        q = _limit_query(name=name)
        req = Request("POST", "/models", query=q, content=content, timeout=self.config.upload_timeout)
        return json_call(self.config, req, self._remember)

    def _remember(self, b: w.ModelView) -> Model:
        m = Model.from_wire(b)
        self._models[m.id] = m
        return m

    def list_models(self, limit: int | None) -> Flow[list[Model]]:
        return json_call(self.config, Request("GET", "/models", query=_limit_query(limit=limit)), lambda b: [self._remember(m) for m in _page(b, "models")])

    def get_model(self, model_id: str) -> Flow[Model]:
        return json_call(self.config, Request("GET", f"/models/{_q(model_id)}"), self._remember)

    def _signature(self, model: Model | str) -> Flow[Model]:
        if isinstance(model, Model):
            return model
        cached = self._models.get(model)
        if cached is not None:
            return cached
        return (yield from self.get_model(model))

    # -- tasks
    def submit_body(
        self,
        model: Model | str,
        inputs: Mapping[str, TensorLike],
        verification: w.VerificationRequest | str | None,
        requirements: w.Requirements | None,
        max_price: int | str | None,
        deadline_seconds: int | None,
        priority: int | None,
        check: bool,
    ) -> Flow[w.SubmitTaskBody]:
        """The body of a submit (``POST /tasks`` or ``/tasks/run``), inputs checked against the model's
        signature first unless ``check`` is off."""
        if not isinstance(inputs, Mapping):
            raise make_error(0, "VALIDATION_FAILED", "inputs must be a mapping of input name to array")
        if check:
            sig = yield from self._signature(model)
            encoded = check_inputs(inputs, sig.raw["inputs"])
        else:
            encoded = encode_unchecked(inputs)
        body: w.SubmitTaskBody = {"modelId": model.id if isinstance(model, Model) else model, "inputs": encoded}
        if verification is not None:
            v: w.VerificationRequest = {"mode": verification} if isinstance(verification, str) else verification  # type: ignore[typeddict-item]
            body["verification"] = v
        if requirements is not None:
            body["requirements"] = requirements
        if max_price is not None:
            body["maxPrice"] = amount_to_wire(max_price)
        if deadline_seconds is not None:
            body["deadlineSeconds"] = deadline_seconds
        if priority is not None:
            body["priority"] = priority
        return body

    def submit(self, body: Flow[w.SubmitTaskBody]) -> Flow[SubmittedTask]:
        """``POST /tasks``: the server answers once the task is queued."""
        b = yield from body
        return (yield from json_call(self.config, Request("POST", "/tasks", json=b), lambda r: SubmittedTask.from_wire(r)))

    def run(self, body: Flow[w.SubmitTaskBody], wait: float) -> Flow[TaskInfo]:
        """``POST /tasks/run``: submits and waits in the same request, up to ``wait`` seconds (≤ 60);
        the task's view, terminal or not."""
        b = yield from body
        wait = clamp_wait(wait)
        req = Request("POST", "/tasks/run", json={**b, "wait": wait}, timeout=self.config.timeout + wait)
        return (yield from json_call(self.config, req, lambda r: TaskInfo.from_wire(r)))

    def get_task(self, task_id: str, wait: float | None = None) -> Flow[TaskInfo]:
        q: dict[str, str] = {}
        timeout = None
        if wait is not None:
            wait = clamp_wait(wait)
            q["wait"] = f"{wait:g}"
            timeout = self.config.timeout + wait
        req = Request("GET", f"/tasks/{_q(task_id)}", query=q, timeout=timeout)
        return json_call(self.config, req, lambda b: TaskInfo.from_wire(b))

    def list_tasks(self, limit: int | None, status: str | None) -> Flow[list[TaskInfo]]:
        q = _limit_query(limit=limit, status=status)
        return json_call(self.config, Request("GET", "/tasks", query=q), lambda b: [TaskInfo.from_wire(t) for t in _page(b, "tasks")])

    def task_outputs(self, task_id: str) -> Flow[dict[str, Any]]:
        def parse(b: w.TaskOutputsView) -> dict[str, Any]:
            return decode_outputs(b["outputs"])

        return json_call(self.config, Request("GET", f"/tasks/{_q(task_id)}/outputs"), parse)

    def receipt(self, task_id: str) -> Flow[Receipt | None]:
        info = yield from self.get_task(task_id)
        return info.receipt

    def wait(self, task_id: str, timeout: float | None, push: bool | None = None) -> Flow[tuple[TaskInfo, WaitPath]]:
        """Until the task is terminal or ``timeout`` seconds pass (then its last view). Hears the end on
        the ``tasks.watch`` stream when it can (then one GET for the view), else long-polls."""
        deadline = math.inf if timeout is None else time.monotonic() + timeout
        use_push = self.config.push if push is None else push
        if use_push and self.config.api_key:
            outcome: WatchOutcome = yield Watch(task_id, deadline)
            if outcome.kind == "error" and outcome.error is not None:
                raise outcome.error
            if outcome.kind in ("terminal", "deadline"):
                return (yield from self.get_task(task_id)), "push"
        return (yield from self._long_poll(task_id, deadline)), "long-poll"

    def _long_poll(self, task_id: str, deadline: float) -> Flow[TaskInfo]:
        backoff = 0.25
        last: TaskInfo | None = None
        while True:
            remaining = deadline - time.monotonic()
            wait = clamp_wait(math.floor(remaining * 10) / 10)
            started = time.monotonic()
            try:
                last = yield from self.get_task(task_id, wait)
                if last.terminal:
                    return last
            except StunApiError as e:
                if not is_transient(e) or time.monotonic() >= deadline:
                    if last is not None and is_transient(e):
                        return last
                    raise
            if time.monotonic() >= deadline:
                return last if last is not None else (yield from self.get_task(task_id))
            if time.monotonic() - started < 1.0:
                yield Sleep(min(backoff, max(0.0, deadline - time.monotonic())))
                backoff = min(backoff * 2, 5.0)
            else:
                backoff = 0.25


def _page(body: Any, key: str) -> list[Any]:
    items = body[key]
    if not isinstance(items, list):
        raise TypeError(f'"{key}" is not a list')
    return items


def outcome_error(info: TaskInfo) -> StunApiError | None:
    """Why a terminal task has no outputs (TASK_FAILED, TASK_EXPIRED, TASK_DATA_EXPIRED), or None."""
    why = f" ({info.error.code}: {info.error.message})" if info.error else ""
    details: dict[str, Any] = {"taskId": info.id, "status": info.status}
    if info.error:
        details["taskCode"] = info.error.code
    if info.status == "failed":
        return make_error(0, "TASK_FAILED", f"task {info.id} failed{why}", details)
    if info.status == "expired":
        return make_error(0, "TASK_EXPIRED", f"task {info.id} expired before it completed{why}", details)
    if info.status == "completed" and info.outputs is None and info.data_purged_at:
        return make_error(410, "TASK_DATA_EXPIRED", f"task {info.id}'s outputs were deleted at {info.data_purged_at}", details)
    if info.status not in ("completed", "failed", "expired"):
        return make_error(0, "TIMEOUT", f"task {info.id} is still {info.status}", details)
    return None


def terminal_or_timeout(info: TaskInfo, timeout: float | None) -> TaskInfo:
    """A wait's answer: the terminal task, or StunTimeoutError (TIMEOUT) when it is still running."""
    if not info.terminal:
        raise make_error(0, "TIMEOUT", f"task {info.id} is still {info.status} after {timeout} s", {"taskId": info.id, "status": info.status})
    return info


def completed_or_raise(info: TaskInfo) -> TaskInfo:
    """``result()``'s answer: the completed task, or TaskFailedError / TaskExpiredError / GoneError."""
    err = outcome_error(info)
    if err is not None:
        raise err
    return info


def build_config(
    base_url: str,
    api_key: str | None,
    timeout: float,
    upload_timeout: float,
    retry: RetryPolicy | None,
    push: bool,
    push_url: str | None,
    push_connect_timeout: float,
) -> Config:
    return Config(
        base_url=normalize_base_url(base_url),
        api_key=api_key or None,
        timeout=timeout,
        upload_timeout=upload_timeout,
        retry=retry or RetryPolicy(),
        push=push,
        push_url=push_url,
        push_connect_timeout=push_connect_timeout,
    )


H = TypeVar("H", httpx.Client, httpx.AsyncClient)
C = TypeVar("C", bound="ClientBase[Any]")
HB = TypeVar("HB", bound="HandleBase")


class ClientBase(Generic[H]):
    """What StunClient and AsyncStunClient share besides the flows: settings and the HTTP client.

    ``timeout`` and ``upload_timeout`` are seconds per request; ``retry`` the :class:`RetryPolicy`;
    ``push`` (default on): waits hear a task's end on the server's ``tasks.watch`` stream (tRPC over
    SSE, at ``push_url``, default ``<base_url>/trpc``), falling back to the REST long-poll when the
    stream cannot be used; ``http_client`` an httpx client to use (not closed by this one)."""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        api_key: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        upload_timeout: float = DEFAULT_UPLOAD_TIMEOUT,
        retry: RetryPolicy | None = None,
        push: bool = True,
        push_url: str | None = None,
        push_connect_timeout: float = DEFAULT_PUSH_CONNECT_TIMEOUT,
        http_client: H | None = None,
    ) -> None:
        self._ops = Operations(build_config(base_url, api_key, timeout, upload_timeout, retry, push, push_url, push_connect_timeout))
        self._http: H = http_client if http_client is not None else self._new_http()
        self._owns_http = http_client is None

    def _new_http(self) -> H:
        raise NotImplementedError

    @property
    def base_url(self) -> str:
        return self._ops.config.base_url

    @property
    def api_key(self) -> str | None:
        return self._ops.config.api_key

    def with_api_key(self: C, api_key: str) -> C:
        """A client of the same server and settings using another key (shares the HTTP connection pool)."""
        c = self._ops.config
        return type(self)(
            c.base_url,
            api_key,
            timeout=c.timeout,
            upload_timeout=c.upload_timeout,
            retry=c.retry,
            push=c.push,
            push_url=c.push_url,
            push_connect_timeout=c.push_connect_timeout,
            http_client=self._http,
        )


class HandleBase:
    """What TaskHandle and AsyncTaskHandle share: the task's id and what was last seen of it."""

    def __init__(self, task_id: str, status: w.TaskStatus | None = None) -> None:
        self.id = task_id
        self._status = status
        #: The task as last fetched (None until refresh/wait).
        self.info: TaskInfo | None = None
        #: How the last wait heard the task's end: "push" or "long-poll".
        self.path: WaitPath | None = None

    @property
    def status(self) -> w.TaskStatus | None:
        return self.info.status if self.info else self._status

    def answered(self: HB, info: TaskInfo) -> HB:
        """This handle, holding the view a run's own request answered with (``path`` "run" when terminal)."""
        self.info = info
        self.path = "run" if info.terminal else None
        return self

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self.id!r}, status={self.status!r})"
