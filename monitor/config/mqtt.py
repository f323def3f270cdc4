"""MQTT broker connection and publishing options."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from .base import PositiveSeconds, Seconds, StrictModel


def topic_base(value: str) -> str:
    """A topic prefix: non-empty, without wildcards, a leading/trailing '/' or a leading '$' (ValueError)."""
    if not value or any(c in value for c in "+#") or value.startswith("/") or value.endswith("/"):
        raise ValueError("must be a non-empty topic without '+', '#' or a leading/trailing '/'")
    if value.startswith("$"):
        # Brokers keep '$' topics ($SYS, $share) to themselves and deny publishing there.
        raise ValueError(f"'{value}' starts with '$': such topics are reserved for the broker ($SYS), "
                         "which denies publishing to them; choose a prefix without a leading '$'")
    return value


class TLSConfig(StrictModel):
    """TLS to the broker; certificate verification is on unless explicitly disabled."""

    ca_file: str | None = None  # None: the system's trusted CAs
    cert_file: str | None = None  # client certificate (mutual TLS)
    key_file: str | None = None
    insecure: bool = False  # skip hostname/certificate verification (testing only)


class HeatmapConfig(StrictModel):
    """Optional JPEG density overlays on ``P/CAM/heatmap``."""

    enabled: bool = False
    interval_s: PositiveSeconds = 10.0  # at most one heatmap per camera per interval
    max_side: int = Field(default=640, ge=64, le=4096)
    quality: int = Field(default=80, ge=10, le=100)


class MqttConfig(StrictModel):
    """Where and how the daemon publishes (see the topic table in the README)."""

    host: str = "localhost"
    port: int = Field(default=1883, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    tls: TLSConfig | None = None
    topic_prefix: str = "crowd"
    client_id: str | None = None  # None: crowd-monitor-<hostname>; must be unique per daemon
    protocol: Literal["auto", "5", "3.1.1"] = "auto"
    keepalive_s: int = Field(default=30, ge=5, le=3600)
    will_delay_s: Seconds = 5.0  # MQTT 5: a blip shorter than this does not flash "offline"
    homeassistant: bool = True
    discovery_prefix: str = "homeassistant"
    heartbeat_s: PositiveSeconds = 30.0  # state is republished at least this often
    state_expiry_s: PositiveSeconds = 120.0  # MQTT 5 message expiry of retained state
    stats_interval_s: PositiveSeconds = 30.0
    outbox_size: int = Field(default=1000, ge=1, le=1_000_000)  # QoS 1 events kept while offline
    reconnect_max_s: PositiveSeconds = 60.0
    heatmap: HeatmapConfig = HeatmapConfig()

    @field_validator("topic_prefix", "discovery_prefix", "client_id", "username")
    @classmethod
    def _no_nul(cls, value: str | None) -> str | None:
        if value is not None and "\0" in value:
            # MQTT forbids U+0000 in strings: the broker would close every connection.
            raise ValueError("must not contain the NUL character (\\0); MQTT forbids it in topics and names")
        return value

    @field_validator("topic_prefix", "discovery_prefix")
    @classmethod
    def _topic_base(cls, value: str) -> str:
        return topic_base(value)

    @model_validator(mode="after")
    def _state_outlives_heartbeat(self) -> "MqttConfig":
        if self.state_expiry_s <= self.heartbeat_s:
            raise ValueError("state_expiry_s must be longer than heartbeat_s, or retained state would expire"
                             " between heartbeats")
        return self
