from __future__ import annotations

from stun_client._core import SseParser, TaskWatcher


def feed(w: TaskWatcher, text: str) -> list[object]:
    return [o for o in (w.line(line) for line in text.split("\n")) if o is not None]


def test_tasks_watch_stream() -> None:
    w = TaskWatcher("tsk_1")
    out = feed(w, 'event: connected\ndata: {}\n\n: ping\n\ndata: {"taskId":"tsk_1","status":"queued"}\n\nevent: ping\ndata: \n\ndata: {"taskId":"tsk_1","status":"completed"}\n\n')
    assert w.connected and [o.kind for o in out] == ["terminal"]


def test_serialized_error_carries_the_stun_code() -> None:
    w = TaskWatcher("tsk_x")
    out = feed(w, 'event: serialized-error\ndata: {"code":-32004,"message":"no task tsk_x","data":{"code":"NOT_FOUND","httpStatus":404,"stunCode":"TASK_NOT_FOUND"}}\n\n')
    err = out[0].error
    assert (err.status, err.code, err.message) == (404, "TASK_NOT_FOUND", "no task tsk_x")


def test_multiline_data_and_return() -> None:
    p = SseParser()
    assert p.feed("data: a") is None and p.feed("data: b") is None
    ev = p.feed("")
    assert ev is not None and ev.data == "a\nb"
    w = TaskWatcher("t")
    assert feed(w, "event: return\ndata: \n\n")[0].kind == "unavailable"
    assert w.http_status(404, "application/json") is not None
