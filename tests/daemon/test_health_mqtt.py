"""/healthz, /status.json and /metrics tell the broker's state as it is now: down, wrong password, denied.

The daemon's own health parts (telemetry, HTTP server, publisher, inference worker) run against a
real Mosquitto; only the CSRNet engine is the pipeline tests' fake, as the model plays no part here.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from monitor.daemon.telemetry import Telemetry
from monitor.health import HealthServer
from monitor.pipeline import InferenceWorker
from monitor.console.pictures import Pictures
from monitor.publish import Publisher
from tests.pipeline.fakes import SleepyEngine
from tests.publish.helpers import make_config
from tests.support.broker import free_port


class Endpoint:
    """A publisher for ``config`` and the health endpoint that reports on it."""

    def __init__(self, config):
        self.publisher = Publisher(config)
        self.worker = InferenceWorker(SleepyEngine(), 256, lambda result: None)
        telemetry = Telemetry(self.worker, self.publisher.health)
        self.server = HealthServer("127.0.0.1", 0, telemetry.snapshot, Pictures(telemetry).picture)
        self.worker.start()
        self.server.start()
        self.publisher.start()

    def get(self, path: str) -> tuple[int, bytes]:
        """Status code and body of ``GET path``."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.server.port}{path}", timeout=10) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()

    def healthz_until(self, code: int, problem: str = "", timeout: float = 15.0) -> dict:
        """Poll /healthz until it answers ``code`` (with ``problem`` in its problems); its JSON body."""
        deadline = time.monotonic() + timeout
        while True:
            status, body = self.get("/healthz")
            if status == code and problem in " ".join(json.loads(body)["problems"]):
                return json.loads(body)
            if time.monotonic() > deadline:
                raise AssertionError(f"/healthz still {status} {body!r} after {timeout} s")
            time.sleep(0.1)

    def close(self) -> None:
        """Stop everything."""
        self.publisher.stop(clean=False, timeout=5)
        self.server.stop()
        self.worker.stop()


@pytest.fixture
def endpoint() -> Iterator:
    made: list[Endpoint] = []

    def make(config) -> Endpoint:
        made.append(Endpoint(config))
        return made[-1]

    yield make
    for item in made:
        item.close()


def test_no_broker_is_unhealthy_with_the_reason(endpoint):
    port = free_port()  # nothing listens there
    body = endpoint(make_config(port=port, host="127.0.0.1")).healthz_until(503, "cannot reach")
    assert body["status"] == "unhealthy" and len(body["problems"]) == 1
    assert body["problems"][0].startswith("MQTT not connected (for ")
    assert f"cannot reach the MQTT broker 127.0.0.1:{port}" in body["problems"][0]


def test_a_refused_password_is_unhealthy_with_the_reason(mosquitto_factory, endpoint):
    broker = mosquitto_factory(users={"monitor": "right"})
    point = endpoint(make_config(broker, username="monitor", password="wrong", homeassistant=False))
    body = point.healthz_until(503, "rejected")
    assert "rejected user 'monitor'" in body["problems"][0] and "mqtt.password" in body["problems"][0]
    assert "crowd_monitor_mqtt_auth_failed 1" in point.get("/metrics")[1].decode()


def test_denied_publishes_are_unhealthy(mosquitto_factory, endpoint):
    broker = mosquitto_factory(acl="topic read #")
    body = endpoint(make_config(broker, homeassistant=False)).healthz_until(503, "denies")
    assert "denies our publishes" in body["problems"][0] and "prefix 'crowd'" in body["problems"][0]


def test_state_follows_the_broker_at_once(mosquitto, endpoint):
    point = endpoint(make_config(mosquitto, homeassistant=False, stats_interval_s=3600))
    body = point.healthz_until(200)
    assert {k: body[k] for k in ("status", "problems", "warnings")} == {"status": "ok", "problems": [], "warnings": []}
    assert body["engine"]["name"] == point.worker.engine.name  # which engine and precision, and why
    mosquitto.kill()
    body = point.healthz_until(503, timeout=10)  # was 200 for as long as stats_interval_s (now an hour)
    assert body["problems"][0].startswith("MQTT not connected")
    assert json.loads(point.get("/status.json")[1])["mqtt"]["connected"] is False
    assert "crowd_monitor_mqtt_connected 0" in point.get("/metrics")[1].decode()
    mosquitto.start()
    point.healthz_until(200, timeout=20)
    assert json.loads(point.get("/status.json")[1])["mqtt"]["connected"] is True
    assert "crowd_monitor_mqtt_connected 1" in point.get("/metrics")[1].decode()
