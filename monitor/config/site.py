"""Site zones: zones of several cameras summed into one count (a hall seen by two cameras)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from .zone import AlertLevels


class SiteZoneConfig(AlertLevels):
    """Members as ``camera.zone`` references; written as a plain list when it has no thresholds."""

    zones: list[str] = Field(min_length=1)
    area_m2: float | None = Field(default=None, gt=0)  # None: the sum of the members' areas

    @model_validator(mode="before")
    @classmethod
    def _list_shorthand(cls, data: Any) -> Any:
        return {"zones": data} if isinstance(data, list) else data
