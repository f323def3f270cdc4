"""JSON answers of the console's endpoints."""

from __future__ import annotations

import json
from typing import Any

from ..history.api import Response


def json_answer(body: Any, code: int = 200) -> Response:
    """A JSON response."""
    return Response(code, "application/json", json.dumps(body, allow_nan=False).encode())


def error(code: int, message: str, **more: Any) -> Response:
    """``{"error": message, ...}`` with an HTTP error status."""
    return json_answer({"error": message, **more}, code)
