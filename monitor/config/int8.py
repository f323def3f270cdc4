"""INT8 by default on a CPU: calibrated on the cameras' own frames in the background, kept when checked."""

from __future__ import annotations

from pydantic import Field

from .base import PositiveSeconds, StrictModel


class AutoInt8Config(StrictModel):
    """``model.auto_int8``: what ``precision: auto`` does on a CPU before switching to INT8.

    The daemon counts with the float engine (bf16 or fp32) meanwhile; an explicit ``precision``
    turns this off.  See ``monitor.daemon.precision``.
    """

    enabled: bool = True
    calibration_frames: int = Field(default=32, ge=2, le=500)  # frames the INT8 ranges are fitted on
    check_frames: int = Field(default=16, ge=2, le=500)  # later frames on which INT8 must match the float engine
    frame_interval_s: PositiveSeconds = 2.0  # one frame of a camera kept at most this often (neighbours look alike)
    tolerance_pct: float = Field(default=1.0, gt=0.0, le=5.0)  # sum of the INT8 counts within this of the float's
    nice: int = Field(default=10, ge=0, le=19)  # CPU priority of the background job (19: lowest)
