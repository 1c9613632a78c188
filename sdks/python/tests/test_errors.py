from __future__ import annotations

import pytest

from stun_client import AuthenticationError, NetworkError, NotFoundError, StunApiError, StunClient, StunTimeoutError, TaskExpiredError, ValidationError
from stun_client.errors import error_from_response


def test_bad_key_is_401_unauthorized(server_url: str) -> None:
    with StunClient(server_url, "stun_not_a_real_key") as c:
        with pytest.raises(AuthenticationError) as e:
            c.account()
    assert (e.value.status, e.value.code) == (401, "UNAUTHORIZED")
    assert isinstance(e.value, StunApiError) and e.value.message


def test_unknown_task_is_404_task_not_found(client: StunClient) -> None:
    with pytest.raises(NotFoundError) as e:
        client.get_task("tsk_doesnotexist")
    assert (e.value.status, e.value.code) == (404, "TASK_NOT_FOUND")
    with pytest.raises(NotFoundError) as e2:
        client.task("tsk_doesnotexist").result(timeout=10)
    assert e2.value.code == "TASK_NOT_FOUND"


def test_bad_query_is_validation_failed(client: StunClient) -> None:
    with pytest.raises(ValidationError) as e:
        client.list_tasks(limit=100_000)
    assert (e.value.status, e.value.code) == (400, "VALIDATION_FAILED")


def test_wait_timeout(client: StunClient, mlp_path: str) -> None:
    # A task that cannot run (no provider meets the requirement) is still queued when the wait ends.
    model = client.upload_model(mlp_path)
    task = client.submit(model, {"x": [[0.0, 0.0, 0.0, 0.0]]}, requirements={"backend": "cuda"}, deadline_seconds=30)
    with pytest.raises(StunTimeoutError) as e:
        task.result(timeout=1.5)
    assert isinstance(e.value, TimeoutError) and e.value.code == "TIMEOUT"
    assert task.status == "queued"


def test_unreachable_server_is_network_error(closed_url: str) -> None:
    from stun_client import RetryPolicy

    with StunClient(closed_url, "k", retry=RetryPolicy(retries=1, base_delay=0.01)) as c:
        with pytest.raises(NetworkError) as e:
            c.health()
    assert (e.value.status, e.value.code) == (0, "NETWORK_ERROR")


def test_error_bodies_that_are_not_stun_errors() -> None:
    e = error_from_response(502, b"<html>Bad Gateway</html>", "Bad Gateway")
    assert (e.status, e.code) == (502, "HTTP_ERROR") and "Bad Gateway" in e.message
    assert type(e).__name__ == "ServerError"


def test_expired_task_raises_task_expired(client: StunClient, mlp_path: str) -> None:
    # No provider meets the requirement, so the deadline passes; the end is heard on the push stream.
    model = client.upload_model(mlp_path)
    task = client.submit(model, {"x": [[0.0, 0.0, 0.0, 0.0]]}, requirements={"backend": "cuda"}, deadline_seconds=1)
    with pytest.raises(TaskExpiredError) as e:
        task.result(timeout=60)
    assert (e.value.code, e.value.details["taskCode"]) == ("TASK_EXPIRED", "DEADLINE_EXCEEDED")
    assert task.path == "push"
    info = task.wait()  # wait() returns a terminal task whatever its status
    assert info.status == "expired" and info.error is not None and info.outputs is None
