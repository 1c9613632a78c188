"""AsyncStunClient: the asyncio client (httpx.AsyncClient). All logic is in _core; this runs its flows
with ``await`` where StunClient blocks."""

from __future__ import annotations

import asyncio
import os
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


class AsyncStunClient(ClientBase[httpx.AsyncClient]):
    """The asyncio twin of :class:`StunClient`: same methods, awaited. ``async with`` or ``await aclose()``."""

    def _new_http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient()

    @classmethod
    async def create_account(cls, base_url: str = _core.DEFAULT_BASE_URL, **options: Any) -> CreatedAccount:
        async with cls(base_url, **options) as c:
            return await c._run(c._ops.create_account())

    # ---- running flows

    async def _run(self, flow: Flow[T]) -> T:
        try:
            instr = next(flow)
            while True:
                if isinstance(instr, _core.Send):
                    result: Any = await self._send(instr)
                elif isinstance(instr, _core.Sleep):
                    await asyncio.sleep(instr.seconds)
                    result = None
                else:
                    result = await self._watch(instr)
                instr = flow.send(result)
        except StopIteration as stop:
            return cast(T, stop.value)

    async def _send(self, s: _core.Send) -> Any:
        p = _core.prepare(self._ops.config, s.request)
        try:
            r = await self._http.request(p.method, p.url, params=p.params, headers=p.headers, content=p.content, timeout=p.timeout)
        except httpx.HTTPError as e:
            return _core.failure_of(e)
        return _core.Response.of(r)

    async def _watch(self, watch: _core.Watch) -> _core.WatchOutcome:
        watcher = _core.TaskWatcher(self._ops.config, watch)
        p = watcher.request
        try:
            async with self._http.stream("GET", p.url, params=p.params, headers=p.headers, timeout=watcher.timeout) as r:
                out = watcher.opened(r.status_code, r.headers.get("content-type", ""))
                if out is None:
                    async for line in r.aiter_lines():
                        if (out := watcher.line(line)) is not None:
                            break
                return out or watcher.ended()
        except httpx.HTTPError as e:
            return watcher.failed(e)

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncStunClient:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.aclose()

    # ---- the API (see StunClient for each method's documentation)

    async def health(self) -> Health:
        return await self._run(self._ops.health())

    async def providers(self) -> list[Provider]:
        return await self._run(self._ops.providers())

    async def stats(self) -> Stats:
        return await self._run(self._ops.stats())

    async def openapi(self) -> dict[str, Any]:
        return await self._run(self._ops.openapi())

    async def account(self) -> Account:
        return await self._run(self._ops.account())

    async def faucet(self, amount: int | str) -> Account:
        return await self._run(self._ops.faucet(amount))

    async def stake(self, amount: int | str) -> Account:
        return await self._run(self._ops.stake(amount))

    async def unstake(self, amount: int | str) -> Account:
        return await self._run(self._ops.unstake(amount))

    async def ledger(self, *, limit: int | None = None, before: str | int | None = None) -> list[LedgerEntry]:
        return await self._run(self._ops.ledger(limit, before))

    async def upload_model(self, model: bytes | bytearray | memoryview | str | os.PathLike[str], *, name: str | None = None) -> Model:
        return await self._run(self._ops.upload_model(model, name))

    async def list_models(self, *, limit: int | None = None) -> list[Model]:
        return await self._run(self._ops.list_models(limit))

    async def get_model(self, model_id: str) -> Model:
        return await self._run(self._ops.get_model(model_id))

    async def submit(
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
    ) -> AsyncTaskHandle:
        sub = await self._run(self._ops.submit(self._ops.submit_body(model, inputs, verification, requirements, max_price, deadline_seconds, priority, check)))
        return AsyncTaskHandle(self, sub.id, sub.status)

    async def run(
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
    ) -> AsyncTaskHandle:
        """Submits a task and waits for its end in the same request (``POST /tasks/run``, ``wait``
        seconds ≤ 60): one round trip where ``submit`` and ``result()`` take two or three. The handle
        holds the answer: ``result()`` returns at once when the task ended, and goes on waiting (push,
        then long-poll) when ``wait`` ran out first. A connection lost during the request loses the
        task's id with it (``list_tasks`` finds the task): for long tasks ``submit`` is the safer call."""
        info = await self._run(self._ops.run(self._ops.submit_body(model, inputs, verification, requirements, max_price, deadline_seconds, priority, check), wait))
        return AsyncTaskHandle(self, info.id, info.status).answered(info)

    def task(self, task_id: str) -> AsyncTaskHandle:
        return AsyncTaskHandle(self, task_id)

    async def get_task(self, task_id: str, *, wait: float | None = None) -> TaskInfo:
        return await self._run(self._ops.get_task(task_id, wait))

    async def list_tasks(self, *, limit: int | None = None, status: w.TaskStatus | None = None) -> list[TaskInfo]:
        return await self._run(self._ops.list_tasks(limit, status))

    async def task_outputs(self, task_id: str) -> dict[str, np.ndarray[Any, Any]]:
        return await self._run(self._ops.task_outputs(task_id))

    async def receipt(self, task_id: str) -> Receipt | None:
        return await self._run(self._ops.receipt(task_id))

    async def wait_for_task(self, task_id: str, *, timeout: float | None = _core.DEFAULT_WAIT_TIMEOUT, push: bool | None = None) -> tuple[TaskInfo, WaitPath]:
        return await self._run(self._ops.wait(task_id, timeout, push))


class AsyncTaskHandle(HandleBase):
    """A submitted task: ``await handle.result()``."""

    def __init__(self, client: AsyncStunClient, task_id: str, status: w.TaskStatus | None = None) -> None:
        super().__init__(task_id, status)
        self._client = client

    async def refresh(self) -> TaskInfo:
        self.info = await self._client.get_task(self.id)
        return self.info

    async def wait(self, timeout: float | None = _core.DEFAULT_WAIT_TIMEOUT) -> TaskInfo:
        if self.info is None or not self.info.terminal:
            self.info, self.path = await self._client.wait_for_task(self.id, timeout=timeout)
        return _core.terminal_or_timeout(self.info, timeout)

    async def result(self, timeout: float | None = _core.DEFAULT_WAIT_TIMEOUT) -> TaskInfo:
        return _core.completed_or_raise(await self.wait(timeout))

    async def outputs(self, timeout: float | None = _core.DEFAULT_WAIT_TIMEOUT) -> dict[str, np.ndarray[Any, Any]]:
        return (await self.result(timeout)).outputs or {}

    async def receipt(self, timeout: float | None = _core.DEFAULT_WAIT_TIMEOUT) -> Receipt | None:
        return (await self.result(timeout)).receipt
