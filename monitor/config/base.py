"""Shared pieces of the config models: strict base model, thresholds, polygons."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from .geometry import MAX_POLYGON_POINTS

# A relative image point [x, y], both in 0..1 (0,0 is the top-left corner).
RelPoint = Annotated[list[Annotated[float, Field(ge=0.0, le=1.0)]], Field(min_length=2, max_length=2)]
# A polygon of relative points; geometry (area, self-intersection) is checked in ``geometry``.
RelPolygon = Annotated[list[RelPoint], Field(min_length=3, max_length=MAX_POLYGON_POINTS)]

Seconds = Annotated[float, Field(ge=0.0)]
PositiveSeconds = Annotated[float, Field(gt=0.0)]


def _multiple_of_8(value: int) -> int:
    if value % 8:
        raise ValueError(f"must be a multiple of 8 (the model's stride), e.g. {value - value % 8}")
    return value


# The long side frames are resized to before inference: the model's stride is 8.
InputSide = Annotated[int, Field(ge=64, le=8192), AfterValidator(_multiple_of_8)]


class StrictModel(BaseModel):
    """Base of every config model: unknown keys are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)
