"""The console's ``/api/`` routes: the live view and its stream, camera pictures, and config reads and saves.

Its pages are files of ``monitor/web`` served by the health server; the console token is checked by
the API router before any write reaches ``handle``.
"""

from __future__ import annotations

from collections.abc import Callable

from ..config import MonitorConfig
from ..health.messages import Request, Response, error_response, json_response
from .live import LiveSource, LiveView
from .pictures import Pictures
from .saving import ConfigFile
from .stream import EventStreams

WRITES = ("PUT", "POST")


class Console:
    """Answers the console's requests; ``handle`` returns None for paths it does not serve."""

    def __init__(self, config_path: str, config: Callable[[], MonitorConfig], source: LiveSource,
                 reload: Callable[[], None], reload_status: Callable[[], dict], saving: bool):
        self.live = LiveView(config, source)
        self.streams = EventStreams(self.live.get)
        self.pictures = Pictures(source)
        self.file = ConfigFile(config_path, reload, reload_status)
        self._reads = {"/api/live": lambda req: json_response(self.live.get()), "/api/events": self._events,
                       "/api/frame": self.pictures.answer, "/api/config": lambda req: self.file.read(saving)}

    def handle(self, request: Request) -> Response | None:
        """The answer to a console request, or None (not the console's path)."""
        path = request.path.rstrip("/") or "/"
        if path == "/api/config" and request.method in WRITES:
            return self.file.save(request.body)
        if path in self._reads:
            return self._reads[path](request) if request.method == "GET" else error_response(405, "method not allowed")
        return None

    def close(self) -> None:
        """End the open event streams (daemon shutdown)."""
        self.streams.close()

    def _events(self, request: Request) -> Response:
        stream = self.streams.open()
        if stream is None:
            return error_response(503, "too many open live streams; poll /api/live instead")
        return Response(200, "text/event-stream", stream)
