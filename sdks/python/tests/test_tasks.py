from __future__ import annotations

from typing import Any

import httpx
import numpy as np
import pytest
from conftest import mlp_expected, mlp_input

from stun_client import InputMismatchError, NotFoundError, StunClient, TaskExpiredError, ValidationError


def test_submit_result_pushed_matches_reference(client: StunClient, mlp_path: str, reference: dict[str, Any]) -> None:
    model = client.upload_model(mlp_path)
    before = client.account().balance
    task = client.submit(model, {"x": mlp_input(reference)}, verification="none")
    assert task.id.startswith("tsk_")
    done = task.result(timeout=120)
    assert task.path == "push"  # heard on tasks.watch (tRPC SSE), not long-polled
    assert done.status == "completed"
    assert done.outputs is not None
    y = done.outputs["y"]
    assert y.dtype == np.float32 and y.shape == (2, 3)
    np.testing.assert_allclose(y, mlp_expected(reference), rtol=1e-5, atol=1e-6)
    assert isinstance(done.cost, int)
    assert client.account().balance < before

    receipt = task.receipt()
    assert receipt is not None
    assert receipt.task_id == task.id and receipt.model_sha256 == model.sha256
    assert receipt.cost == done.cost
    assert receipt.split.providers + receipt.split.treasury + receipt.split.creator == receipt.cost
    assert client.receipt(task.id) == receipt

    outs = client.task_outputs(task.id)
    np.testing.assert_array_equal(outs["y"], y)
    assert task.id in [t.id for t in client.list_tasks(limit=50)]


def test_run_submits_and_answers_in_one_request(server_url: str, api_key: str, mlp_path: str, reference: dict[str, Any]) -> None:
    sent: list[str] = []
    with httpx.Client(event_hooks={"request": [lambda r: sent.append(f"{r.method} {r.url.path}")]}) as http, StunClient(server_url, api_key, http_client=http) as c:
        model = c.upload_model(mlp_path)  # its signature is remembered: the input check sends nothing
        sent.clear()
        task = c.run(model, {"x": mlp_input(reference)}, verification="none")
        assert sent == ["POST /api/v1/tasks/run"]
        assert task.id.startswith("tsk_") and task.status == "completed" and task.path == "run"
        done = task.result(timeout=1)  # the run's answer: no further request
        assert sent == ["POST /api/v1/tasks/run"]
        assert done.outputs is not None
        np.testing.assert_allclose(done.outputs["y"], mlp_expected(reference), rtol=1e-5, atol=1e-6)
        assert done.receipt is not None and done.receipt.cost == done.cost
        with pytest.raises(InputMismatchError):  # checked before sending, as submit does
            c.run(model, {"x": np.zeros((1, 4), dtype=np.float64)})
        assert sent == ["POST /api/v1/tasks/run"]


def test_run_goes_on_waiting_when_its_wait_runs_out(client: StunClient, mlp_path: str) -> None:
    # No provider meets the requirement: the run's request answers the queued task after its wait,
    # and result() goes on waiting (on the push stream) until the deadline expires it.
    model = client.upload_model(mlp_path)
    task = client.run(model, {"x": [[0.0, 0.0, 0.0, 0.0]]}, wait=0.2, requirements={"backend": "cuda"}, deadline_seconds=2)
    assert task.status == "queued" and task.path is None
    with pytest.raises(TaskExpiredError):
        task.result(timeout=60)
    assert task.path == "push" and task.status == "expired"


def test_long_poll_when_push_is_off(server_url: str, api_key: str, mlp_path: str, reference: dict[str, Any]) -> None:
    with StunClient(server_url, api_key, push=False) as c:
        task = c.submit(c.upload_model(mlp_path), {"x": mlp_input(reference)}, verification="none")
        np.testing.assert_allclose(task.outputs(timeout=120)["y"], mlp_expected(reference), rtol=1e-5, atol=1e-6)
        assert task.path == "long-poll"


def test_falls_back_to_long_poll_when_the_stream_is_unavailable(server_url: str, api_key: str, mlp_path: str, reference: dict[str, Any], closed_url: str) -> None:
    # The push stream's endpoint refuses connections (a proxy without SSE, say): the wait long-polls.
    with StunClient(server_url, api_key, push_url=f"{closed_url}/trpc") as c:
        task = c.submit(c.upload_model(mlp_path), {"x": mlp_input(reference)}, verification="none")
        assert task.result(timeout=120).status == "completed"
        assert task.path == "long-poll"


def test_push_refuses_another_accounts_task(server_url: str, client: StunClient, mlp_path: str, reference: dict[str, Any]) -> None:
    task = client.submit(client.upload_model(mlp_path), {"x": mlp_input(reference)}, verification="none")
    stranger = StunClient.create_account(server_url)
    with StunClient(server_url, stranger.api_key) as other:
        with pytest.raises(NotFoundError) as e:
            other.wait_for_task(task.id, timeout=30)
        assert e.value.code == "TASK_NOT_FOUND"
    task.result(timeout=120)


def test_nested_lists_take_the_models_dtype(client: StunClient, mlp_path: str, reference: dict[str, Any]) -> None:
    model = client.upload_model(mlp_path)
    x = mlp_input(reference).tolist()  # float64 Python floats → float32 per the signature
    out = client.submit(model, {"x": x}, verification="none").outputs(timeout=120)
    np.testing.assert_allclose(out["y"], mlp_expected(reference), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("inputs", "code"),
    [
        ({"x": np.zeros((1, 4), dtype=np.float64)}, "INPUT_DTYPE_MISMATCH"),
        ({"x": np.zeros((1, 4), dtype=np.int32)}, "INPUT_DTYPE_MISMATCH"),
        ({"x": np.zeros((1, 5), dtype=np.float32)}, "INPUT_SHAPE_MISMATCH"),
        ({"x": np.zeros((4,), dtype=np.float32)}, "INPUT_SHAPE_MISMATCH"),
        ({"x": np.zeros((1, 4), dtype=np.float32), "z": [1.0]}, "INPUT_UNKNOWN"),
        ({}, "INPUT_MISSING"),
        ({"x": [[1, 2], [3]]}, "TENSOR_INVALID"),
    ],
)
def test_mismatched_inputs_are_refused_before_sending(server_url: str, mlp_path: str, inputs: dict[str, Any], code: str) -> None:
    created = StunClient.create_account(server_url)
    with StunClient(server_url, created.api_key) as fresh:
        fresh.faucet(1000)
        model = fresh.upload_model(mlp_path)
        with pytest.raises(InputMismatchError) as e:
            fresh.submit(model, inputs)
        assert isinstance(e.value, ValueError)
        assert e.value.code == code and e.value.status == 0  # status 0: raised here, not by the server
        assert fresh.list_tasks() == []  # nothing reached the server


def test_the_server_checks_too(client: StunClient, mlp_path: str) -> None:
    model = client.upload_model(mlp_path)
    with pytest.raises(ValidationError) as e:
        client.submit(model.id, {"x": np.zeros((1, 4), dtype=np.float64)}, check=False)
    assert (e.value.status, e.value.code) == (400, "INPUT_DTYPE_MISMATCH")
