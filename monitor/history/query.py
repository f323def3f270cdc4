"""Reading the history: series of a zone, alerts, camera states, heatmaps and CSV rows.

Every function takes a read-only connection and a time range [t0, t1) in epoch seconds.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import datetime, timezone

import numpy as np

from .maps import mean_map
from .store import HOUR_S

TABLES = {"minute": "zone_minutes", "hour": "zone_hours"}
COLUMNS = {"count": ("n", "count_min", "count_sum", "count_max"),
           "density": ("dn", "density_min", "density_sum", "density_max")}
CSV_HEADER = ("camera", "zone", "t", "time_utc", "samples", "count_min", "count_mean", "count_max",
              "density_min", "density_mean", "density_max")


def series(conn: sqlite3.Connection, camera: str, zone: str, metric: str, t0: float, t1: float,
           resolution: str) -> list[dict]:
    """Buckets of one zone's ``metric`` (count or density): t, samples, min, mean, max."""
    n, low, total, high = COLUMNS[metric]
    rows = conn.execute(f"SELECT t, {n}, {low}, {total}, {high} FROM {TABLES[resolution]} "
                        "WHERE camera = ? AND zone = ? AND t >= ? AND t < ? ORDER BY t",
                        (camera, zone, _bucket_floor(t0, resolution), t1))
    return [{"t": t, "samples": k, "min": lo, "mean": s / k, "max": hi} for t, k, lo, s, hi in rows if k]


def _bucket_floor(t0: float, resolution: str) -> float:
    """Hour rows start on the hour: an hour that began before ``t0`` still overlaps the range."""
    return (t0 // HOUR_S) * HOUR_S if resolution == "hour" else t0


def _where(where: list[str], args: list, camera: str | None, zone: str | None) -> tuple[list[str], list]:
    """``where``/``args`` with the optional camera and zone filters added."""
    for column, value in (("camera", camera), ("zone", zone)):
        if value is not None:
            where, args = [*where, f"{column} = ?"], [*args, value]
    return where, args


def alerts(conn: sqlite3.Connection, t0: float, t1: float, camera: str | None = None, zone: str | None = None,
           limit: int = 1000) -> list[dict]:
    """Alert episodes overlapping the range (still open ones have ``ended_at`` null), oldest first."""
    where, args = _where(["started_at < ?", "coalesce(ended_at, 1e300) >= ?"], [t1, t0], camera, zone)
    cursor = conn.execute("SELECT id, camera, zone, level, metric, threshold, started_at, ended_at, peak_count, "
                          f"peak_density, closed_by FROM alerts WHERE {' AND '.join(where)} "
                          "ORDER BY started_at LIMIT ?", (*args, limit))
    names = [c[0] for c in cursor.description]
    return [dict(zip(names, row)) for row in cursor]


def camera_states(conn: sqlite3.Connection, camera: str | None, t0: float, t1: float,
                  limit: int = 10000) -> list[dict]:
    """State changes in the range, preceded by the state each camera was in at ``t0``."""
    cameras = [camera] if camera is not None else [r[0] for r in conn.execute(
        "SELECT DISTINCT camera FROM camera_states")]
    found = []
    for name in cameras:
        before = conn.execute("SELECT camera, ts, state, reason FROM camera_states WHERE camera = ? AND ts < ? "
                              "ORDER BY ts DESC LIMIT 1", (name, t0)).fetchall()
        inside = conn.execute("SELECT camera, ts, state, reason FROM camera_states WHERE camera = ? AND ts >= ? "
                              "AND ts < ? ORDER BY ts LIMIT ?", (name, t0, t1, limit)).fetchall()
        found += [{"camera": c, "ts": ts, "state": s, "reason": r} for c, ts, s, r in before + inside]
    return found


def heatmap(conn: sqlite3.Connection, camera: str, t0: float, t1: float) -> tuple[np.ndarray | None, int, int]:
    """The camera's mean density grid over the hours overlapping the range, its frames and hours."""
    rows = conn.execute("SELECT w, h, n, mean FROM camera_maps WHERE camera = ? AND t >= ? AND t < ?",
                        (camera, (t0 // HOUR_S) * HOUR_S, t1)).fetchall()
    grid, frames = mean_map(rows)
    return grid, frames, len(rows)


def csv_rows(conn: sqlite3.Connection, t0: float, t1: float, resolution: str, camera: str | None = None,
             zone: str | None = None) -> Iterator[tuple]:
    """Rows for the CSV export (see CSV_HEADER), ordered by zone then time; read lazily."""
    where, args = _where(["t >= ?", "t < ?"], [_bucket_floor(t0, resolution), t1], camera, zone)
    cursor = conn.execute("SELECT camera, zone, t, n, count_min, count_sum, count_max, dn, density_min, density_sum, "
                          f"density_max FROM {TABLES[resolution]} WHERE {' AND '.join(where)} "
                          "ORDER BY camera, zone, t", args)
    for cam, zn, t, n, cmin, csum, cmax, dn, dmin, dsum, dmax in cursor:
        if not n:
            continue
        when = datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        yield (cam, zn, t, when, n, cmin, csum / n, cmax, dmin, dsum / dn if dn else None, dmax)
