"""Shared pieces of the config models: strict base model, thresholds, polygons."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from ..geometry import MAX_POLYGON_POINTS

# A relative image point [x, y], both in 0..1 (0,0 is the top-left corner).
RelPoint = Annotated[list[Annotated[float, Field(ge=0.0, le=1.0)]], Field(min_length=2, max_length=2)]
# A polygon of relative points; geometry (area, self-intersection) is checked in ``monitor.geometry``.
RelPolygon = Annotated[list[RelPoint], Field(min_length=3, max_length=MAX_POLYGON_POINTS)]

Seconds = Annotated[float, Field(ge=0.0)]
PositiveSeconds = Annotated[float, Field(gt=0.0)]


def _multiple_of_8(value: int) -> int:
    if value % 8:
        raise ValueError(f"must be a multiple of 8 (the model's stride), e.g. {value - value % 8}")
    return value


class StrictModel(BaseModel):
    """Base of every config model: unknown keys are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _auto_or_side(value: object) -> object:
    """``auto``, or a long side in pixels (64..8192, a multiple of 8): one clear message otherwise."""
    if value == "auto":
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"must be 'auto' or a long side in pixels (a multiple of 8, 64 to 8192), not {value!r}")
    if not 64 <= value <= 8192:
        raise ValueError(f"must be 'auto' or a long side in pixels from 64 to 8192, not {value}")
    return _multiple_of_8(value)


# A max_side setting: "auto" (chosen from the camera's frames, engines.scale) or a fixed long side.
MaxSide = Annotated[int | str, BeforeValidator(_auto_or_side)]
