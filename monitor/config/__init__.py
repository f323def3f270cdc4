"""Typed configuration: one model per concern, loaded from YAML with precise error messages."""

from .alerts import AlertsConfig, SmoothingConfig
from .camera import CalibrationConfig, CameraConfig
from .errors import ConfigError, Problem
from .health import HealthConfig
from .history import HistoryConfig
from .loader import load_config, parse_config
from .model import ModelConfig
from .mqtt import HeatmapConfig, MqttConfig, TLSConfig
from .root import MonitorConfig
from .site import RemoteZonesConfig, SiteZoneConfig
from .zone import Threshold, ZoneConfig

__all__ = [
    "AlertsConfig", "CalibrationConfig", "CameraConfig", "ConfigError", "HealthConfig", "HeatmapConfig", "HistoryConfig",
    "ModelConfig", "MonitorConfig", "MqttConfig", "Problem", "RemoteZonesConfig", "SiteZoneConfig",
    "SmoothingConfig", "TLSConfig", "Threshold", "ZoneConfig", "load_config", "parse_config",
]
