"""Plain HTTP GETs on a daemon's health endpoint, for tests."""

from __future__ import annotations

import urllib.error
import urllib.request


def http_get(port: int, path: str, timeout: float = 10.0) -> tuple[int, str]:
    """Status and body of ``GET http://127.0.0.1:PORT/PATH``; an error status still carries its body."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()
