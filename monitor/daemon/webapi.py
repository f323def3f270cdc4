"""One ``/api/`` for the health server: history (read-only) and calibration (reads and token-checked writes)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ..calibration.console import PREFIX as CALIBRATION, CalibrationConsole
from ..history.api import Response, json_response


class ApiRouter:
    """Sends each ``/api/`` request to the part that serves it."""

    def __init__(self, history: Callable[[str, str], Response] | None, calibration: CalibrationConsole):
        self._history = history
        self._calibration = calibration

    def get(self, path: str, query: str) -> Response:
        """A GET: calibration under ``/api/calibration``, everything else from the history."""
        if _under(path, CALIBRATION):
            return self._calibration.get(path, query)
        if self._history is None:
            return json_response({"error": "history is disabled"}, 404)
        return self._history(path, query)

    def post(self, path: str, query: str, headers: Mapping[str, str], body: bytes) -> Response:
        """A POST: only the calibration writes take one."""
        if _under(path, CALIBRATION):
            return self._calibration.post(path, query, headers, body)
        return json_response({"error": "no such endpoint for POST"}, 404)


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")
