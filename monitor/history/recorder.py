"""The history recorder: a sink fed by the daemon's main loop, written by its own thread.

The main loop only ever calls ``record_*``: a non-blocking put on a bounded queue (full: the item
is dropped and counted).  The writer thread accumulates in memory and commits one transaction
every ``commit_s``; a file it cannot use disables history with a one-line warning, the daemon runs on.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from ..config.history import HistoryConfig
from ..types import AggregateUpdate, CameraStatus, DensityResult
from .accum import Alerts, Buckets, CameraStates
from .maps import HourlyMaps
from .store import HOUR_S, HistoryUnavailable, apply_retention, connect_writer, enforce_size, used_bytes

log = logging.getLogger("monitor.history")

QUEUE_SIZE = 10_000  # items waiting for the writer; beyond this they are dropped and counted
MAX_PENDING_MAPS = 64  # density results hold their frame: few of them may wait
RETENTION_EVERY_S = 600.0


def _stats_upsert(table: str) -> str:
    """Merge a bucket's new samples into its stored row (a restart adds to the same minute)."""
    def least(col: str) -> str:
        return f"min(coalesce({col}, excluded.{col}), coalesce(excluded.{col}, {col}))"

    def most(col: str) -> str:
        return f"max(coalesce({col}, excluded.{col}), coalesce(excluded.{col}, {col}))"

    return (f"INSERT INTO {table} VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (camera, zone, t) DO UPDATE SET "
            f"n = n + excluded.n, count_min = {least('count_min')}, count_max = {most('count_max')}, "
            "count_sum = coalesce(count_sum, 0) + coalesce(excluded.count_sum, 0), dn = dn + excluded.dn, "
            f"density_min = {least('density_min')}, density_max = {most('density_max')}, "
            "density_sum = CASE WHEN dn + excluded.dn > 0 THEN "
            "coalesce(density_sum, 0) + coalesce(excluded.density_sum, 0) END")


MINUTES_SQL, HOURS_SQL = _stats_upsert("zone_minutes"), _stats_upsert("zone_hours")
ALERT_SQL = "INSERT OR REPLACE INTO alerts VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
STATE_SQL = "INSERT OR REPLACE INTO camera_states VALUES (?,?,?,?)"
MAP_SQL = ("INSERT INTO camera_maps (camera, t, w, h, n, mean) VALUES (?,?,?,?,?,?) "
           "ON CONFLICT (camera, t) DO UPDATE SET w = excluded.w, h = excluded.h, n = excluded.n, "
           "mean = excluded.mean")
# Alerts open in the file when we start were cut short by a stop or crash: they end at their last sample.
CLOSE_DANGLING_SQL = ("UPDATE alerts SET ended_at = coalesce(last_seen, started_at), closed_by = 'restart' "
                      "WHERE ended_at IS NULL")


class HistoryRecorder:
    """Keeps zone statistics, alerts, camera states and hourly density maps in ``path``."""

    def __init__(self, config: HistoryConfig, path: Path):
        self.config = config
        self.path = Path(path)
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=QUEUE_SIZE)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="history-writer", daemon=True)
        self._minutes, self._hours = Buckets(config.bucket_s), Buckets(HOUR_S)
        self._alerts, self._states, self._maps = Alerts(), CameraStates(), HourlyMaps()
        self._pending_maps = 0  # density results queued (guarded by _maps_lock: two threads change it)
        self._maps_lock = threading.Lock()
        self.dropped = 0
        self.commits = 0
        self.write_errors = 0
        self.error: str | None = None  # why history is off, when it is
        self.last_commit: float | None = None
        self.ready = threading.Event()  # set once the file is open (or known unusable)

    # -- main loop side (never blocks) ------------------------------------------------------
    def record_update(self, update: AggregateUpdate) -> None:
        """Zone states and alert events from the aggregator."""
        if update.zones or update.events:
            self._put(update)

    def record_status(self, status: CameraStatus) -> None:
        """A camera's state report."""
        self._put(status)

    def record_result(self, result: DensityResult) -> None:
        """A density map, for the camera's hourly mean map (skipped while many wait: they hold frames)."""
        with self._maps_lock:
            if self._pending_maps >= MAX_PENDING_MAPS:
                self.dropped += 1
                return
            self._pending_maps += 1
        if not self._put(result):
            with self._maps_lock:
                self._pending_maps -= 1

    def _put(self, item: Any) -> bool:
        """Queue ``item`` unless history is off or the queue is full (then drop and count it)."""
        if self.error is not None:
            return False
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self.dropped += 1
            return False
        return True

    # -- life cycle --------------------------------------------------------------------------
    def start(self) -> None:
        """Open the file and start writing, both in the writer thread."""
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Write what is queued, commit, and close the file."""
        self._stop.set()
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("history writer did not finish within %.0f s; the last seconds may be lost", timeout)

    def status(self) -> dict[str, Any]:
        """Figures for /api/status."""
        size = None
        try:
            size = self.path.stat().st_size
        except OSError:
            pass
        return {"enabled": self.error is None, "error": self.error, "path": str(self.path), "bytes": size,
                "queued": self._queue.qsize(), "dropped": self.dropped, "commits": self.commits,
                "write_errors": self.write_errors, "last_commit": self.last_commit,
                "bucket_s": self.config.bucket_s}

    # -- writer thread -------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            conn = connect_writer(self.path)
            conn.execute(CLOSE_DANGLING_SQL)
        except (HistoryUnavailable, sqlite3.Error) as exc:
            self.error = str(exc)
            log.warning("%s; running without history", self.error)
            self.ready.set()
            return
        self.ready.set()
        log.info("history in %s", self.path)
        try:
            self._write_loop(conn)
        except Exception as exc:  # a bug: say so once, stop taking records (the daemon runs on)
            self.error = f"history writer failed: {type(exc).__name__}: {exc}"
            log.error("%s; running without history", self.error, exc_info=True)
        finally:
            conn.close()

    def _write_loop(self, conn: sqlite3.Connection) -> None:
        next_commit = time.monotonic() + self.config.commit_s
        next_retention = time.monotonic()
        while True:
            stopping = self._stop.is_set()
            self._take_queued(timeout=0 if stopping else max(0.0, min(0.5, next_commit - time.monotonic())))
            now = time.monotonic()
            if stopping or now >= next_commit:
                self._commit(conn)
                next_commit = now + self.config.commit_s
            if now >= next_retention and not stopping:
                self._housekeeping(conn)
                next_retention = now + RETENTION_EVERY_S
            if stopping:
                return

    def _take_queued(self, timeout: float) -> None:
        """Accumulate everything queued; wait up to ``timeout`` for the first item."""
        try:
            item = self._queue.get(timeout=timeout) if timeout > 0 else self._queue.get_nowait()
        except queue.Empty:
            return
        while True:
            self._accumulate(item)
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return

    def _accumulate(self, item: Any) -> None:
        if isinstance(item, AggregateUpdate):
            for event in item.events:  # before the states: a state may raise the peak of a new alert
                self._alerts.event(event)
            for state in item.zones:
                self._minutes.add(state)
                self._hours.add(state)
                self._alerts.state(state)
        elif isinstance(item, CameraStatus):
            self._states.add(item)
        elif isinstance(item, DensityResult):
            with self._maps_lock:
                self._pending_maps -= 1
            self._maps.add(item)

    def _commit(self, conn: sqlite3.Connection) -> None:
        """Write everything accumulated since the last commit in one transaction."""
        minutes, hours = self._minutes.take(), self._hours.take()
        alerts, states = self._alerts.take(), self._states.take()
        try:
            for key in self._maps.needs_seed():
                self._maps.seed(key, conn.execute("SELECT w, h, n, mean FROM camera_maps WHERE camera = ? AND t = ?",
                                                  key).fetchone())
            maps = self._maps.take(keep_after=time.time() - HOUR_S)
            if not (minutes or hours or alerts or states or maps):
                return
            with conn:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(MINUTES_SQL, minutes)
                conn.executemany(HOURS_SQL, hours)
                conn.executemany(ALERT_SQL, alerts)
                conn.executemany(STATE_SQL, states)
                conn.executemany(MAP_SQL, maps)
        except sqlite3.Error as exc:  # disk full, I/O error: this batch is lost, the next one is tried
            self.write_errors += 1
            log.warning("history: writing %s failed: %s (batch dropped)", self.path, exc)
            return
        self.commits += 1
        self.last_commit = time.time()

    def _housekeeping(self, conn: sqlite3.Connection) -> None:
        """Age limits, then the size limit."""
        cfg = self.config
        try:
            apply_retention(conn, cfg.minute_days, cfg.hourly_days)
            if enforce_size(conn, int(cfg.max_mb * 1024 * 1024)):
                log.warning("history: %s reached max_mb %g; the oldest rows were dropped (now %.1f MB)",
                            self.path, cfg.max_mb, used_bytes(conn) / 1e6)
        except sqlite3.Error as exc:
            log.warning("history: cleaning %s failed: %s", self.path, exc)
