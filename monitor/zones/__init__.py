"""Zones: polygon masks on density maps, persons per square metre, smoothing and alert state machines.

The daemon feeds an ``Aggregator`` with density results and camera statuses and hands the
``AggregateUpdate`` it returns to the publisher.
"""

from .aggregator import Aggregator
from .alarm import AlertMachine, Measurement
from .masks import CameraMasks, MaskCache, build_masks
from .remote import RemoteZones
from .rules import AlertRule, LevelRule, resolve_rule
from .smoothing import WindowSmoother

__all__ = [
    "Aggregator", "AlertMachine", "AlertRule", "CameraMasks", "LevelRule", "MaskCache", "Measurement",
    "RemoteZones", "WindowSmoother", "build_masks", "resolve_rule",
]
