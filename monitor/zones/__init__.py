"""Zones: polygon masks on density maps, persons per square metre, smoothing and alert state machines.

The daemon feeds an ``Aggregator`` with density results and camera statuses and hands the
``AggregateUpdate`` it returns to the publisher.
"""

from .aggregator import Aggregator
from .alarm import AlertMachine, Measurement
from .calibration import CalibrationError, cell_floor_areas, floor_area, homography
from .coverage import polygon_coverage, union_coverage
from .masks import CameraMasks, MaskCache, build_masks
from .rules import AlertRule, LevelRule, resolve_rule
from .smoothing import WindowSmoother

__all__ = [
    "Aggregator", "AlertMachine", "AlertRule", "CalibrationError", "CameraMasks", "LevelRule", "MaskCache",
    "Measurement", "WindowSmoother", "build_masks", "cell_floor_areas", "floor_area", "homography",
    "polygon_coverage", "resolve_rule", "union_coverage",
]
