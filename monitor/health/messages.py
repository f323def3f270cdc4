"""What the health server's routes take and give: one request, one response, JSON answers."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Request:
    """One HTTP request under ``/api/`` as its route sees it (the body is read and size-checked)."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes = b""


@dataclass(frozen=True)
class Response:
    """What the HTTP handler sends: a status, a content type and the body (bytes or chunks)."""

    code: int
    content_type: str
    body: bytes | Iterator[bytes]
    filename: str | None = None  # sent as an attachment


def json_response(body: Any, code: int = 200) -> Response:
    """``body`` as a JSON answer."""
    return Response(code, "application/json", json.dumps(body, allow_nan=False).encode())


def error_response(code: int, message: str, **more: Any) -> Response:
    """``{"error": message, ...}`` with an HTTP error status."""
    return json_response({"error": message, **more}, code)
