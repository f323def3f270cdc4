"""Alert timing and smoothing: defaults for every zone, overridable per zone."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import PositiveSeconds, Seconds, StrictModel


class SmoothingConfig(StrictModel):
    """Temporal smoothing of counts; the raw value is always published beside the smoothed one."""

    method: Literal["median", "mean", "none"] = "median"  # median shrugs off single-frame spikes
    window_s: PositiveSeconds = 5.0


class AlertsConfig(StrictModel):
    """Defaults of the per-zone alert state machines."""

    raise_after_s: Seconds = 10.0  # a level must hold this long before an alert starts
    clear_after_s: Seconds = 30.0  # below the exit level this long before an alert ends
    hysteresis: float = Field(default=0.1, ge=0.0, lt=1.0)  # exit level = threshold x (1 - hysteresis)
    cooldown_s: Seconds = 60.0  # after an alert ends, a new one in the same zone waits this long
    update_interval_s: PositiveSeconds = 60.0  # "update" events while an alert lasts, at most this often
    smoothing: SmoothingConfig = SmoothingConfig()
