"""Soak benchmark (not in CI): the real daemon with several RTSP cameras for minutes, on this CPU.

    .venv/bin/python bench/soak.py [--seconds 600] [--cameras 3] [--sample-fps 1] [--max-side 640]
                                   [--out soak.json]

Starts one GStreamer RTSP camera per camera (real Mall frames when ../shared/data is present, else
Debian's vtest.avi), a private broker, and ``crowd-monitor run`` as a subprocess, then measures:
- RSS of the daemon every 5 s: growth from the first minute to the last, and the slope per hour;
- per-result latency (capture -> published) from ``P/CAM/count``: p50/p90/p99, per camera fps;
- frame drops, reconnects and engine latency from ``/metrics`` at the end;
- overhead of everything but the engine: before the soak, the same engine (same backend, precision
  and input size) runs alone on the same frames to measure its CPU seconds per frame; the daemon's
  CPU seconds per processed frame minus that, divided by it, is the overhead (decode, resize,
  aggregation, MQTT, HTTP).  Both are CPU times of this machine, measured in the same run.
Prints one JSON object.

``--compare-console`` instead runs two daemons side by side, with and without the console and the
history, and reports the CPU each uses and the history's size per camera-year (``soak_console.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.devtools.broker import LocalBroker  # noqa: E402
from monitor.devtools.camera import RtspServer  # noqa: E402
from monitor.devtools.net import free_port  # noqa: E402

MALL_FRAMES = ROOT.parent / "shared" / "data" / "mall" / "frames"
VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
CLOCK = os.sysconf("SC_CLK_TCK")


def source_frames(work: Path) -> tuple[Path, str, list[np.ndarray]]:
    """A folder of numbered JPEGs for the cameras, and a few decoded frames for the engine baseline."""
    if MALL_FRAMES.exists():
        images = [cv2.imread(str(MALL_FRAMES / f"seq_{i:06d}.jpg")) for i in range(1, 31)]
        return MALL_FRAMES, "seq_%06d.jpg", images
    folder = work / "frames"
    folder.mkdir()
    capture = cv2.VideoCapture(str(VTEST))
    images = []
    for index in range(1, 301):
        ok, frame = capture.read()
        if not ok:
            break
        cv2.imwrite(str(folder / f"frame_{index:06d}.jpg"), frame)
        images.append(frame)
    return folder, "frame_%06d.jpg", images[:30]


def engine_cpu_per_frame(images: list[np.ndarray], max_side: int, cache: Path, batch: int) -> dict:
    """CPU seconds (all threads of this process) per frame for the engine alone, on the same frames,
    in batches of one frame per camera as the daemon's worker forms them when every camera is ready."""
    from engines import open_engine
    from engines.preprocess import prepare

    engine = open_engine("csrnet-0.2", "auto", "auto", max_batch=batch, cache_dir=str(cache), max_side=max_side)
    tensors = [prepare(image, max_side) for image in images]
    batches = [np.stack(tensors[i:i + batch]) for i in range(0, len(tensors) - batch + 1, batch)]
    engine.infer(batches[0])  # warm-up
    before, start = _own_cpu(), time.perf_counter()
    for stacked in batches:
        engine.infer(stacked)
    cpu, wall = _own_cpu() - before, time.perf_counter() - start
    name, frames = engine.name, len(batches) * batch
    engine.close()
    return {"engine": name, "frames": frames, "batch": batch, "cpu_s_per_frame": cpu / frames,
            "wall_ms_per_frame": 1000 * wall / frames}


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process, all threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK


def process_rss_mb(pid: int) -> float:
    """Resident set size of a process in MiB."""
    match = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    return int(match.group(1)) / 1024 if match else float("nan")


def write_config(path: Path, urls: list[str], broker_port: int, health_port: int, sample_fps: float,
                 max_side: int, cache: Path) -> None:
    cameras = "\n".join(
        f"  cam{i}:\n    url: {url}\n    sample_fps: {sample_fps}\n    zones:\n      floor:\n"
        f"        polygon: [[0.1, 0.3], [0.9, 0.3], [0.9, 0.95], [0.1, 0.95]]\n        area_m2: 60\n"
        f"        warning: {{density: 0.5}}\n        critical: {{density: 0.8}}"
        for i, url in enumerate(urls))
    path.write_text(f"mqtt: {{host: 127.0.0.1, port: {broker_port}, client_id: soak, stats_interval_s: 10}}\n"
                    # no INT8 step: the engine must not change during the measurement (and its
                    # background job's CPU would be counted against whichever daemon ran it)
                    f"model: {{max_side: {max_side}, cache_dir: \"{cache}\", auto_int8: {{enabled: false}}}}\n"
                    f"health: {{port: {health_port}}}\ncameras:\n{cameras}\n")


class Latencies:
    """Collects latency_ms of every published count, per camera."""

    def __init__(self, port: int):
        import paho.mqtt.client as mqtt

        self.samples: dict[str, list[tuple[float, float]]] = {}
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="soak-viewer")
        self.client.on_connect = lambda c, *_: c.subscribe("crowd/+/count")
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, client, userdata, message) -> None:
        if message.payload:
            body = json.loads(message.payload)
            self.samples.setdefault(message.topic.split("/")[1], []).append((body["ts"], body["latency_ms"]))

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def metrics(port: int) -> dict[str, float]:
    """The daemon's /metrics as {name{labels}: value}."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
            if line and not line.startswith("#")}


def shut_down(daemons: list[subprocess.Popen], cameras: list, *closers) -> None:
    """SIGTERM the daemons and wait for them, close the rest (subscribers, broker, logs), kill the cameras."""
    for daemon in daemons:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(30)
    for closer in closers:
        closer.close()
    for camera in cameras:
        camera.kill()


def soak(args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory(prefix="crowd-monitor-soak-") as tmp:
        work = Path(tmp)
        cache = work / "cache"
        folder, pattern, images = source_frames(work)
        baseline = engine_cpu_per_frame(images, args.max_side, cache, args.cameras)
        cameras = [RtspServer(frames=folder, pattern=pattern, fps=10).start() for _ in range(args.cameras)]
        broker = LocalBroker().start()
        health_port = free_port()
        config = work / "soak.yaml"
        write_config(config, [c.url for c in cameras], broker.port, health_port, args.sample_fps, args.max_side, cache)
        latencies = Latencies(broker.port)
        log = open(work / "daemon.log", "w")
        daemon = subprocess.Popen([sys.executable, "-m", "monitor", "run", "-c", str(config)], cwd=ROOT,
                                  stdout=log, stderr=subprocess.STDOUT)
        try:
            return _measure(args, daemon, health_port, latencies, baseline)
        finally:
            shut_down([daemon], cameras, latencies, broker, log)


def _measure(args, daemon, health_port, latencies, baseline) -> dict:
    time.sleep(args.warmup)  # engine compiled, cameras online
    start_cpu, start = process_cpu_s(daemon.pid), time.monotonic()
    start_frames = _frames(metrics(health_port))
    rss: list[tuple[float, float]] = []
    while time.monotonic() - start < args.seconds:
        rss.append((time.monotonic() - start, process_rss_mb(daemon.pid)))
        time.sleep(5)
        if daemon.poll() is not None:
            raise RuntimeError("the daemon exited during the soak")
    final = metrics(health_port)
    elapsed, cpu = time.monotonic() - start, process_cpu_s(daemon.pid) - start_cpu
    frames = _frames(final) - start_frames
    lat = [ms for samples in latencies.samples.values() for ts, ms in samples]
    first = [r for t, r in rss if t < 60] or [rss[0][1]]
    last = [r for t, r in rss if t > elapsed - 60] or [rss[-1][1]]
    per_frame = cpu / frames if frames else float("nan")
    slope = np.polyfit([t for t, _ in rss], [r for _, r in rss], 1)[0] * 3600 if len(rss) > 2 else 0.0
    return {
        "seconds": round(elapsed, 1), "cameras": args.cameras, "sample_fps": args.sample_fps,
        "max_side": args.max_side, "load_average": os.getloadavg(),
        "frames_processed": frames, "results_per_s": round(frames / elapsed, 3),
        "per_camera_fps": {cam: round(len(s) / elapsed, 3) for cam, s in latencies.samples.items()},
        "latency_ms": {q: round(float(np.percentile(lat, p)), 1) for q, p in (("p50", 50), ("p90", 90), ("p99", 99))}
        if lat else {},
        "drops": {k: v for k, v in final.items() if k.startswith("crowd_monitor_camera_dropped")},
        "reconnects": sum(v for k, v in final.items() if k.startswith("crowd_monitor_camera_reconnects")),
        "rss_mb": {"first_minute": round(float(np.mean(first)), 1), "last_minute": round(float(np.mean(last)), 1),
                   "growth": round(float(np.mean(last) - np.mean(first)), 1), "slope_mb_per_hour": round(float(slope), 1)},
        "cpu": {"daemon_cpu_s_per_frame": round(per_frame, 4), "engine_alone_cpu_s_per_frame":
                round(baseline["cpu_s_per_frame"], 4), "engine_alone_wall_ms": round(baseline["wall_ms_per_frame"], 1),
                "overhead_ratio": round(per_frame / baseline["cpu_s_per_frame"] - 1, 4), "engine": baseline["engine"]},
    }


def _frames(values: dict[str, float]) -> float:
    return sum(v for k, v in values.items() if k.startswith("crowd_monitor_camera_frames_processed_total"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--warmup", type=float, default=30)
    parser.add_argument("--cameras", type=int, default=3)
    parser.add_argument("--sample-fps", type=float, default=1.0)
    parser.add_argument("--max-side", type=int, default=640)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--compare-console", action="store_true",
                        help="console and history on vs off, side by side (see soak_console.py)")
    args = parser.parse_args()
    if args.compare_console:
        from soak_console import compare

        text = json.dumps(compare(args), indent=2)
    else:
        text = json.dumps(soak(args), indent=2)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
