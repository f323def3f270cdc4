"""The console's write token: every request that changes something must carry it; reading needs none.

The token is ``health.console_token`` or else the systemd credential ``console_token``, read once at
start (health settings take effect at the next restart).  A write carries it as
``Authorization: Bearer TOKEN`` or ``X-Console-Token: TOKEN``.  With no token configured every
write is refused (403); a missing or wrong token gets 401.
"""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..config.health import MIN_TOKEN_LENGTH, HealthConfig

log = logging.getLogger(__name__)
CREDENTIAL = "console_token"  # systemd: LoadCredential=console_token:/etc/crowd-monitor/credentials/console_token
HEADER = "X-Console-Token"  # or "Authorization: Bearer TOKEN"
NOT_CONFIGURED = ("writes are disabled: no console token is configured; set health.console_token "
                  f"({MIN_TOKEN_LENGTH}+ characters, e.g. \"{{CONSOLE_TOKEN}}\") or give the service the systemd "
                  f"credential '{CREDENTIAL}', then restart the daemon")
MISSING = "this request changes something: send the console token (Authorization: Bearer TOKEN)"
WRONG = "wrong console token"


@dataclass(frozen=True)
class WriteToken:
    """The token writes must carry; ``value`` None: writes are refused."""

    value: str | None
    source: str | None = None  # "config" or "credential"

    def check(self, headers: Mapping[str, str]) -> tuple[int, str] | None:
        """None when ``headers`` carry the token, else (HTTP status, why): 403 without a token, 401 missing or wrong."""
        if self.value is None:
            return 403, NOT_CONFIGURED
        given = presented_token(headers)
        if given is None:
            return 401, MISSING
        if not hmac.compare_digest(given.encode(), self.value.encode()):
            return 401, WRONG
        return None


def presented_token(headers: Mapping[str, str]) -> str | None:
    """The token a request carries: ``Authorization: Bearer`` or ``X-Console-Token``."""
    scheme, _, value = (headers.get("Authorization") or "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return (headers.get(HEADER) or "").strip() or None


def write_token(health: HealthConfig, environ: Mapping[str, str] | None = None) -> WriteToken:
    """The configured token: the config key wins, then ``$CREDENTIALS_DIRECTORY/console_token``."""
    if health.console_token is not None:
        return WriteToken(health.console_token.get_secret_value(), "config")
    folder = (os.environ if environ is None else environ).get("CREDENTIALS_DIRECTORY")
    path = Path(folder) / CREDENTIAL if folder else None
    if path is None or not path.is_file():
        return WriteToken(None)
    value = path.read_text(encoding="utf-8").strip()
    if len(value) < MIN_TOKEN_LENGTH:
        log.error("credential %s is shorter than %d characters: console writes are disabled", CREDENTIAL,
                  MIN_TOKEN_LENGTH)
        return WriteToken(None)
    return WriteToken(value, "credential")
