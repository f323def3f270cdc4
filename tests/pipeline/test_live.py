"""Real RTSP readers feeding the worker: a slow engine keeps lag bounded, a dead camera harms no one."""

from __future__ import annotations

import threading
import time

from monitor.config.camera import CameraConfig
from monitor.pipeline import InferenceWorker, LatestFrameSlot
from monitor.sources import CameraReader
from monitor.types import CameraState

from .fakes import SleepyEngine

FAST = dict(open_timeout_s=2.0, read_timeout_s=2.0, reconnect_initial_s=0.2, reconnect_max_s=1.0)


class Rig:
    """Readers + worker wired like the daemon does; collects results with their lag."""

    def __init__(self, engine, cameras: dict[str, str], sample_fps: float):
        self.results: list[tuple[str, int, float]] = []  # camera, seq, capture -> result lag (s)
        self.lock = threading.Lock()
        self.beats = 0
        self.worker = InferenceWorker(engine, 320, self._on_result, on_heartbeat=self._beat, heartbeat_s=0.2)
        self.readers = {}
        for name, url in cameras.items():
            slot = LatestFrameSlot()
            self.readers[name] = CameraReader(name, CameraConfig(url=url, sample_fps=sample_fps, **FAST), slot)
            self.worker.add_camera(name, slot)

    def _on_result(self, result) -> None:
        with self.lock:
            self.results.append((result.camera, result.frame.seq, time.monotonic() - result.frame.monotonic))

    def _beat(self) -> None:
        self.beats += 1

    def __enter__(self) -> "Rig":
        self.worker.start()
        for reader in self.readers.values():
            reader.start()
        return self

    def __exit__(self, *exc) -> None:
        ended = [reader.stop(10.0) for reader in self.readers.values()]
        assert self.worker.stop(10.0) and all(ended)
        names = {t.name for t in threading.enumerate() if t.is_alive()}
        assert "inference" not in names and not any(n.startswith("camera-") for n in names)

    def wait_online(self, names, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not all(self.readers[n].status().state is CameraState.ONLINE for n in names):
            assert time.monotonic() < deadline, {n: self.readers[n].status() for n in names}
            time.sleep(0.05)

    def window(self, seconds: float) -> list[tuple[str, int, float]]:
        """Results delivered during the next ``seconds``."""
        with self.lock:
            start = len(self.results)
        time.sleep(seconds)
        with self.lock:
            return self.results[start:]


def test_slow_engine_keeps_lag_bounded_and_counts_drops(rtsp_server):
    # Two cameras at 5 frames/s each (10/s offered) into an engine that manages 2.5/s.
    engine = SleepyEngine(delay_s=0.4, max_batch=1)
    with Rig(engine, {"a": rtsp_server.url, "b": rtsp_server.url}, sample_fps=5) as rig:
        rig.wait_online(["a", "b"])
        early = rig.window(3.0)
        late = rig.window(3.0)
        stats = rig.worker.stats()
        statuses = {n: r.status() for n, r in rig.readers.items()}
    lags = [lag for _, _, lag in early + late]
    assert len(lags) >= 6
    # A queue would fall 0.75 s further behind every second; the slots keep every result within
    # about two engine calls of its capture (generous bound for a shared 2-core machine).
    assert max(lags) < 3.0, max(lags)
    mean = lambda xs: sum(x for *_, x in xs) / len(xs)  # noqa: E731
    assert mean(late) < mean(early) + 0.5, (mean(early), mean(late))
    for name in ("a", "b"):
        assert stats["cameras"][name]["drops"] > 0
        assert statuses[name].counters.slot_drops > 0
    seen = [(c, s) for c, s, _ in rig.results]
    assert len(seen) == len(set(seen))


def test_dead_camera_does_not_slow_the_live_ones(rtsp_server, silent_server):
    engine = SleepyEngine(delay_s=0.01, max_batch=4)
    cameras = {"live1": rtsp_server.url, "live2": rtsp_server.url,
               "dead": f"rtsp://127.0.0.1:{silent_server.port}/cam"}
    with Rig(engine, cameras, sample_fps=2) as rig:
        rig.wait_online(["live1", "live2"])
        results = rig.window(5.0)
        dead = rig.readers["dead"].status()
        beats = rig.beats
    for name in ("live1", "live2"):
        got = sum(1 for camera, _, _ in results if camera == name)
        assert 6 <= got <= 14, (name, got)  # 2 frames/s for 5 s, with slack for a busy machine
    assert not any(camera == "dead" for camera, _, _ in results)
    assert dead.state is CameraState.RECONNECTING and "no answer" in dead.reason
    assert beats >= 10  # the loop kept beating (watchdog) throughout
