from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest
from conftest import mlp_expected, mlp_input

from stun_client import AsyncStunClient, AuthenticationError, InputMismatchError, NotFoundError


async def test_async_client_end_to_end(server_url: str, mlp_path: str, reference: dict[str, Any]) -> None:
    created = await AsyncStunClient.create_account(server_url)
    async with AsyncStunClient(server_url, created.api_key) as stun:
        assert (await stun.faucet(100_000)).balance == 100_000
        model = await stun.upload_model(mlp_path)
        assert (await stun.get_model(model.id)).sha256 == model.sha256
        tasks = await asyncio.gather(*(stun.submit(model, {"x": mlp_input(reference)}, verification="none") for _ in range(8)))  # 8 submits, then 8 push streams in flight
        results = await asyncio.gather(*(t.result(timeout=120) for t in tasks))
        for t, r in zip(tasks, results, strict=True):
            assert t.path == "push"
            assert r.outputs is not None
            np.testing.assert_allclose(r.outputs["y"], mlp_expected(reference), rtol=1e-5, atol=1e-6)
        receipt = await tasks[0].receipt()
        assert receipt is not None and receipt.model_sha256 == model.sha256
        assert {t.id for t in tasks} <= {t.id for t in await stun.list_tasks(limit=50)}
        with pytest.raises(NotFoundError) as e:
            await stun.get_task("tsk_doesnotexist")
        assert e.value.code == "TASK_NOT_FOUND"
        with pytest.raises(InputMismatchError):
            await stun.submit(model, {"x": np.zeros((1, 4), dtype=np.float64)})


async def test_async_run_answers_in_its_own_request(server_url: str, api_key: str, mlp_path: str, reference: dict[str, Any]) -> None:
    async with AsyncStunClient(server_url, api_key) as stun:
        model = await stun.upload_model(mlp_path)
        tasks = await asyncio.gather(*(stun.run(model, {"x": mlp_input(reference)}, verification="none") for _ in range(4)))
        assert len({t.id for t in tasks}) == 4
        for t in tasks:
            assert t.path == "run"
            np.testing.assert_allclose((await t.outputs(timeout=1))["y"], mlp_expected(reference), rtol=1e-5, atol=1e-6)


async def test_async_long_poll_and_fallback(server_url: str, api_key: str, mlp_path: str, reference: dict[str, Any], closed_url: str) -> None:
    async with AsyncStunClient(server_url, api_key, push=False) as stun:
        t = await stun.submit(await stun.upload_model(mlp_path), {"x": mlp_input(reference)}, verification="none")
        np.testing.assert_allclose((await t.outputs(timeout=120))["y"], mlp_expected(reference), rtol=1e-5, atol=1e-6)
        assert t.path == "long-poll"
    async with AsyncStunClient(server_url, api_key, push_url=closed_url) as stun:
        t = await stun.submit(await stun.upload_model(mlp_path), {"x": mlp_input(reference)}, verification="none")
        assert (await t.result(timeout=120)).status == "completed"
        assert t.path == "long-poll"


async def test_async_bad_key(server_url: str) -> None:
    async with AsyncStunClient(server_url, "stun_not_a_real_key") as stun:
        with pytest.raises(AuthenticationError) as e:
            await stun.account()
        assert (e.value.status, e.value.code) == (401, "UNAUTHORIZED")
