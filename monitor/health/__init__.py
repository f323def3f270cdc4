"""Local HTTP endpoint: /healthz, Prometheus /metrics, the status page and console pages, and one /api/."""

from .server import HealthServer
from .snapshot import CameraHealth, HealthSnapshot

__all__ = ["CameraHealth", "HealthServer", "HealthSnapshot"]
