from __future__ import annotations

import math

from stun_client._core import Config, SseParser, TaskWatcher, Watch


def watcher(task_id: str) -> TaskWatcher:
    return TaskWatcher(Config("http://127.0.0.1:1", "k"), Watch(task_id, math.inf))


def feed(w: TaskWatcher, text: str) -> list[object]:
    return [o for o in (w.line(line) for line in text.split("\n")) if o is not None]


def test_tasks_watch_stream() -> None:
    w = watcher("tsk_1")
    out = feed(w, 'event: connected\ndata: {}\n\n: ping\n\ndata: {"taskId":"tsk_1","status":"queued"}\n\nevent: ping\ndata: \n\ndata: {"taskId":"tsk_1","status":"completed"}\n\n')
    assert w.connected and [o.kind for o in out] == ["terminal"]


def test_serialized_error_carries_the_stun_code() -> None:
    w = watcher("tsk_x")
    out = feed(w, 'event: serialized-error\ndata: {"code":-32004,"message":"no task tsk_x","data":{"code":"NOT_FOUND","httpStatus":404,"stunCode":"TASK_NOT_FOUND"}}\n\n')
    err = out[0].error
    assert (err.status, err.code, err.message) == (404, "TASK_NOT_FOUND", "no task tsk_x")


def test_multiline_data_and_return() -> None:
    p = SseParser()
    assert p.feed("data: a") is None and p.feed("data: b") is None
    ev = p.feed("")
    assert ev is not None and ev.data == "a\nb"
    w = watcher("t")
    assert feed(w, "event: return\ndata: \n\n")[0].kind == "unavailable"
    assert w.opened(404, "application/json") is not None
    assert w.opened(200, "text/event-stream") is None
    assert w.request.url == "http://127.0.0.1:1/trpc/tasks.watch" and w.request.params == {"input": '{"taskId":"t"}'}
