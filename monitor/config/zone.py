"""Zones: a polygon of a camera's image, its floor area, and its alert thresholds."""

from __future__ import annotations

from typing import Literal

from pydantic import AfterValidator, Field, model_validator
from typing_extensions import Annotated

from ..geometry import polygon_problem
from .base import RelPolygon, Seconds, StrictModel


def _usable_polygon(points: list[list[float]]) -> list[list[float]]:
    problem = polygon_problem(points)
    if problem:
        raise ValueError(problem)
    return points


ZonePolygon = Annotated[RelPolygon, AfterValidator(_usable_polygon)]


class Threshold(StrictModel):
    """A level's threshold: exactly one of a head count or a density in persons per square metre."""

    count: float | None = Field(default=None, gt=0)
    density: float | None = Field(default=None, gt=0, le=20)

    @model_validator(mode="after")
    def _exactly_one(self) -> "Threshold":
        if (self.count is None) == (self.density is None):
            raise ValueError("give exactly one of 'count' or 'density'")
        return self

    @property
    def metric(self) -> Literal["count", "density"]:
        """Which measurement the threshold applies to."""
        return "count" if self.count is not None else "density"

    @property
    def value(self) -> float:
        """The threshold value in its metric's unit."""
        return self.count if self.count is not None else self.density  # type: ignore[return-value]


class AlertLevels(StrictModel):
    """Thresholds and optional per-zone overrides of the alert timing defaults."""

    warning: Threshold | None = None
    critical: Threshold | None = None
    raise_after_s: Seconds | None = None
    clear_after_s: Seconds | None = None
    hysteresis: float | None = Field(default=None, ge=0.0, lt=1.0)
    cooldown_s: Seconds | None = None


class ZoneConfig(AlertLevels):
    """A camera zone: where it is in the image and how big it is on the ground."""

    polygon: ZonePolygon
    area_m2: float | None = Field(default=None, gt=0)  # else derived from the camera's calibration
