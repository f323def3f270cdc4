"""How big the history database grows per camera-day at the default settings.

Feeds the recorder's own accumulators and commit path one simulated day of a camera at 2 fps
with two zones and one site zone (Mall-like counts, a 640x480 frame's density map), committing
every ``commit_s`` of simulated time as the daemon does, then prints the file's size.

    python bench/history_size.py [--hours 24] [--out /tmp/history-size.sqlite3]
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np

from monitor.config.history import HistoryConfig
from monitor.history import HistoryRecorder
from monitor.history.store import connect_writer, used_bytes
from monitor.types import (AggregateUpdate, CameraState, CameraStatus, DensityResult, Frame, Level, StageTimings,
                           ZoneState)

FPS = 2.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--out", default="/tmp/history-size.sqlite3")
    args = parser.parse_args()
    found = simulate(args.hours, Path(args.out))
    print(f"{args.hours:g} h simulated in {found['seconds']:.0f} s, {found['commits']} commits; rows {found['rows']}")
    print(f"file {found['file_mb']:.2f} MB (pages in use {found['used_mb']:.2f} MB): {found['mb_per_camera_day']:.2f} "
          f"MB per camera-day (minute rows {found['minute_mb_per_day']:.2f} MB, hourly rows and maps "
          f"{found['hourly_mb_per_day']:.2f} MB)")
    print(f"steady state per camera: {found['mb_per_camera_year']:.0f} MB ({found['minute_days']} days of minutes, "
          f"{found['hourly_days']} days of hours and maps)")


def simulate(hours: float, path: Path) -> dict:
    """Simulate ``hours`` of one camera into a fresh file at ``path``; sizes per camera-day and -year."""
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    config = HistoryConfig()
    rec = HistoryRecorder(config, path)  # not started: this script plays its writer thread
    conn = connect_writer(path)
    start = (time.time() // 86400) * 86400 - 86400  # yesterday 00:00 UTC: retention keeps it
    began = time.monotonic()
    _feed(rec, conn, start, hours, config.commit_s)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    tables = {name: conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
              for name in ("zone_minutes", "zone_hours", "camera_maps", "camera_states", "alerts")}
    size, used = path.stat().st_size, used_bytes(conn)
    pages = dict(conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall())
    conn.close()
    scale = 24 / hours
    minutes = pages.get("zone_minutes", 0) * scale
    kept = (pages.get("camera_maps", 0) + pages.get("zone_hours", 0)) * scale
    # A camera-year at the default retention: minute rows of the last minute_days, hourly rows of hourly_days.
    year = minutes * min(config.minute_days, 365) + kept * min(config.hourly_days, 365)
    return {"hours": hours, "seconds": time.monotonic() - began, "commits": rec.commits, "rows": tables,
            "file_mb": size / 1e6, "used_mb": used / 1e6, "mb_per_camera_day": size * scale / 1e6,
            "minute_mb_per_day": minutes / 1e6, "hourly_mb_per_day": kept / 1e6, "mb_per_camera_year": year / 1e6,
            "minute_days": config.minute_days, "hourly_days": config.hourly_days}


def _feed(rec: HistoryRecorder, conn, start: float, hours: float, commit_s: float) -> None:
    """One camera at 2 fps, two zones and a site zone, committed every ``commit_s`` of simulated time."""
    rng = np.random.default_rng(0)
    density = np.zeros((60, 80), np.float32)
    image = np.zeros((8, 8, 3), np.uint8)
    rec._accumulate(CameraStatus("hall", CameraState.ONLINE, "", start))
    steps, next_commit = int(hours * 3600 * FPS), start + commit_s
    for i in range(steps):
        ts = start + i / FPS
        base = 30 + 15 * math.sin(ts / 3600)
        left, right = base * 0.6 + rng.normal(0, 2), base * 0.4 + rng.normal(0, 2)
        zones = (ZoneState("hall", "left", ts, left, left, left / 40, 40.0, Level.NORMAL),
                 ZoneState("hall", "right", ts, right, right, right / 30, 30.0, Level.NORMAL),
                 ZoneState("site", "all", ts, left + right, left + right, (left + right) / 70, 70.0, Level.NORMAL))
        rec._accumulate(AggregateUpdate((), zones, ()))
        density[:] = rng.random(density.shape, np.float32) * (base / density.size * 2)
        rec._pending_maps += 1
        rec._accumulate(DensityResult(Frame("hall", i, ts, image), density.copy(), StageTimings(0, 0, 0), ts))
        if ts >= next_commit:
            rec._commit(conn)
            next_commit = ts + commit_s
    rec._commit(conn)


if __name__ == "__main__":
    main()
