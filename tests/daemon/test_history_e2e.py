"""History end to end: real Mall frames over RTSP -> `crowd-monitor run` -> SQLite, checked against MQTT.

The stored buckets must hold the means of the zone counts the daemon published for them (zone
states go out when they change; the frame counts mark every measurement in between), an
alert's start, end and peak must be stored, and ``kill -9`` during writes followed by a restart
must lose at most the last bucket and leave a database that passes ``PRAGMA integrity_check``.
Buckets are 10 s here (``history.bucket_s``) so a test run spans several of them.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.daemon.test_end_to_end import build_scene, wait_event
from tests.support.rtsp import free_port

ROOT = Path(__file__).resolve().parents[2]
BUCKET_S = 10
COMMIT_S = 1.0


def write_config(path: Path, rtsp_url: str, broker_port: int, cache: Path, db: Path, http_port: int) -> None:
    path.write_text(f"""
mqtt: {{host: 127.0.0.1, port: {broker_port}, client_id: history-e2e, heartbeat_s: 5, reconnect_max_s: 1}}
model: {{max_side: 320, cache_dir: "{cache}"}}
health: {{port: {http_port}}}
history: {{path: "{db}", bucket_s: {BUCKET_S}, commit_s: {COMMIT_S}}}
alerts: {{raise_after_s: 1, clear_after_s: 1, hysteresis: 0.1, cooldown_s: 0, smoothing: {{window_s: 1}}}}
cameras:
  hall:
    url: {rtsp_url}
    sample_fps: 2
    zones:
      left: {{polygon: [[0, 0], [0.5, 0], [0.5, 1], [0, 1]]}}
      right: {{polygon: [[0.5, 0], [1, 0], [1, 1], [0.5, 1]]}}
site_zones:
  all: {{zones: [hall.left, hall.right], warning: {{count: 20}}}}
""")


def published_counts(recorder, topic: str) -> dict[float, float]:
    """Zone counts published on ``topic`` by measurement time (republished states counted once)."""
    found = {}
    for message in recorder.on(topic):
        body = json.loads(message.payload) if message.payload else {}
        if "ts" in body:
            found[body["ts"]] = body["count"]  # None while the camera is stale
    return {ts: count for ts, count in found.items() if count is not None}


def published_samples(recorder, topic: str) -> dict[float, tuple[float, bool]]:
    """The zone's value at every measurement the daemon made, as MQTT tells it, and whether MQTT is unsure.

    A zone state is published only when it changed, but every frame's count goes out on
    ``crowd/hall/count`` with its capture time: at those times the zone held its last published value,
    unless it changed and that state was superseded before the MQTT thread sent it (a retained topic
    sends its latest value). Such a frame is marked unsure when the next published state differs.
    """
    states = sorted(published_counts(recorder, topic).items())
    frames = sorted({json.loads(m.payload)["ts"] for m in recorder.on("crowd/hall/count") if m.payload})
    samples, index = {ts: (count, False) for ts, count in states}, 0
    for ts in frames:
        while index < len(states) and states[index][0] <= ts:
            index += 1
        if index and ts not in samples:
            before = states[index - 1][1]
            after = states[index][1] if index < len(states) else before
            samples[ts] = (before, after != before)
    return samples


def published_buckets(recorder, topic: str) -> dict[int, tuple[list[float], int]]:
    """Bucket start -> (the zone's published values in it, how many of them MQTT is unsure of)."""
    buckets: dict[int, list] = defaultdict(lambda: [[], 0])
    for ts, (count, unsure) in published_samples(recorder, topic).items():
        bucket = buckets[int(ts // BUCKET_S) * BUCKET_S]
        bucket[0].append(count)
        bucket[1] += unsure
    return {t: (values, unsure) for t, (values, unsure) in buckets.items()}


def mean_slack(stored_n: int, low: float, high: float, published: int, unsure: int) -> float:
    """How far a stored bucket mean may be from the published one beyond rounding: one sample's
    spread for every value MQTT is unsure of or lost (the stored min and max bound each of them)."""
    return (unsure + abs(stored_n - published)) * (high - low) / max(stored_n, published)


def stored(db: Path, sql: str, *args) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, args).fetchall()


def start_daemon(config: Path, log_path: Path) -> subprocess.Popen:
    log = open(log_path, "a")
    return subprocess.Popen([sys.executable, "-m", "monitor", "run", "-c", str(config)], cwd=ROOT, stdout=log,
                            stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})


@dataclass
class HistorySite:
    """A daemon with history on, fed Mall frames over RTSP, its MQTT traffic recorded."""

    daemon: subprocess.Popen
    recorder: object
    config: Path
    db: Path
    port: int
    log: Path


@contextmanager
def history_site(tmp_path, tmp_path_factory, rtsp_server_factory, mosquitto, mqtt_recorder) -> Iterator[HistorySite]:
    """Start the scene, the daemon and the recorder; kill the daemon and print its log at the end."""
    scene = build_scene(tmp_path / "scene")  # skips with a reason without the Mall dataset
    camera = rtsp_server_factory(frames=scene, size="320x240", fps=10).start()
    config, db, port = tmp_path / "monitor.yaml", tmp_path / "history.sqlite3", free_port()
    write_config(config, camera.url, mosquitto.port, tmp_path_factory.mktemp("engine-cache"), db, port)
    recorder = mqtt_recorder(mosquitto, ["crowd/#"])
    site = HistorySite(start_daemon(config, tmp_path / "daemon.log"), recorder, config, db, port, tmp_path / "daemon.log")
    try:
        yield site
    finally:
        if site.daemon.poll() is None:
            site.daemon.kill()
        print(site.log.read_text()[-6000:])


@pytest.mark.slow
def test_history_matches_mqtt_and_survives_kill_9(tmp_path, tmp_path_factory, rtsp_server_factory, mosquitto,
                                                 mqtt_recorder):
    with history_site(tmp_path, tmp_path_factory, rtsp_server_factory, mosquitto, mqtt_recorder) as site:
        _scenario(site.daemon, site.recorder, site.config, site.db, site.port, site.log)


def _scenario(daemon, recorder, config, db, port, log_path) -> None:
    recorder.wait_payload("crowd/available", "online", timeout=120)
    start = wait_event(recorder, "start", 0, timeout=90, zone="all", level="warning")
    end = wait_event(recorder, "end", 0, timeout=60, id=start["id"])
    first = min(published_counts(recorder, "crowd/site/all/state"))
    while time.time() < first + 4 * BUCKET_S:  # at least three whole buckets
        time.sleep(0.5)

    daemon.send_signal(signal.SIGKILL)  # the writer commits every second: this lands amid writes
    daemon.wait(timeout=10)
    killed = time.time()
    assert stored(db, "PRAGMA integrity_check") == [("ok",)]

    # Every bucket that ended a bucket before the kill holds the mean of what was published for it.
    checked = 0
    for zone, topic in [("site/all", "crowd/site/all/state"), ("hall/left", "crowd/hall/left/state"),
                        ("hall/right", "crowd/hall/right/state")]:
        by_bucket = published_buckets(recorder, topic)
        cam, name = zone.split("/")
        rows = {t: (n, total / n, low, high) for t, n, total, low, high in stored(
            db, "SELECT t, n, count_sum, count_min, count_max FROM zone_minutes WHERE camera = ? AND zone = ?",
            cam, name)}
        for t, (counts, unsure) in sorted(by_bucket.items()):
            if t + 2 * BUCKET_S > killed or t == min(by_bucket):  # in progress at the kill / started mid-bucket
                continue
            assert t in rows, f"{zone}: bucket {t} lost ({killed - t:.0f} s before the kill)"
            n, mean, low, high = rows[t]
            assert n == pytest.approx(len(counts), abs=1), (zone, t)
            if unsure or n != len(counts):  # an unseen value may be the bucket's extreme
                assert low <= min(counts) + 1e-3 and high >= max(counts) - 1e-3, (zone, t)
            else:
                assert (low, high) == pytest.approx((min(counts), max(counts)), abs=1e-3), (zone, t)
            slack = mean_slack(n, low, high, len(counts), unsure)
            assert mean == pytest.approx(sum(counts) / len(counts), abs=0.01 + 0.002 * mean + slack), (zone, t)
            checked += 1
    assert checked >= 6

    # The alert: start, end and peak as published.
    (level, started, ended, peak), = stored(db, "SELECT level, started_at, ended_at, peak_count FROM alerts "
                                               "WHERE id = ?", start["id"])
    during = [c for ts, c in published_counts(recorder, "crowd/site/all/state").items()
              if start["started_at"] <= ts <= end["ended_at"]]
    assert level == "warning" and started == pytest.approx(start["started_at"], abs=1e-3)
    assert ended == pytest.approx(end["ended_at"], abs=1e-3)
    assert peak >= max(during + [start["count"]]) - 1e-3 and peak >= 20

    # Restart: the file opens, the next buckets follow, the API serves them, SIGTERM commits the rest.
    before = stored(db, "SELECT count(*) FROM zone_minutes")[0][0]
    daemon = start_daemon(config, log_path)
    try:
        restarted = time.time()
        deadline = time.monotonic() + 120
        while stored(db, "SELECT count(*) FROM zone_minutes WHERE t >= ?", restarted)[0][0] < 3:
            assert time.monotonic() < deadline, "no buckets written after the restart"
            assert daemon.poll() is None, "the daemon exited after the restart"
            time.sleep(1)
        series = _get(port, f"/api/series?camera=site&zone=all&range=1h")
        assert series["thresholds"] == {"warning": {"count": 20.0}, "critical": None}
        assert series["bucket_s"] == BUCKET_S and len(series["points"]) >= 4
        assert start["id"] in [a["id"] for a in series["alerts"]]
        heat = _get(port, "/api/heatmap?camera=hall&format=json&range=1h")
        assert heat["frames"] > 10 and 5 < heat["sum"] < 60
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=30) == 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
    assert stored(db, "PRAGMA integrity_check") == [("ok",)]
    assert stored(db, "SELECT count(*) FROM zone_minutes")[0][0] > before


def _get(port: int, path: str) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as resp:
        return json.loads(resp.read())
