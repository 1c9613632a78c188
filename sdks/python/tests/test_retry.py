"""Retries against a local HTTP double (a flaky proxy or a busy server is a third party's behaviour)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from stun_client import AsyncStunClient, RateLimitError, RetryEvent, RetryPolicy, ServerError, StunClient
from stun_client._core import parse_retry_after


class Script:
    """Answers per path: a list of (status, headers, body) consumed in order; the last one repeats."""

    def __init__(self) -> None:
        self.answers: dict[str, list[tuple[int, dict[str, str], object]]] = {}
        self.hits: dict[str, int] = {}


@pytest.fixture
def double() -> Iterator[tuple[str, Script]]:
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def answer(self) -> None:
            path = self.path.split("?")[0]
            length = int(self.headers.get("content-length") or 0)
            if length:
                self.rfile.read(length)
            script.hits[path] = script.hits.get(path, 0) + 1
            queue = script.answers.get(path) or [(404, {}, {"error": {"code": "NOT_FOUND", "message": "no route"}})]
            status, headers, body = queue.pop(0) if len(queue) > 1 else queue[0]
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        do_GET = answer
        do_POST = answer

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", script
    finally:
        server.shutdown()
        server.server_close()


HEALTHY = (200, {}, {"status": "ok", "providers": {"online": 2}})
BUSY = (503, {}, {"error": {"code": "UNAVAILABLE", "message": "busy"}})


def policy(events: list[RetryEvent], **kw: object) -> RetryPolicy:
    return RetryPolicy(base_delay=0.01, max_delay=0.05, on_retry=events.append, **kw)  # type: ignore[arg-type]


def test_5xx_is_retried_with_backoff(double: tuple[str, Script]) -> None:
    url, script = double
    script.answers["/api/v1/health"] = [BUSY, (502, {}, "bad gateway"), HEALTHY]
    events: list[RetryEvent] = []
    with StunClient(url, retry=policy(events)) as c:
        assert c.health().providers_online == 2
    assert script.hits["/api/v1/health"] == 3
    assert [e.status for e in events] == [503, 502]
    assert all(0 <= e.delay <= 0.05 for e in events)


def test_429_honours_retry_after(double: tuple[str, Script]) -> None:
    url, script = double
    limited = (429, {"retry-after": "1"}, {"error": {"code": "RATE_LIMITED", "message": "slow down", "details": {"retryAfterSeconds": 1}}})
    script.answers["/api/v1/health"] = [limited, HEALTHY]
    events: list[RetryEvent] = []
    with StunClient(url, retry=policy(events)) as c:
        assert c.health().status == "ok"
    assert [(e.status, e.retry_after, e.delay) for e in events] == [(429, 1.0, 1.0)]


def test_gives_up_after_the_retries_with_the_typed_error(double: tuple[str, Script]) -> None:
    url, script = double
    script.answers["/api/v1/accounts/me"] = [(429, {"retry-after": "0"}, {"error": {"code": "RATE_LIMITED", "message": "slow down", "details": {"retryAfterSeconds": 7}}})]
    events: list[RetryEvent] = []
    with StunClient(url, "k", retry=policy(events, retries=2)) as c:
        with pytest.raises(RateLimitError) as e:
            c.account()
    assert (e.value.status, e.value.code, e.value.retry_after) == (429, "RATE_LIMITED", 7.0)
    assert script.hits["/api/v1/accounts/me"] == 3 and len(events) == 2


def test_writes_are_not_retried_on_500(double: tuple[str, Script]) -> None:
    # POST /tasks has no idempotency key: a 500 may have queued the task, so it is not sent twice.
    url, script = double
    script.answers["/api/v1/faucet"] = [(500, {}, {"error": {"code": "INTERNAL", "message": "boom"}})]
    with StunClient(url, "k", retry=policy([])) as c:
        with pytest.raises(ServerError) as e:
            c.faucet(1)
    assert (e.value.status, e.value.code) == (500, "INTERNAL")
    assert script.hits["/api/v1/faucet"] == 1


def test_writes_are_retried_on_503(double: tuple[str, Script]) -> None:
    url, script = double
    script.answers["/api/v1/faucet"] = [BUSY, (200, {}, {"accountId": "acc_1", "balance": "1", "escrow": "0", "stake": "0"})]
    with StunClient(url, "k", retry=policy([])) as c:
        assert c.faucet(1).balance == 1
    assert script.hits["/api/v1/faucet"] == 2


async def test_async_client_retries_too(double: tuple[str, Script]) -> None:
    url, script = double
    script.answers["/api/v1/health"] = [BUSY, HEALTHY]
    events: list[RetryEvent] = []
    async with AsyncStunClient(url, retry=policy(events)) as c:
        assert (await c.health()).providers_online == 2
    assert [e.status for e in events] == [503]


def test_a_body_that_breaks_the_contract_is_bad_response(double: tuple[str, Script]) -> None:
    url, script = double
    script.answers["/api/v1/accounts/me"] = [(200, {}, {"accountId": "acc_1", "balance": 1.5})]
    with StunClient(url, "k") as c:
        with pytest.raises(Exception) as e:
            c.account()
    assert getattr(e.value, "code", None) == "BAD_RESPONSE"


def test_parse_retry_after() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
