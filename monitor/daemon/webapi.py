"""One ``/api/`` for the health server: history (read-only), the console's live view and zone editor,
and calibration by clicks.  Every write (PUT, POST) passes the console token here, before any route."""

from __future__ import annotations

import logging
from collections.abc import Callable

from ..calibration.console import PREFIX as CALIBRATION, CalibrationConsole
from ..config import MonitorConfig
from ..console import Console
from ..console.live import LiveSource
from ..health.auth import WriteToken, write_token
from ..health.messages import Request, Response, error_response
from ..history import HistoryRecorder
from ..history.api import HistoryApi

log = logging.getLogger(__name__)
READS = ("GET",)


class ApiRouter:
    """Sends each ``/api/`` request to the part that serves it; parts left out answer 404."""

    def __init__(self, token: WriteToken, history: Callable[[str, str], Response] | None = None,
                 console: Console | None = None, calibration: CalibrationConsole | None = None):
        self._token, self._history, self._console, self._calibration = token, history, console, calibration

    def __call__(self, request: Request) -> Response:
        """The answer to one request; a write without the right token goes no further (401/403)."""
        if request.method not in READS:
            refused = self._token.check(request.headers)
            if refused is not None:
                log.warning("console: %s %s refused (%d)", request.method, request.path, refused[0])
                return error_response(*refused)
        if self._calibration is not None and _under(request.path, CALIBRATION):
            return self._calibration.handle(request)
        answer = self._console.handle(request) if self._console is not None else None
        if answer is not None:
            return answer
        if request.method not in READS:
            return error_response(405, "read-only endpoint: writes go to /api/config and /api/calibration/...")
        if self._history is None:
            return error_response(404, "history is disabled")
        return self._history(request.path, request.query)


def daemon_api(config_path: str, config: Callable[[], MonitorConfig], source: LiveSource,
               reload: Callable[[], None], reload_status: Callable[[], dict],
               history: HistoryRecorder | None) -> tuple[ApiRouter, Console]:
    """The daemon's ``/api/`` (token read now, at start) and its console (closed at shutdown)."""
    token = write_token(config().health)
    console = Console(config_path, config, source, reload, reload_status, saving=token.value is not None)
    history_api = (HistoryApi(history.path, config, history.status, history.config.bucket_s).handle
                   if history is not None else None)
    return ApiRouter(token, history_api, console, CalibrationConsole(config, config_path, reload)), console


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")
