"""A running site for the console's tests: a real Mosquitto, a real RTSP camera (Mall frames when
present), an unreachable second camera, and ``crowd-monitor run`` with the console token in its
environment; plus Debian's chromium driven by Selenium through /usr/bin/chromedriver."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

from monitor.devtools.broker import INSTALL_HINT, mosquitto_path
from tests.support.broker import MosquittoBroker
from tests.support.rtsp import RtspServer, free_port, gst_available
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
TOKEN = "console-test-token-0123456789"
CONFIG = """\
# crowd-monitor: the console test's site
mqtt: {{host: 127.0.0.1, port: {broker}, client_id: console-test, heartbeat_s: 5}}
model: {{max_side: 320, cache_dir: "{cache}"}}
health:
  port: {http}
  console_token: "{{CONSOLE_TOKEN}}"   # from the environment, as a systemd credential would be
history: {{path: "{db}"}}
alerts: {{smoothing: {{window_s: 1}}}}
cameras:
  hall:
    url: {rtsp}
    sample_fps: 2
    roi: [[0.01, 0.12], [0.99, 0.12], [0.99, 0.99], [0.01, 0.99]]   # the ceiling is never counted
    ignore:
    - [[0.82, 0.15], [0.98, 0.15], [0.98, 0.4], [0.82, 0.4]]
    zones:
      door:                # by the shop door
        polygon: [[0.05, 0.35], [0.5, 0.35], [0.5, 0.95], [0.05, 0.95]]
        area_m2: 20
        warning: {{density: 2.5}}
  lobby:
    url: {black}   # a covered lens: blind, its zone unknown
    zones:
      floor: {{polygon: [[0, 0], [1, 0], [1, 1], [0, 1]]}}
  attic:
    url: rtsp://127.0.0.1:{dead}/nothing   # no camera answers here: reconnecting, its zone unknown
    open_timeout_s: 2
    zones:
      all: {{polygon: [[0, 0], [1, 0], [1, 1], [0, 1]]}}
site_zones:
  building: [hall.door, attic.all]
"""


@dataclass
class Site:
    """The running parts and where they are."""

    broker: MosquittoBroker
    cameras: list[RtspServer]
    config: Path
    port: int
    daemon: subprocess.Popen
    log: Path

    def url(self, path: str) -> str:
        """An URL on the daemon's health port."""
        return f"http://127.0.0.1:{self.port}{path}"


def request(url: str, method: str = "GET", body: bytes | None = None, headers: dict | None = None,
            timeout: float = 30.0) -> tuple[int, bytes]:
    """(status, body) of one HTTP request; error statuses are returned, not raised."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def black_frames(folder: Path, n: int = 10) -> Path:
    """seq_NNNNNN.jpg: black pictures (looped by the RTSP server)."""
    folder.mkdir()
    black = cv2.imencode(".jpg", np.zeros((240, 320, 3), np.uint8))[1].tobytes()
    for index in range(1, n + 1):
        (folder / f"seq_{index:06d}.jpg").write_bytes(black)
    return folder


def _frame_seen(site: Site) -> bool:
    try:
        code, body = request(site.url("/api/live"), timeout=5)
    except OSError:
        return False
    return code == 200 and any(c["name"] == "hall" and c["frame"] for c in json.loads(body)["cameras"])


def start_site(folder: Path) -> Site:
    """Broker, camera, config and daemon, once the daemon has shown a frame of the hall."""
    for reason in (gst_available(), None if mosquitto_path() else f"mosquitto is not installed ({INSTALL_HINT})"):
        if reason:
            pytest.skip(reason)
    broker = MosquittoBroker(folder / "broker").start()
    cameras = [RtspServer(size="320x240", fps=10).start(),
               RtspServer(size="320x240", fps=5, frames=black_frames(folder / "black")).start()]
    config, port = folder / "monitor.yaml", free_port()
    config.write_text(CONFIG.format(broker=broker.port, cache=folder / "cache", http=port, db=folder / "history.db",
                                    rtsp=cameras[0].url, black=cameras[1].url, dead=free_port()))
    log = folder / "daemon.log"
    daemon = subprocess.Popen([sys.executable, "-m", "monitor", "run", "-c", str(config)], cwd=ROOT,
                              stdout=open(log, "w"), stderr=subprocess.STDOUT,
                              env={**os.environ, "PYTHONUNBUFFERED": "1", "CONSOLE_TOKEN": TOKEN})
    site = Site(broker, cameras, config, port, daemon, log)
    try:
        wait_until(lambda: _frame_seen(site), 180, "a frame of the hall in /api/live", daemon)
    except BaseException:
        stop_site(site)
        raise
    return site


def stop_site(site: Site) -> None:
    """SIGTERM the daemon (kill it if it hangs), then the camera and the broker."""
    site.daemon.send_signal(signal.SIGTERM)
    try:
        site.daemon.wait(timeout=30)
    except subprocess.TimeoutExpired:
        site.daemon.kill()
    print(site.log.read_text()[-4000:])
    for camera in site.cameras:
        camera.kill()
    site.broker.kill()


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        return "Debian's chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    return None


def start_browser():
    """Headless chromium through /usr/bin/chromedriver; Selenium Manager never downloads anything."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_OFFLINE"] = "true"
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1400,1000", "--hide-scrollbars", "--force-device-scale-factor=1"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)

