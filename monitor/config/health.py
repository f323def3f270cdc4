"""The local HTTP endpoint: /healthz, /metrics and the status page."""

from __future__ import annotations

from pydantic import Field

from .base import StrictModel


class HealthConfig(StrictModel):
    """Where the health and metrics endpoint listens (localhost by default: no auth on it)."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)  # 0: any free port (tests)
    console_token: str | None = Field(default=None, min_length=16)  # writes need it; None: $CREDENTIALS_DIRECTORY/console_token
