"""The whole configuration file: one section per concern."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .alerts import AlertsConfig
from .base import StrictModel
from .camera import CameraConfig
from .health import HealthConfig
from .history import HistoryConfig
from .model import ModelConfig
from .mqtt import MqttConfig
from .site import RemoteZonesConfig, SiteZoneConfig


class MonitorConfig(StrictModel):
    """Root of a crowd-monitor YAML file."""

    mqtt: MqttConfig = MqttConfig()
    model: ModelConfig = ModelConfig()
    alerts: AlertsConfig = AlertsConfig()
    health: HealthConfig = HealthConfig()
    history: HistoryConfig = HistoryConfig()
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # Calibration snapshots, models, history; None: $STATE_DIRECTORY or ~/.local/state/crowd-monitor.
    state_dir: str | None = None
    cameras: dict[str, CameraConfig] = Field(min_length=1)
    site_zones: dict[str, SiteZoneConfig] = {}
    remote_zones: RemoteZonesConfig = RemoteZonesConfig()
