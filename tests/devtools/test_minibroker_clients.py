"""Real clients of the mini broker: the daemon's publisher, Mosquitto's command-line tools, the CLI."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time

import pytest

from monitor.config import parse_config
from monitor.devtools.broker_process import BrokerProcess
from monitor.devtools.minibroker import MiniBroker
from monitor.publish import Publisher
from monitor.types import AggregateUpdate, AlertEvent, CameraReading, EventType, Level

from .mqtt_helpers import V5, Client

CONFIG = """
mqtt:
  host: 127.0.0.1
  port: {port}
  client_id: demo-{protocol}
  protocol: "{protocol}"
  will_delay_s: 1
  heartbeat_s: 30
  state_expiry_s: 60
cameras:
  entrance:
    url: /dev/null
    zones:
      gate:
        polygon: [[0.1, 0.1], [0.9, 0.1], [0.9, 0.9], [0.1, 0.9]]
        area_m2: 20
        warning: {{density: 2.0}}
"""


def alert_update() -> AggregateUpdate:
    """A count for the camera and the start of a warning on its zone."""
    now = time.time()
    start = AlertEvent("ev-1", EventType.START, "entrance", "gate", Level.WARNING, 60.0, 3.0, 2.0, "density",
                       now - 10, None, now)
    return AggregateUpdate(readings=(CameraReading("entrance", now, 60.0, 60.4, 2.0, 150.0),), events=(start,))


@pytest.mark.parametrize("protocol, expected", [("auto", "5"), ("3.1.1", "3.1.1")])
def test_publisher_online_alert_and_goodbye(broker: MiniBroker, client, protocol: str, expected: str) -> None:
    config = parse_config(CONFIG.format(port=broker.port, protocol=protocol))
    watcher = client(protocol=V5)
    watcher.subscribe("crowd/#")
    publisher = Publisher(config)
    publisher.start()
    try:
        assert publisher.wait_connected(10.0)
        assert publisher.health()["protocol"] == expected
        assert watcher.wait(lambda: [m.payload for m in watcher.on("crowd/available")] == [b"online"])
        publisher.publish_update(alert_update())
        assert watcher.wait(lambda: bool(watcher.on("crowd/events")))
        event = json.loads(watcher.on("crowd/events")[0].payload)
        assert (event["id"], event["type"], event["level"]) == ("ev-1", "start", "warning")
        counts = lambda: [m for m in watcher.on("crowd/entrance/count") if m.payload]  # noqa: E731
        assert watcher.wait(lambda: bool(counts()))  # (the publisher first clears any old retained state)
        count = counts()[0]
        assert json.loads(count.payload)["count"] == 60.0
        if expected == "5":  # retained state carries the message expiry, counted down by the broker
            assert count.expiry is not None and 0 < count.expiry <= 60
    finally:
        publisher.stop(clean=expected != "5")
    if expected == "5":  # dropped connection: the broker sends the will after its 1 s delay
        assert watcher.wait(lambda: watcher.on("crowd/available")[-1].payload == b"offline")
    else:
        assert watcher.wait(lambda: watcher.on("crowd/available")[-1].payload == b"stopped")
        assert watcher.wait(lambda: watcher.on("crowd/entrance/count")[-1].payload == b"")  # retained state deleted


@pytest.mark.skipif(shutil.which("mosquitto_sub") is None, reason="mosquitto-clients is not installed")
@pytest.mark.parametrize("version", ["mqttv31", "mqttv311", "mqttv5"])
def test_mosquitto_command_line_clients(broker: MiniBroker, version: str) -> None:
    common = ["-h", "127.0.0.1", "-p", str(broker.port), "-V", version]
    subprocess.run(["mosquitto_pub", *common, "-t", "crowd/available", "-m", "online", "-r", "-q", "2"],
                   check=True, timeout=20)
    later = subprocess.Popen(["mosquitto_sub", *common, "-t", "crowd/+/count", "-C", "1", "-W", "10", "-v"],
                             stdout=subprocess.PIPE, text=True)
    retained = subprocess.run(["mosquitto_sub", *common, "-t", "crowd/#", "-C", "1", "-W", "10", "-v", "-q", "1"],
                              capture_output=True, text=True, timeout=20)
    assert retained.stdout.strip() == "crowd/available online"
    time.sleep(0.5)  # mosquitto_sub has no "subscribed" signal: give it time to subscribe
    subprocess.run(["mosquitto_pub", *common, "-t", "crowd/entrance/count", "-m", "12", "-q", "1"],
                   check=True, timeout=20)
    out, _ = later.communicate(timeout=20)
    assert out.strip() == "crowd/entrance/count 12"


def test_module_prints_ready_and_stops_on_sigterm() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = BrokerProcess(port=port).start()
    process = server.process
    assert server.port == port
    subscriber = Client(port, protocol=V5)
    subscriber.subscribe("x")
    server.stop()
    assert process.returncode == 0
    assert subscriber.wait(lambda: bool(subscriber.disconnects))
    subscriber.client.loop_stop()


def test_module_refuses_a_busy_port(broker: MiniBroker) -> None:
    with pytest.raises(RuntimeError, match="did not start"):
        BrokerProcess(port=broker.port).start()
