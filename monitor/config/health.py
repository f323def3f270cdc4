"""The local HTTP endpoint: /healthz, /metrics, the status page and the operator console."""

from __future__ import annotations

from pydantic import AfterValidator, Field, SecretStr
from typing_extensions import Annotated

from .base import StrictModel

MIN_TOKEN_LENGTH = 16


def _long_enough(token: SecretStr) -> SecretStr:
    if len(token.get_secret_value()) < MIN_TOKEN_LENGTH:
        raise ValueError(f"must be at least {MIN_TOKEN_LENGTH} characters (a random string, e.g. from "
                         "'openssl rand -hex 16')")
    return token


class HealthConfig(StrictModel):
    """Where the health, metrics and console endpoint listens (localhost by default)."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)  # 0: any free port (tests)
    # Every console write (zone editor saves, calibration) needs this token; None: the systemd
    # credential ``console_token`` if there is one, else writes are refused.  Reading needs no token.
    console_token: Annotated[SecretStr, AfterValidator(_long_enough)] | None = None
