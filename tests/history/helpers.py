"""Records with explicit timestamps for the history tests."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import numpy as np

from monitor.config.history import HistoryConfig
from monitor.history import HistoryRecorder
from monitor.types import (AggregateUpdate, AlertEvent, CameraState, CameraStatus, DensityResult, EventType, Frame,
                           Level, StageTimings, ZoneState)

T0 = float(int(time.time()) // 3600 * 3600 - 7200)  # a whole hour, recent (retention keeps it)


def state(ts: float, count: float | None, zone: str = "floor", camera: str = "hall", density: float | None = None,
          alert_id: str | None = None) -> ZoneState:
    return ZoneState(camera, zone, ts, count, count, density, 10.0 if density is not None else None,
                     Level.NORMAL, alert_id=alert_id)


def update(*states: ZoneState, events: tuple[AlertEvent, ...] = ()) -> AggregateUpdate:
    return AggregateUpdate((), tuple(states), events)


def event(kind: EventType, ts: float, count: float, level: Level = Level.WARNING, started: float = T0,
          alert_id: str = "a1", ended: float | None = None) -> AlertEvent:
    return AlertEvent(alert_id, kind, "hall", "floor", level, count, None, 20.0, "count", started, ended, ts)


def status(camera: str, state_: CameraState, since: float, reason: str = "") -> CameraStatus:
    return CameraStatus(camera, state_, reason, since)


def result(ts: float, density: np.ndarray, camera: str = "hall") -> DensityResult:
    frame = Frame(camera, 1, ts, np.zeros((8, 8, 3), np.uint8))
    return DensityResult(frame, density.astype(np.float32), StageTimings(0, 0, 0), ts)


def recorder(path: Path, **options) -> HistoryRecorder:
    rec = HistoryRecorder(HistoryConfig(**{"commit_s": 0.1, **options}), path)
    rec.start()
    assert rec.ready.wait(10)
    return rec


def rows(path: Path, sql: str, *args) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql, args).fetchall()
