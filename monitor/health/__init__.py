"""Local HTTP endpoint: /healthz, Prometheus /metrics, and a status page with the latest heatmaps."""

from .server import HealthServer
from .snapshot import CameraHealth, HealthSnapshot

__all__ = ["CameraHealth", "HealthServer", "HealthSnapshot"]
