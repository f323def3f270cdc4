"""The console's plumbing over real HTTP and in its own logic: PUT/POST bodies on the health server,
the bounded event streams, the routes of ``Console`` (405 on read-only paths) and the API router
(the token before any route)."""

from __future__ import annotations

import http.client
import json

import numpy as np

from monitor.console import Console
from monitor.console.stream import EventStreams
from monitor.daemon.webapi import ApiRouter
from monitor.health import HealthServer, HealthSnapshot
from monitor.health.auth import NOT_CONFIGURED, WriteToken
from monitor.health.messages import Request, Response, error_response
from monitor.health.server import MAX_BODY_BYTES
from monitor.types import DensityResult, Frame, StageTimings
from tests.console.test_edits import CONFIG


def raw_request(port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(method, path, body=body, headers=headers or {})
    answer = conn.getresponse()
    result = answer.status, answer.read()
    conn.close()
    return result


def test_bodies_reach_the_api_within_limits():
    seen = []

    def api(request: Request) -> Response:
        seen.append(request)
        if request.path != "/api/echo":
            return error_response(404, "no such endpoint")
        return Response(200, "application/json", json.dumps({"got": len(request.body)}).encode())

    server = HealthServer("127.0.0.1", 0, lambda: None, lambda cam: None, api=api)
    server.start()
    try:
        assert raw_request(server.port, "PUT", "/api/echo", b"x" * 1000) == (200, b'{"got": 1000}')
        assert seen[-1].method == "PUT" and seen[-1].body == b"x" * 1000
        assert raw_request(server.port, "POST", "/api/echo?a=1", b"{}")[0] == 200 and seen[-1].query == "a=1"
        assert raw_request(server.port, "POST", "/api/echo")[0] == 200 and seen[-1].body == b""  # no body at all
        calls = len(seen)
        big = {"Content-Length": str(MAX_BODY_BYTES + 1)}
        assert raw_request(server.port, "PUT", "/api/echo", None, big)[0] == 413
        assert raw_request(server.port, "POST", "/api/echo", None, {"Transfer-Encoding": "chunked"})[0] == 411
        assert raw_request(server.port, "PUT", "/status.json", b"{}")[0] == 405  # only /api/ takes writes
        assert len(seen) == calls  # none of those reached the API
        assert raw_request(server.port, "PUT", "/api/other", b"{}")[0] == 404
        assert raw_request(server.port, "GET", "/api/echo")[0] == 200 and seen[-1].method == "GET"
    finally:
        server.stop()


def test_event_streams_are_bounded_and_push_changes():
    state = {"n": 0}
    streams = EventStreams(lambda: {"ts": 0, "n": state["n"]}, max_streams=2, check_s=0.01)
    first, second = streams.open(), streams.open()
    assert streams.open() is None  # a third waits for a free slot
    second.close()  # never iterated: its slot is freed all the same
    third = streams.open()
    assert third is not None
    chunks = iter(first)
    assert next(chunks) == b"retry: 2000\n\n"
    assert json.loads(next(chunks).split(b"data: ")[1]) == {"ts": 0, "n": 0}
    state["n"] = 1
    assert json.loads(next(chunks).split(b"data: ")[1])["n"] == 1  # the next change, not a repeat
    streams.close()
    assert list(chunks) == []  # closing ends every stream
    first.close()
    third.close()


class FakeSource:
    """The daemon's telemetry with one camera and one frame."""

    def snapshot(self) -> HealthSnapshot:
        return HealthSnapshot(ts=1.0, healthy=True, problems=(), engine="x", engine_latency_ms={},
                              queue_lag_ms={}, loop_age_s=0.0)

    def zone_states(self):
        return []

    def latest_result(self, camera):
        if camera != "hall":
            return None
        frame = Frame("hall", 7, 1.0, np.zeros((48, 64, 3), np.uint8))
        return DensityResult(frame, np.full((6, 8), 0.1, np.float32), StageTimings(0, 0, 0), 1.0)


def test_console_routes_behind_the_router(tmp_path):
    path = tmp_path / "monitor.yaml"
    path.write_text(CONFIG)
    from monitor.config import load_config

    config = load_config(path)
    console = Console(str(path), lambda: config, FakeSource(), lambda: None, dict, saving=False)
    get = lambda p, q="": console.handle(Request("GET", p, q, {}))  # noqa: E731
    view = json.loads(get("/api/live").body)
    hall = view["cameras"][0]
    assert hall["frame"] == {"seq": 7, "ts": 1.0, "width": 64, "height": 48} and hall["state"] == "unknown"
    assert [z["zone"] for z in hall["zones"]] == ["door", "bar"] and hall["zones"][0]["level"] == "unknown"
    assert view["site_zones"][0]["members"] == ["hall.door"]
    assert get("/api/frame", "camera=hall&overlay=0").body[:2] == b"\xff\xd8"
    assert get("/api/frame", "camera=hall").body is get("/api/frame", "camera=hall").body  # encoded once
    assert get("/api/frame", "camera=lobby").code == 404 and get("/api/frame").code == 400
    assert get("/api/series") is None  # the history API's
    assert json.loads(get("/api/config").body)["saving"] is False
    assert console.handle(Request("PUT", "/api/live", "", {})).code == 405
    # Through the router, with no token configured: every write is refused before any route.
    router = ApiRouter(WriteToken(None), console=console)
    refused = router(Request("PUT", "/api/config", "", {"Authorization": "Bearer " + "x" * 20}, b"{}"))
    assert refused.code == 403 and json.loads(refused.body)["error"] == NOT_CONFIGURED
    assert path.read_text() == CONFIG
    assert router(Request("GET", "/api/series", "", {})).code == 404  # no history: said so
    assert router(Request("GET", "/api/live", "", {})).code == 200
