"""What the console and the history cost a daemon: three daemons side by side, with and without them.

    .venv/bin/python bench/soak.py --compare-console [--seconds 300] [--cameras 3] [--sample-fps 0.5]
                                   [--max-side 320]

The daemons watch the same RTSP cameras (real Mall frames when ../shared/data is present, else
vtest.avi) and publish to the same private Mosquitto under their own prefixes, at the same time,
so they share whatever else loads the machine.  "off": ``health.enabled: false`` and
``history.enabled: false``.  "idle": health server and history (SQLite, default retention) on,
nobody looking.  "watched": the same, with a console client doing what open pages do: status.json
and every camera's heatmap every 2 s (status page), each zone's 24 h series every 30 s (history
page), the 24 h heatmap every 60 s.  Each daemon's CPU seconds (all threads, /proc) over the same
window, its results (counted from its MQTT counts: changed counts, not frames), the frames its engine
processed per second (from its ``P/stats``; below cameras x sample_fps the engine cannot keep up and
drops frames, and the CPU figures are shares of a saturated machine), what "idle" and "watched" add to "off" (in
percent of one core and as a ratio); then the history file's size per camera-day and per camera-year at the default retention
(``bench/history_size.py``'s simulation).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from soak import ROOT, process_cpu_s, shut_down, source_frames, write_config  # first: it puts this checkout on sys.path

from history_size import simulate  # noqa: I001
from monitor.devtools.broker import LocalBroker
from monitor.devtools.camera import RtspServer
from monitor.devtools.net import free_port

VARIANTS = ("off", "idle", "watched")


class CountCounter:
    """Counts each daemon's published results (``PREFIX/CAM/count``) from a given moment on, and
    keeps its latest ``PREFIX/stats`` (the frames its engine processed)."""

    def __init__(self, port: int):
        import paho.mqtt.client as mqtt

        self.counts = dict.fromkeys(VARIANTS, 0)
        self.stats: dict[str, tuple[float, int]] = {}  # variant -> (ts, frames processed) of its latest P/stats
        self.counting = False
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="soak-console-viewer")
        self.client.on_connect = lambda c, *_: [c.subscribe(f"soak-{v}/{t}") for v in VARIANTS
                                                for t in ("+/count", "stats")]
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, client, userdata, message) -> None:
        variant = message.topic.split("/")[0].removeprefix("soak-")
        if message.topic.endswith("/stats") and message.payload:
            body = json.loads(message.payload)
            self.stats[variant] = (body["ts"], body["engine"]["frames"])
        elif self.counting and message.payload and not message.retain:
            self.counts[variant] += 1

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


class ConsoleClient(threading.Thread):
    """Requests what an operator's open status and history pages request."""

    def __init__(self, port: int, cameras: list[str]):
        super().__init__(name="console-client", daemon=True)
        self.base, self.cameras = f"http://127.0.0.1:{port}", cameras
        self.stop, self.requests, self.errors = threading.Event(), 0, {}

    def run(self) -> None:
        tick = 0
        while not self.stop.wait(2.0):
            paths = ["/status.json", *[f"/heatmap/{c}.jpg" for c in self.cameras]]
            if tick % 15 == 0:
                paths += [f"/api/series?camera={c}&zone=floor&range=24h" for c in self.cameras]
            if tick % 30 == 0:
                paths += [f"/api/heatmap?camera={c}&range=24h" for c in self.cameras]
            for path in paths:
                self._get(path)
            tick += 1

    def _get(self, path: str) -> None:
        try:
            with urllib.request.urlopen(self.base + path, timeout=10) as resp:
                resp.read()
            self.requests += 1
        except OSError as exc:  # a heatmap not there yet answers 404: counted, not fatal
            kind = f"{path.split('?')[0].rsplit('/', 1)[0] or '/'} {getattr(exc, 'code', type(exc).__name__)}"
            self.errors[kind] = self.errors.get(kind, 0) + 1


def compare(args) -> dict:
    """Run both daemons side by side for ``args.seconds`` after ``args.warmup``; the JSON report."""
    with tempfile.TemporaryDirectory(prefix="crowd-monitor-soak-console-") as tmp:
        work = Path(tmp)
        folder, pattern, _ = source_frames(work)
        cameras = [RtspServer(frames=folder, pattern=pattern, fps=10).start() for _ in range(args.cameras)]
        broker = LocalBroker().start()
        counter = CountCounter(broker.port)
        daemons, ports, logs = {}, {}, []
        try:
            for variant in VARIANTS:
                ports[variant] = free_port()
                config = work / f"{variant}.yaml"
                write_config(config, [c.url for c in cameras], broker.port, ports[variant], args.sample_fps,
                             args.max_side, work / "cache")
                _adapt(config, variant, work)
                logs.append(open(work / f"{variant}.log", "w"))
                daemons[variant] = subprocess.Popen([sys.executable, "-m", "monitor", "run", "-c", str(config)],
                                                    cwd=ROOT, stdout=logs[-1], stderr=subprocess.STDOUT)
            client = ConsoleClient(ports["watched"], [f"cam{i}" for i in range(args.cameras)])
            client.start()
            result = _measure(args, daemons, counter, client)
            client.stop.set()
        finally:
            shut_down(list(daemons.values()), cameras, counter, broker, *logs)
        result["history_size"] = _size(work)
        return result


def _adapt(config: Path, variant: str, work: Path) -> None:
    """Give a daemon its own prefix, client id and state; switch health and history off for "off"."""
    text = config.read_text().replace("client_id: soak,", f"client_id: soak-{variant}, topic_prefix: soak-{variant},")
    if variant == "off":
        text = text.replace("health: {port:", "health: {enabled: false, port:") + "history: {enabled: false}\n"
    config.write_text(text + f"state_dir: \"{work / ('state-' + variant)}\"\n")


def _measure(args, daemons: dict, counter: CountCounter, client: ConsoleClient) -> dict:
    time.sleep(args.warmup)  # engines compiled, cameras online, history open
    for variant, daemon in daemons.items():
        if daemon.poll() is not None:
            raise RuntimeError(f"the '{variant}' daemon exited during the warm-up")
    before = {v: process_cpu_s(d.pid) for v, d in daemons.items()}
    counter.counting, start, stats_before = True, time.monotonic(), dict(counter.stats)
    time.sleep(args.seconds)
    cpu = {v: process_cpu_s(d.pid) - before[v] for v, d in daemons.items()}
    elapsed, counter.counting, stats_after = time.monotonic() - start, False, dict(counter.stats)
    report = {"seconds": round(elapsed, 1), "cameras": args.cameras, "sample_fps": args.sample_fps,
              "max_side": args.max_side, "load_average": os.getloadavg(), "cpus": os.cpu_count(),
              "console_requests": client.requests, "console_errors": client.errors}
    for variant in VARIANTS:
        results = counter.counts[variant]
        report[variant] = {"cpu_percent": round(100 * cpu[variant] / elapsed, 2), "results": results,
                           "cpu_s_per_result": round(cpu[variant] / results, 4) if results else None,
                           "frames_per_s": _rate(stats_before.get(variant), stats_after.get(variant))}
    off = report["off"]
    for variant in ("idle", "watched"):
        on = report[variant]
        on["added_cpu_percent_points"] = round(on["cpu_percent"] - off["cpu_percent"], 2)
        on["cpu_ratio_to_off"] = round(on["cpu_percent"] / off["cpu_percent"], 4) if off["cpu_percent"] else None
        if on["cpu_s_per_result"] and off["cpu_s_per_result"]:
            on["cpu_per_result_ratio_to_off"] = round(on["cpu_s_per_result"] / off["cpu_s_per_result"], 4)
    return report


def _rate(first: tuple[float, int] | None, last: tuple[float, int] | None) -> float | None:
    """Frames processed per second between two P/stats messages (None without two of them)."""
    if not first or not last or last[0] <= first[0]:
        return None
    return round((last[1] - first[1]) / (last[0] - first[0]), 3)


def _size(work: Path) -> dict:
    """Database size per camera-day and camera-year (two zones and a site zone, 2 fps, default retention)."""
    found = simulate(24.0, work / "size.sqlite3")
    return {key: round(found[key], 2) for key in ("mb_per_camera_day", "minute_mb_per_day", "hourly_mb_per_day",
                                                 "mb_per_camera_year")} | {
        "retention_days": {"minutes": found["minute_days"], "hours_and_maps": found["hourly_days"]}}
