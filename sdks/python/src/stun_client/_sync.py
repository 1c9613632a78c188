"""StunClient: the blocking client (httpx.Client). All logic is in _core; this runs its flows."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any, TypeVar, cast

import httpx
import numpy as np

from . import _core
from . import _wire as w
from ._core import ClientBase, Flow, HandleBase, WaitPath
from .tensors import TensorLike
from .types import Account, CreatedAccount, Health, LedgerEntry, Model, Provider, Receipt, Stats, TaskInfo

T = TypeVar("T")


class StunClient(ClientBase[httpx.Client]):
    """The requester's client for Stun's REST API (blocking). Use as a context manager, or ``close()``.

    ``push`` (default on): waits hear a task's end on the server's ``tasks.watch`` stream (tRPC over
    SSE), falling back to the REST long-poll when the stream cannot be used."""

    def _new_http(self) -> httpx.Client:
        return httpx.Client()

    @classmethod
    def create_account(cls, base_url: str = _core.DEFAULT_BASE_URL, **options: Any) -> CreatedAccount:
        """Creates an account (no key needed); its API key is shown only this once."""
        with cls(base_url, **options) as c:
            return c._run(c._ops.create_account())

    # ---- running flows

    def _run(self, flow: Flow[T]) -> T:
        try:
            instr = next(flow)
            while True:
                if isinstance(instr, _core.Send):
                    result: Any = self._send(instr)
                elif isinstance(instr, _core.Sleep):
                    time.sleep(instr.seconds)
                    result = None
                else:
                    result = self._watch(instr)
                instr = flow.send(result)
        except StopIteration as stop:
            return cast(T, stop.value)

    def _send(self, s: _core.Send) -> Any:
        p = _core.prepare(self._ops.config, s.request)
        try:
            r = self._http.request(p.method, p.url, params=p.params, headers=p.headers, content=p.content, timeout=p.timeout)
        except httpx.HTTPError as e:
            return _core.failure_of(e)
        return _core.Response.of(r)

    def _watch(self, watch: _core.Watch) -> _core.WatchOutcome:
        watcher = _core.TaskWatcher(self._ops.config, watch)
        p = watcher.request
        try:
            with self._http.stream("GET", p.url, params=p.params, headers=p.headers, timeout=watcher.timeout) as r:
                out = watcher.opened(r.status_code, r.headers.get("content-type", ""))
                if out is None:
                    for line in r.iter_lines():
                        if (out := watcher.line(line)) is not None:
                            break
                return out or watcher.ended()
        except httpx.HTTPError as e:
            return watcher.failed(e)

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> StunClient:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    # ---- network

    def health(self) -> Health:
        return self._run(self._ops.health())

    def providers(self) -> list[Provider]:
        return self._run(self._ops.providers())

    def stats(self) -> Stats:
        return self._run(self._ops.stats())

    def openapi(self) -> dict[str, Any]:
        """The server's OpenAPI document."""
        return self._run(self._ops.openapi())

    # ---- account and money (amounts: int base units)

    def account(self) -> Account:
        return self._run(self._ops.account())

    def faucet(self, amount: int | str) -> Account:
        """Credits the balance (servers in local mode only); returns the account after it."""
        return self._run(self._ops.faucet(amount))

    def stake(self, amount: int | str) -> Account:
        return self._run(self._ops.stake(amount))

    def unstake(self, amount: int | str) -> Account:
        return self._run(self._ops.unstake(amount))

    def ledger(self, *, limit: int | None = None, before: str | int | None = None) -> list[LedgerEntry]:
        return self._run(self._ops.ledger(limit, before))

    # ---- models

    def upload_model(self, model: bytes | bytearray | memoryview | str | os.PathLike[str], *, name: str | None = None) -> Model:
        """Uploads an ONNX model from a path or bytes (same bytes, same model)."""
        return self._run(self._ops.upload_model(model, name))

    def list_models(self, *, limit: int | None = None) -> list[Model]:
        return self._run(self._ops.list_models(limit))

    def get_model(self, model_id: str) -> Model:
        return self._run(self._ops.get_model(model_id))

    # ---- tasks

    def submit(
        self,
        model: Model | str,
        inputs: Mapping[str, TensorLike],
        *,
        verification: w.VerificationRequest | w.VerificationMode | None = None,
        requirements: w.Requirements | None = None,
        max_price: int | str | None = None,
        deadline_seconds: int | None = None,
        priority: int | None = None,
        check: bool = True,
    ) -> TaskHandle:
        """Submits a task and returns its handle at once; ``handle.result(timeout=)`` waits for it.
        Inputs are checked against the model's signature first (``check=False`` skips that)."""
        sub = self._run(self._ops.submit(self._ops.submit_body(model, inputs, verification, requirements, max_price, deadline_seconds, priority, check)))
        return TaskHandle(self, sub.id, sub.status)

    def run(
        self,
        model: Model | str,
        inputs: Mapping[str, TensorLike],
        *,
        wait: float = _core.DEFAULT_RUN_WAIT,
        verification: w.VerificationRequest | w.VerificationMode | None = None,
        requirements: w.Requirements | None = None,
        max_price: int | str | None = None,
        deadline_seconds: int | None = None,
        priority: int | None = None,
        check: bool = True,
    ) -> TaskHandle:
        """Submits a task and waits for its end in the same request (``POST /tasks/run``, ``wait``
        seconds ≤ 60): one round trip where ``submit`` and ``result()`` take two or three. The handle
        holds the answer: ``result()`` returns at once when the task ended, and goes on waiting (push,
        then long-poll) when ``wait`` ran out first. A connection lost during the request loses the
        task's id with it (``list_tasks`` finds the task): for long tasks ``submit`` is the safer call."""
        info = self._run(self._ops.run(self._ops.submit_body(model, inputs, verification, requirements, max_price, deadline_seconds, priority, check), wait))
        return TaskHandle(self, info.id, info.status).answered(info)

    def task(self, task_id: str) -> TaskHandle:
        """A handle on an existing task (no request until it is used)."""
        return TaskHandle(self, task_id)

    def get_task(self, task_id: str, *, wait: float | None = None) -> TaskInfo:
        """The task now; with ``wait`` (seconds ≤ 60) the server holds the answer until it is terminal."""
        return self._run(self._ops.get_task(task_id, wait))

    def list_tasks(self, *, limit: int | None = None, status: w.TaskStatus | None = None) -> list[TaskInfo]:
        return self._run(self._ops.list_tasks(limit, status))

    def task_outputs(self, task_id: str) -> dict[str, np.ndarray[Any, Any]]:
        return self._run(self._ops.task_outputs(task_id))

    def receipt(self, task_id: str) -> Receipt | None:
        """The task's receipt (None until it completed)."""
        return self._run(self._ops.receipt(task_id))

    def wait_for_task(self, task_id: str, *, timeout: float | None = _core.DEFAULT_WAIT_TIMEOUT, push: bool | None = None) -> tuple[TaskInfo, WaitPath]:
        """The task once terminal (or its last view when ``timeout`` passes), and how the end was heard."""
        return self._run(self._ops.wait(task_id, timeout, push))


class TaskHandle(HandleBase):
    """A submitted task: ``result()`` waits and returns it completed (raising for failed/expired)."""

    def __init__(self, client: StunClient, task_id: str, status: w.TaskStatus | None = None) -> None:
        super().__init__(task_id, status)
        self._client = client

    def refresh(self) -> TaskInfo:
        self.info = self._client.get_task(self.id)
        return self.info

    def wait(self, timeout: float | None = _core.DEFAULT_WAIT_TIMEOUT) -> TaskInfo:
        """The task once completed, failed or expired (not raised); StunTimeoutError when ``timeout`` passes first."""
        if self.info is None or not self.info.terminal:
            self.info, self.path = self._client.wait_for_task(self.id, timeout=timeout)
        return _core.terminal_or_timeout(self.info, timeout)

    def result(self, timeout: float | None = _core.DEFAULT_WAIT_TIMEOUT) -> TaskInfo:
        """The completed task (``.outputs`` are numpy arrays); raises TaskFailedError / TaskExpiredError."""
        return _core.completed_or_raise(self.wait(timeout))

    def outputs(self, timeout: float | None = _core.DEFAULT_WAIT_TIMEOUT) -> dict[str, np.ndarray[Any, Any]]:
        return self.result(timeout).outputs or {}

    def receipt(self, timeout: float | None = _core.DEFAULT_WAIT_TIMEOUT) -> Receipt | None:
        return self.result(timeout).receipt
