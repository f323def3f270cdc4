"""The console's write token: every request that changes something must carry it; reading needs none."""

from __future__ import annotations

import hmac
import os
from collections.abc import Mapping
from pathlib import Path

CREDENTIAL = "console_token"  # systemd: LoadCredential=console_token:/etc/crowd-monitor/console_token
HEADER = "X-Console-Token"  # or "Authorization: Bearer TOKEN"


class Unauthorized(Exception):
    """The request lacks the console token (401) or no token is configured at all (403)."""

    def __init__(self, message: str, code: int = 401):
        super().__init__(message)
        self.code = code


def console_token(configured: str | None, environ: Mapping[str, str] | None = None) -> str | None:
    """``health.console_token``, else ``$CREDENTIALS_DIRECTORY/console_token``; None when neither is set."""
    if configured:
        return configured
    cred_dir = (os.environ if environ is None else environ).get("CREDENTIALS_DIRECTORY")
    if cred_dir:
        path = Path(cred_dir) / CREDENTIAL
        if path.is_file():
            return path.read_text(encoding="utf-8").strip() or None
    return None


def presented_token(headers: Mapping[str, str]) -> str | None:
    """The token a request carries: ``X-Console-Token`` or ``Authorization: Bearer``."""
    token = headers.get(HEADER)
    if token:
        return token.strip()
    scheme, _, value = (headers.get("Authorization") or "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def require_token(headers: Mapping[str, str], config) -> None:
    """Raise ``Unauthorized`` unless ``headers`` carry the console token of ``config`` (a MonitorConfig)."""
    expected = console_token(config.health.console_token)
    if expected is None:
        raise Unauthorized("writes are disabled: no console token is configured (health.console_token, "
                           f"or the systemd credential {CREDENTIAL})", 403)
    given = presented_token(headers)
    if given is None:
        raise Unauthorized(f"this request changes something: send the console token ({HEADER} header)")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise Unauthorized("wrong console token")
