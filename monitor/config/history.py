"""History: minute and hourly counts, alerts, camera states and heatmaps kept in SQLite."""

from __future__ import annotations

from pydantic import Field

from .base import StrictModel


class HistoryConfig(StrictModel):
    """Where and how long the daemon keeps its history (served under ``/api/`` on the health port)."""

    enabled: bool = True
    path: str | None = None  # None: STATE_DIR/history.sqlite3
    minute_days: int = Field(default=30, ge=1, le=3650)  # per-minute rows kept this long
    hourly_days: int = Field(default=365, ge=1, le=36500)  # hourly rollups and heatmaps kept this long
    max_mb: float = Field(default=1024.0, ge=1.0)  # oldest rows go first beyond this size
    bucket_s: int = Field(default=60, ge=1, le=3600)  # length of a "minute" row (shorter only for tests)
    commit_s: float = Field(default=5.0, gt=0.0, le=60.0)  # the writer commits a batch this often
