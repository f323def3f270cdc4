"""A tiny threaded HTTP server on localhost: the daemon's health, metrics, web pages and ``/api/``."""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from urllib.parse import unquote

from .messages import Request, Response
from .metrics import render_metrics
from .snapshot import HealthSnapshot

log = logging.getLogger(__name__)

# Sized for a status console with live updates: a few dozen browsers polling, bursts of hundreds.
MAX_THREADS = 32  # requests served at once; more wait in the listen backlog
BACKLOG = 128  # connections the kernel queues before refusing
IDLE_TIMEOUT_S = 15.0  # a client silent this long (no request, or not reading the answer) is dropped
MAX_BODY_BYTES = 1 << 20  # a PUT/POST body: config files are limited to 1 MiB too, head clicks are a few kB
PAGE = re.compile(r"^/([a-z][a-z0-9_-]{0,40})\.(html|js|css)$")  # the pages' own files in monitor/web
PAGE_TYPES = {"html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8",
              "css": "text/css; charset=utf-8"}
ALIASES = {"/": "status.html", "/index.html": "status.html", "/console": "console.html"}
JSON = "application/json"


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
    """Serves ``/healthz``, ``/metrics``, ``/status.json``, ``/heatmap/CAM.jpg``, the pages of
    ``monitor/web`` (``/`` the status page, ``/console``, ``/NAME.html|js|css``) and, given ``api``
    (Request -> Response), every request under ``/api/``: GETs, and PUT/POST with a bounded body."""

    def __init__(self, host: str, port: int, snapshot: Callable[[], HealthSnapshot],
                 heatmap: Callable[[str], bytes | None], idle_timeout_s: float = IDLE_TIMEOUT_S,
                 api: Callable[[Request], Response] | None = None):
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
        log.info("health endpoint on http://%s:%d/ (/healthz, /metrics, /console)", *self._server.server_address[:2])

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    snapshot: Callable[[], HealthSnapshot]
    heatmap: Callable[[str], bytes | None]
    api: Callable[[Request], Response] | None
    server_version = "crowd-monitor"
    timeout: float  # each connection's socket timeout (StreamRequestHandler applies it): idle clients go

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        """Serve /healthz, /metrics, /status.json, heatmaps, the pages and the /api/ endpoints."""
        path, _, query = self.path.partition("?")
        if path.startswith("/api/"):
            self._send_api(Request("GET", path, query, self.headers))
        elif path == "/healthz":
            snap = self.snapshot()
            body = {"status": "ok" if snap.healthy else "unhealthy", "problems": list(snap.problems),
                    "warnings": list(snap.warnings), "engine": {"name": snap.engine, **snap.precision}}
            code = HTTPStatus.OK if snap.healthy else HTTPStatus.SERVICE_UNAVAILABLE
            self._send(code, JSON, json.dumps(body).encode())
        elif path == "/metrics":
            self._send(HTTPStatus.OK, "text/plain; version=0.0.4; charset=utf-8",
                       render_metrics(self.snapshot()).encode())
        elif path == "/status.json":
            self._send(HTTPStatus.OK, JSON, json.dumps(self.snapshot().to_json()).encode())
        elif path.startswith("/heatmap/") and path.endswith(".jpg"):
            jpeg = self.heatmap(unquote(path[len("/heatmap/"):-len(".jpg")]))
            if jpeg is None:
                self._send(HTTPStatus.NOT_FOUND, "text/plain", b"no heatmap yet\n")
            else:
                self._send(HTTPStatus.OK, "image/jpeg", jpeg)
        else:
            self._send_page(path)

    def do_PUT(self) -> None:  # noqa: N802
        """Writes go to /api/ only (its routes check the console token), with a body of at most MAX_BODY_BYTES."""
        path, _, query = self.path.partition("?")
        if not path.startswith("/api/"):
            self._send(HTTPStatus.METHOD_NOT_ALLOWED, JSON, b'{"error": "read-only: only /api/ takes writes"}')
            return
        body = self._read_body()
        if body is not None:
            self._send_api(Request(self.command, path, query, self.headers, body))

    do_POST = do_PUT  # noqa: N815

    def _read_body(self) -> bytes | None:
        """The request's body; None once a refusal is sent (chunked, a bad length, too large)."""
        length = (self.headers.get("Content-Length") or "0").strip()  # none: no body (RFC 9112)
        chunked = "chunked" in (self.headers.get("Transfer-Encoding") or "").lower()
        if not chunked and length.isdigit() and int(length) <= MAX_BODY_BYTES:
            return self.rfile.read(int(length))
        code = HTTPStatus.REQUEST_ENTITY_TOO_LARGE if length.isdigit() and not chunked else HTTPStatus.LENGTH_REQUIRED
        self.close_connection = True  # the body is not read: the connection cannot be reused
        self._send(code, JSON, json.dumps({"error": f"a body needs a Content-Length of at most {MAX_BODY_BYTES} "
                                                    "bytes"}).encode())
        return None

    def _send_page(self, path: str) -> None:
        """A file of monitor/web: a page, its script or its style sheet; 404 for anything else."""
        name = ALIASES.get(path) or (path[1:] if PAGE.match(path) else None)
        page = resources.files("monitor.web").joinpath(name) if name else None
        if page is None or not page.is_file():
            self._send(HTTPStatus.NOT_FOUND, "text/plain", b"not found\n")
            return
        self._send(HTTPStatus.OK, PAGE_TYPES[name.rsplit(".", 1)[1]], page.read_bytes())

    def _send_api(self, request: Request) -> None:
        if self.api is None:
            self._send(HTTPStatus.NOT_FOUND, JSON, b'{"error": "no /api/ on this server"}')
            return
        self._send_answer(self.api(request))

    def _send_answer(self, answer: Response) -> None:
        """A Response; a streamed body (CSV export, event stream) goes out in chunks, then the connection closes."""
        if isinstance(answer.body, bytes):
            self._send(answer.code, answer.content_type, answer.body, answer.filename)
            return
        self.send_response(answer.code)
        self.send_header("Content-Type", answer.content_type)
        if answer.filename:
            self.send_header("Content-Disposition", f'attachment; filename="{answer.filename}"')
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")  # no length known: the end of the body is the end of the stream
        self.end_headers()
        self.close_connection = True
        try:
            for chunk in answer.body:
                self.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass  # the client went away (a closed browser tab): nothing to report
        finally:
            answer.body.close()  # a generator closes its database connection or leaves the event stream

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
