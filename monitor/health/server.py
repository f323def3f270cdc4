"""A tiny threaded HTTP server on localhost: the daemon's health, metrics and status page."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import unquote

from .metrics import render_metrics
from .snapshot import HealthSnapshot

log = logging.getLogger(__name__)

# Sized for a status console with live updates: a few dozen browsers polling, bursts of hundreds.
MAX_THREADS = 32  # requests served at once; more wait in the listen backlog
BACKLOG = 128  # connections the kernel queues before refusing
IDLE_TIMEOUT_S = 15.0  # a client silent this long (no request, or not reading the answer) is dropped


class _BoundedServer(ThreadingHTTPServer):
    """A thread per request, but at most ``MAX_THREADS`` of them; idle clients time out."""

    request_queue_size = BACKLOG
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]):
        self._slots = threading.BoundedSemaphore(MAX_THREADS)
        self.closing = threading.Event()
        super().__init__(address, handler)

    def process_request(self, request, client_address) -> None:
        """Wait for a free handler thread (new connections queue in the backlog meanwhile)."""
        while not self._slots.acquire(timeout=0.5):
            if self.closing.is_set():
                self.shutdown_request(request)
                return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request, client_address) -> None:
        """Serve one connection in its thread, then free its slot."""
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


class HealthServer:
    """Serves ``/healthz``, ``/metrics``, ``/status.json``, ``/heatmap/CAM.jpg``, ``/`` (status page)
    and, given ``api`` (path, query string) -> Response, the read-only ``/api/`` endpoints."""

    def __init__(self, host: str, port: int, snapshot: Callable[[], HealthSnapshot],
                 heatmap: Callable[[str], bytes | None], idle_timeout_s: float = IDLE_TIMEOUT_S,
                 api: Callable[[str, str], Any] | None = None):
        handler = type("Handler", (_Handler,), {"snapshot": staticmethod(snapshot),
                                                "heatmap": staticmethod(heatmap),
                                                "api": staticmethod(api) if api else None,
                                                "timeout": idle_timeout_s})
        self._server = _BoundedServer((host, port), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="health-http", daemon=True)

    @property
    def port(self) -> int:
        """The port actually bound (useful with port 0)."""
        return int(self._server.server_address[1])

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread.start()
        log.info("health endpoint on http://%s:%d/ (/healthz, /metrics)", *self._server.server_address[:2])

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    snapshot: Callable[[], HealthSnapshot]
    heatmap: Callable[[str], bytes | None]
    api: Callable[[str, str], Any] | None
    server_version = "crowd-monitor"
    timeout: float  # each connection's socket timeout (StreamRequestHandler applies it): idle clients go

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        """Serve /healthz, /metrics, the status page, heatmaps and the /api/ endpoints."""
        path, _, query = self.path.partition("?")
        if path.startswith("/api/"):
            self._send_api(path, query)
        elif path == "/healthz":
            snap = self.snapshot()
            body = {"status": "ok" if snap.healthy else "unhealthy", "problems": list(snap.problems),
                    "warnings": list(snap.warnings), "engine": {"name": snap.engine, **snap.precision}}
            code = HTTPStatus.OK if snap.healthy else HTTPStatus.SERVICE_UNAVAILABLE
            self._send(code, "application/json", json.dumps(body).encode())
        elif path == "/metrics":
            self._send(HTTPStatus.OK, "text/plain; version=0.0.4; charset=utf-8",
                       render_metrics(self.snapshot()).encode())
        elif path == "/status.json":
            self._send(HTTPStatus.OK, "application/json", json.dumps(self.snapshot().to_json()).encode())
        elif path.startswith("/heatmap/") and path.endswith(".jpg"):
            jpeg = self.heatmap(unquote(path[len("/heatmap/"):-len(".jpg")]))
            if jpeg is None:
                self._send(HTTPStatus.NOT_FOUND, "text/plain", b"no heatmap yet\n")
            else:
                self._send(HTTPStatus.OK, "image/jpeg", jpeg)
        elif path in ("/", "/index.html"):
            page = resources.files("monitor.web").joinpath("status.html").read_bytes()
            self._send(HTTPStatus.OK, "text/html; charset=utf-8", page)
        else:
            self._send(HTTPStatus.NOT_FOUND, "text/plain", b"not found\n")

    def _send_api(self, path: str, query: str) -> None:
        """An /api/ answer; a streamed body (CSV export) goes out in chunks, then the connection closes."""
        if self.api is None:
            self._send(HTTPStatus.NOT_FOUND, "application/json", b'{"error": "history is disabled"}')
            return
        answer = self.api(path, query)
        if isinstance(answer.body, bytes):
            self._send(answer.code, answer.content_type, answer.body, answer.filename)
            return
        self.send_response(answer.code)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Disposition", f'attachment; filename="{answer.filename}"')
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")  # no length known: the end of the body is the end of the stream
        self.end_headers()
        self.close_connection = True
        try:
            for chunk in answer.body:
                self.wfile.write(chunk)
        finally:
            answer.body.close()  # the generator closes its database connection

    def _send(self, code: int, content_type: str, body: bytes, filename: str | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        if filename:
            self.send_header("Content-Disposition", f'attachment; filename="{filename}"')
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        """Route http.server's access log to debug logging."""
        log.debug("http: " + format, *args)
