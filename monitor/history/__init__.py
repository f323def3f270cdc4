"""History: zone counts per minute and hour, alerts, camera states and hourly density maps in SQLite."""

from .recorder import HistoryRecorder
from .store import HistoryUnavailable

__all__ = ["HistoryRecorder", "HistoryUnavailable"]
