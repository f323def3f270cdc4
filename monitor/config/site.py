"""Site zones: zones of several cameras summed into one count (a hall seen by two cameras), and zones
of other daemons (other boxes) read from their retained MQTT state."""

from __future__ import annotations

from typing import Any

from pydantic import AfterValidator, Field, model_validator
from typing_extensions import Annotated

from .base import PositiveSeconds, Seconds, StrictModel
from .mqtt import topic_base
from .zone import AlertLevels

# Another daemon's mqtt.topic_prefix: the same rules as ours.
RemotePrefix = Annotated[str, AfterValidator(topic_base)]


class SiteZoneConfig(AlertLevels):
    """Members as ``camera.zone`` references (ours, and other daemons' under ``remote``); written as a
    plain list when it has nothing else."""

    zones: list[str] = []
    # Other daemons' zones: their topic prefix -> ["camera.zone", ...] as named in their config
    # ("site.NAME" for one of their site zones); read from P/CAM/ZONE/state.
    remote: dict[RemotePrefix, list[str]] = {}
    area_m2: float | None = Field(default=None, gt=0)  # None: the sum of the members' areas
    # A member without fresh data may hold up to its last count x (1 + missing_margin) ...
    missing_margin: float = Field(default=0.5, ge=0.0, le=100.0)
    # ... for this long after that count; older, or never seen, it may hold any number.
    missing_trust_s: Seconds = 300.0

    @model_validator(mode="before")
    @classmethod
    def _list_shorthand(cls, data: Any) -> Any:
        return {"zones": data} if isinstance(data, list) else data

    @model_validator(mode="after")
    def _has_members(self) -> "SiteZoneConfig":
        if not self.zones and not any(self.remote.values()):
            raise ValueError("a site zone needs at least one member in 'zones' or 'remote'")
        return self


class RemoteZonesConfig(StrictModel):
    """How this daemon judges the other daemons' zones that its site zones name under ``remote``."""

    # Their state older than this (by its "ts") is stale; keep it above their mqtt.heartbeat_s
    # (state that does not change is refreshed only every heartbeat) and their clocks in sync (NTP).
    expiry_s: PositiveSeconds = 90.0
