"""The console's write token: from ``health.console_token`` or the systemd credential ``console_token``.

Reading needs no token.  A write must carry it (``Authorization: Bearer TOKEN`` or
``X-Console-Token: TOKEN``); with no token configured every write is refused.
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
CREDENTIAL = "console_token"  # LoadCredential=console_token:/etc/crowd-monitor/credentials/console_token
MIN_LENGTH = MIN_TOKEN_LENGTH
NOT_CONFIGURED = ("saving is disabled: no console token is configured; set health.console_token "
                  f"({MIN_LENGTH}+ characters, e.g. \"{{CONSOLE_TOKEN}}\") or give the service the systemd "
                  f"credential '{CREDENTIAL}', then restart the daemon")
WRONG = "a valid console token is required to save (Authorization: Bearer TOKEN)"


@dataclass(frozen=True)
class WriteToken:
    """The token writes must carry; ``value`` None: writes are refused."""

    value: str | None
    source: str | None = None  # "config" or "credential"

    def check(self, headers: Mapping[str, str]) -> tuple[int, str] | None:
        """None when ``headers`` carry the token, else (HTTP status, why): 403 without a token, 401 wrong."""
        if self.value is None:
            return 403, NOT_CONFIGURED
        given = _given(headers)
        if given is None or not hmac.compare_digest(given.encode(), self.value.encode()):
            return 401, WRONG
        return None


def _given(headers: Mapping[str, str]) -> str | None:
    auth = headers.get("Authorization") or ""
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return headers.get("X-Console-Token") or None


def write_token(health: HealthConfig, environ: Mapping[str, str] | None = None) -> WriteToken:
    """The configured token: the config key wins, then ``$CREDENTIALS_DIRECTORY/console_token``."""
    if health.console_token is not None:
        return WriteToken(health.console_token.get_secret_value(), "config")
    folder = (os.environ if environ is None else environ).get("CREDENTIALS_DIRECTORY")
    path = Path(folder) / CREDENTIAL if folder else None
    if path is None or not path.is_file():
        return WriteToken(None)
    value = path.read_text(encoding="utf-8").strip()
    if len(value) < MIN_LENGTH:
        log.error("credential %s is shorter than %d characters: console saving is disabled", CREDENTIAL, MIN_LENGTH)
        return WriteToken(None)
    return WriteToken(value, "credential")
