"""The history database file: schema, opening it safely, and keeping it within its age and size limits.

SQLite in WAL mode with ``synchronous=NORMAL``: a killed process never corrupts the file and loses
at most the transactions not yet committed (the writer commits every few seconds).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path

log = logging.getLogger("monitor.history")

SCHEMA_VERSION = 1
HOUR_S = 3600
DAY_S = 86400

_STATS = """camera TEXT NOT NULL, zone TEXT NOT NULL, t INTEGER NOT NULL,
    n INTEGER NOT NULL, count_min REAL, count_sum REAL, count_max REAL,
    dn INTEGER NOT NULL DEFAULT 0, density_min REAL, density_sum REAL, density_max REAL,
    PRIMARY KEY (camera, zone, t)"""

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS zone_minutes ({_STATS}) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS zone_hours ({_STATS}) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS alerts (
    id TEXT PRIMARY KEY, camera TEXT NOT NULL, zone TEXT NOT NULL, level TEXT NOT NULL,
    metric TEXT, threshold REAL, started_at REAL NOT NULL, ended_at REAL,
    peak_count REAL, peak_density REAL, last_seen REAL, closed_by TEXT);
CREATE INDEX IF NOT EXISTS alerts_by_zone ON alerts (camera, zone, started_at);
CREATE TABLE IF NOT EXISTS camera_states (
    camera TEXT NOT NULL, ts REAL NOT NULL, state TEXT NOT NULL, reason TEXT,
    PRIMARY KEY (camera, ts)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS camera_maps (
    camera TEXT NOT NULL, t INTEGER NOT NULL, w INTEGER NOT NULL, h INTEGER NOT NULL,
    n INTEGER NOT NULL, mean BLOB NOT NULL, UNIQUE (camera, t));
"""


class HistoryUnavailable(Exception):
    """The database cannot be used (unwritable place, not a database, damaged): one line saying why."""


def connect_writer(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) the database for the one writer thread; HistoryUnavailable if it cannot."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), timeout=10.0, isolation_level=None, check_same_thread=False)
    except (OSError, sqlite3.Error) as exc:
        raise HistoryUnavailable(f"history database {path}: cannot open it: {_why(exc)}") from None
    try:
        _prepare(conn)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise HistoryUnavailable(f"history database {path}: {_why(exc)}") from None
    return conn


def _prepare(conn: sqlite3.Connection) -> None:
    """Pragmas, an integrity check of existing files, and the schema."""
    conn.execute("PRAGMA busy_timeout = 10000")
    fresh = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
    if fresh:  # only settable before the first table: lets deletions give space back to the disk
        conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
    else:
        verdict = conn.execute("PRAGMA quick_check").fetchone()[0]
        if verdict != "ok":
            raise sqlite3.DatabaseError(f"damaged ({verdict}); move it away to start a new one")
    if conn.execute("PRAGMA journal_mode = WAL").fetchone()[0].lower() != "wal":
        raise sqlite3.DatabaseError("cannot switch to WAL mode (a network file system?)")
    conn.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: a crash loses recent commits, never the file
    conn.execute("PRAGMA journal_size_limit = 8388608")  # the -wal file shrinks back after checkpoints
    conn.executescript(SCHEMA)
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    if row is None:
        conn.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
    elif int(row[0]) > SCHEMA_VERSION:
        raise sqlite3.DatabaseError(f"written by a newer crowd-monitor (schema {row[0]})")


def connect_reader(path: Path) -> sqlite3.Connection:
    """A read-only connection for one API request (WAL lets it read while the writer writes)."""
    if not path.exists():
        raise HistoryUnavailable(f"no history database at {path} yet")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5.0, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 5000")
    return conn


def _why(exc: BaseException) -> str:
    """The reason of an OS or SQLite error in a few words."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = str(exc) or type(exc).__name__
    if "file is not a database" in text:
        return "not a database file (move it away to start a new one)"
    return text


def apply_retention(conn: sqlite3.Connection, minute_days: int, hourly_days: int, now: float | None = None) -> int:
    """Delete minute rows older than ``minute_days`` and everything else older than ``hourly_days``."""
    now = time.time() if now is None else now
    minute_cut, hour_cut = now - minute_days * DAY_S, now - hourly_days * DAY_S
    deleted = 0
    with conn:
        conn.execute("BEGIN IMMEDIATE")
        deleted += conn.execute("DELETE FROM zone_minutes WHERE t < ?", (minute_cut,)).rowcount
        deleted += conn.execute("DELETE FROM zone_hours WHERE t < ?", (hour_cut,)).rowcount
        deleted += conn.execute("DELETE FROM camera_maps WHERE t < ?", (hour_cut,)).rowcount
        deleted += conn.execute("DELETE FROM camera_states WHERE ts < ?", (hour_cut,)).rowcount
        deleted += conn.execute("DELETE FROM alerts WHERE coalesce(ended_at, last_seen, started_at) < ?",
                                (hour_cut,)).rowcount
    return deleted


def used_bytes(conn: sqlite3.Connection) -> int:
    """Bytes of the database's pages in use (free pages excluded)."""
    pages = conn.execute("PRAGMA page_count").fetchone()[0] - conn.execute("PRAGMA freelist_count").fetchone()[0]
    return int(pages) * int(conn.execute("PRAGMA page_size").fetchone()[0])


def enforce_size(conn: sqlite3.Connection, max_bytes: int) -> int:
    """Drop the oldest rows until the data fits ``max_bytes``; give freed pages back to the disk."""
    deleted = 0
    for _ in range(64):  # each round drops about a tenth of the oldest span; bounded work per call
        if used_bytes(conn) <= max_bytes:
            break
        removed = _drop_oldest(conn, "zone_minutes") or _drop_oldest(conn, "camera_maps") \
            or _drop_oldest(conn, "zone_hours")
        if not removed:
            break
        deleted += removed
    if deleted:
        conn.execute("PRAGMA incremental_vacuum")
    return deleted


def _drop_oldest(conn: sqlite3.Connection, table: str) -> int:
    """Delete the oldest tenth (by time span, at least one hour) of ``table``; the rows deleted."""
    first, last = conn.execute(f"SELECT min(t), max(t) FROM {table}").fetchone()
    if first is None:
        return 0
    cut = first + max(HOUR_S, (last - first) / 10)
    with conn:
        conn.execute("BEGIN IMMEDIATE")
        return conn.execute(f"DELETE FROM {table} WHERE t < ?", (cut,)).rowcount
