"""The console's routes: its pages, the live view and stream, camera pictures, and config reads and saves."""

from __future__ import annotations

import logging
from collections.abc import Callable
from importlib import resources

from ..config import MonitorConfig
from ..health.server import Request
from ..history.api import Response
from .answers import error, json_answer
from .auth import WriteToken
from .live import LiveSource, LiveView
from .pictures import Pictures
from .saving import ConfigFile
from .stream import EventStreams

log = logging.getLogger(__name__)
PAGES = {"/console": ("console.html", "text/html; charset=utf-8"),
         "/console.js": ("console.js", "text/javascript; charset=utf-8"),
         "/editor.js": ("editor.js", "text/javascript; charset=utf-8"),
         "/console.css": ("console.css", "text/css; charset=utf-8")}


class Console:
    """Answers the console's requests; ``handle`` returns None for paths it does not serve."""

    def __init__(self, config_path: str, config: Callable[[], MonitorConfig], source: LiveSource,
                 reload: Callable[[], None], reload_status: Callable[[], dict], token: WriteToken):
        self.live = LiveView(config, source)
        self.streams = EventStreams(self.live.get)
        self.pictures = Pictures(source)
        self.file = ConfigFile(config_path, reload, reload_status)
        self.token = token
        self._reads = {"/api/live": lambda req: json_answer(self.live.get()), "/api/events": self._events,
                       "/api/frame": self.pictures.answer, "/api/config": lambda req: self.file.read(token)}

    def handle(self, request: Request) -> Response | None:
        """The answer to a console request, or None (not the console's path)."""
        path = request.path.rstrip("/") or "/"
        if path in PAGES:
            return self._page(*PAGES[path]) if request.method == "GET" else _read_only()
        if path == "/api/config" and request.method in ("PUT", "POST"):
            return self._save(request)
        if path in self._reads:
            return self._reads[path](request) if request.method == "GET" else _read_only()
        return None

    def close(self) -> None:
        """End the open event streams (daemon shutdown)."""
        self.streams.close()

    def _page(self, name: str, content_type: str) -> Response:
        return Response(200, content_type, resources.files("monitor.web").joinpath(name).read_bytes())

    def _events(self, request: Request) -> Response:
        stream = self.streams.open()
        if stream is None:
            return error(503, "too many open live streams; poll /api/live instead")
        return Response(200, "text/event-stream", stream)

    def _save(self, request: Request) -> Response:
        refused = self.token.check(request.headers)
        if refused is not None:
            log.warning("console: config save refused (%d)", refused[0])
            return error(refused[0], refused[1])
        return self.file.save(request.body)


def _read_only() -> Response:
    return error(405, "method not allowed")
