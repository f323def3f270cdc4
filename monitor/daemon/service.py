"""The daemon's main loop: start the stages, route their output one way, reload on SIGHUP, drain on SIGTERM.

Threads: one reader per camera, one inference worker, the MQTT network thread and the HTTP server.
Results and camera statuses reach this loop through one queue; the aggregator and the publisher
are only ever called from here, so neither needs to be thread-safe towards the other.
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
import time
from pathlib import Path

from ..config import MonitorConfig
from ..errors import UserError
from ..health import HealthServer
from ..history import HistoryRecorder
from ..pipeline import InferenceWorker
from ..publish import Publisher, Subscription
from ..sdnotify import SystemdNotifier
from ..statedir import state_dir
from ..types import CameraStatus, DensityResult
from ..zones import Aggregator, RemoteZones
from .fleet import CameraFleet
from .precision import AutoPrecision
from .reloader import Loaded, Reloader
from .telemetry import STALLED_AFTER_S, Telemetry
from .webapi import daemon_api

log = logging.getLogger("monitor.daemon")
TICK_S = 0.5  # state machines and heartbeats advance at least this often without new frames


def largest_input_side(config) -> int:
    """The largest long side any camera may be fed at: a TensorRT engine is built for inputs up to it."""
    from engines.scale import largest_side

    return largest_side([config.model.max_side] + [camera.max_side for camera in config.cameras.values()])


def _log_side(camera: str, choice) -> None:
    """A camera's automatically chosen input size (called from the inference thread)."""
    log.info("camera %s: input size %d px (max_side auto: %s)", camera, choice.side, choice.reason)


class Daemon:
    """``crowd-monitor run``: everything between the cameras and the broker."""

    def __init__(self, config_path: str | Path, config: MonitorConfig):
        self.config_path = str(config_path)
        self.config = config
        self.notifier = SystemdNotifier()
        self._inbox: queue.Queue[DensityResult | CameraStatus] = queue.Queue(maxsize=1000)
        self._stop = threading.Event()
        self._reload = threading.Event()
        self.inbox_drops = 0

    # -- signals -------------------------------------------------------------------------------
    def install_signal_handlers(self) -> None:
        """SIGTERM/SIGINT drain and exit; SIGHUP reloads the YAML."""
        signal.signal(signal.SIGTERM, lambda *_: self._stop.set())
        signal.signal(signal.SIGINT, lambda *_: self._stop.set())
        signal.signal(signal.SIGHUP, lambda *_: self._reload.set())

    def request_stop(self) -> None:
        """Ask the main loop to drain and exit (what SIGTERM does)."""
        self._stop.set()

    def request_reload(self) -> None:
        """Ask the main loop to reload the config file (what SIGHUP does)."""
        self._reload.set()

    # -- stage outputs (called from other threads) ------------------------------------------------
    def _enqueue(self, item: DensityResult | CameraStatus) -> None:
        try:
            self._inbox.put_nowait(item)
        except queue.Full:  # the main loop is far behind; never block a reader or the worker
            self.inbox_drops += 1

    # -- life cycle ----------------------------------------------------------------------------
    def run(self) -> int:
        """Start everything, loop until asked to stop, then shut down cleanly; returns the exit code."""
        from engines import open_engine

        model = self.config.model
        log.info("opening model %s (backend %s, precision %s)", model.engine_model(), model.backend, model.precision)
        self.engine = open_engine(model.engine_model(), model.backend, model.precision, max_batch=model.batch_size,
                                  adapter=model.adapter,  # raw maps: each camera's correction is the worker's
                                  threads=model.threads, cache_dir=model.cache_dir,
                                  max_side=largest_input_side(self.config))
        log.info("engine ready: %s", self.engine.name)
        self.worker = InferenceWorker(self.engine, model.max_side, self._enqueue,
                                      auto_recheck_s=model.max_side_recheck_s, on_side=_log_side,
                                      correction=model.correction)
        self.precision = AutoPrecision(model, self.engine, state_dir(self.config.state_dir), self.worker.swap.offer,
                                       self._enabled_cameras)
        # Other daemons' zones (site zones' remote members) arrive on the MQTT thread into this store.
        self.remote = RemoteZones(self.config)
        self.aggregator = Aggregator(self.config, self.remote)
        self.publisher = Publisher(self.config, Subscription(self.remote.topics, self.remote.feed))
        self.reloader = Reloader(self.config_path)
        self.fleet = CameraFleet(self.worker, self._enqueue)
        self.history = self._start_history()
        self.telemetry = Telemetry(self.worker, self.publisher.health, self.reloader.status, self.fleet.statuses,
                                   self.history.status if self.history is not None else dict,
                                   precision=lambda: self.precision.report)
        self.health = self._start_health()
        self.publisher.start()
        self.worker.start()
        self.fleet.apply(self.config.cameras)
        for status in self.fleet.statuses():
            log.info("camera %s: %s%s", status.camera, status.state.value,
                     f" ({status.reason})" if status.reason else "")
        self.notifier.ready(f"{len(self.config.cameras)} cameras, engine {self.engine.name}")
        try:
            self._loop()
        finally:
            self._shutdown()
        return 0

    def _enabled_cameras(self) -> set[str]:
        """Names of the cameras being read (the INT8 step waits for a frame of each before keying its cache)."""
        return {name for name, camera in self.config.cameras.items() if camera.enabled}

    def _start_health(self) -> HealthServer | None:
        """The health server with one /api/: history, the console and calibration (writes need the token)."""
        cfg = self.config.health
        if not cfg.enabled:
            return None
        api, self.console = daemon_api(self.config_path, lambda: self.config, self.telemetry, self.request_reload,
                                       self.reloader.status, self.history)
        try:
            # the status page's heatmaps come from the console's cache: small, encoded once per frame
            server = HealthServer(cfg.host, cfg.port, self.telemetry.snapshot, self.console.pictures.thumbnail, api=api)
        except OSError as exc:
            raise UserError(f"health endpoint cannot listen on {cfg.host}:{cfg.port}: {exc.strerror}") from None
        server.start()
        return server

    def _start_history(self) -> HistoryRecorder | None:
        """The history writer (it opens its file in its own thread: a slow disk never delays the start)."""
        cfg = self.config.history
        if not cfg.enabled:
            return None
        path = Path(cfg.path).expanduser() if cfg.path else state_dir(self.config.state_dir) / "history.sqlite3"
        recorder = HistoryRecorder(cfg, path)
        recorder.start()
        return recorder

    def _loop(self) -> None:
        next_tick = next_stats = next_watchdog = time.monotonic()
        while not self._stop.is_set():
            self._drain(timeout=TICK_S)
            now = time.monotonic()
            if self._reload.is_set():
                self._reload.clear()
                log.info("reloading %s", self.config_path)
                self.notifier.reloading()
                self.reloader.request()  # read and checked in a thread: this loop keeps turning
            loaded = self.reloader.poll()
            if loaded is not None:
                self._apply_reload(loaded)
            if now >= next_tick:
                self._publish(self.aggregator.tick(time.time()))
                self._publish_statuses()
                next_tick = now + TICK_S
            if now >= next_stats:
                self._publish_stats()
                next_stats = now + self.config.mqtt.stats_interval_s
            if self.notifier.watchdog_interval_s and now >= next_watchdog:
                self._feed_watchdog()
                next_watchdog = now + self.notifier.watchdog_interval_s / 3

    def _drain(self, timeout: float) -> None:
        """Handle every queued result and status; wait up to ``timeout`` for the first."""
        try:
            item = self._inbox.get(timeout=timeout)
        except queue.Empty:
            return
        while True:
            self._handle(item)
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                return

    def _handle(self, item: DensityResult | CameraStatus) -> None:
        if isinstance(item, CameraStatus):
            self.telemetry.record_status(item)
            if self.history is not None:
                self.history.record_status(item)
            self.publisher.publish_status(item, self.worker.outage.gap_of(item.camera))
            self._publish(self.aggregator.on_status(item))
            return
        if item.camera not in self.config.cameras:
            return  # a late result of a camera removed by a reload
        self.telemetry.record_result(item)
        self.precision.offer_result(item)
        if self.history is not None:
            self.history.record_result(item)
        self._publish(self.aggregator.on_result(item))
        if self.publisher.wants_heatmap(item.camera):
            self.publisher.publish_heatmap_image(item.camera, item.frame.image, item.density, item.count)

    def _publish(self, update) -> None:
        if update.readings or update.zones or update.events:
            self.telemetry.record_update(update)
            self.publisher.publish_update(update)
            if self.history is not None:
                self.history.record_update(update)
        for event in update.events:
            log.warning("alert %s %s/%s: %s (%s %.1f, threshold %s)", event.type.value, event.camera, event.zone,
                        event.level.value, event.metric,
                        (event.count if event.metric == "count" else event.density) or 0.0, event.threshold)

    def _publish_statuses(self) -> None:
        """Keep each camera's reading gap current in ``P/CAM/status/detail`` (sent only when it changes)."""
        for status in self.telemetry.statuses():
            self.publisher.publish_status(status, self.worker.outage.gap_of(status.camera))

    def _publish_stats(self) -> None:
        stats = self.telemetry.stats_payload()
        stats["inbox_drops"] = self.inbox_drops
        self.publisher.publish_stats(stats)

    def _feed_watchdog(self) -> None:
        # Only the inference loop's own heartbeat proves the engine is not hung.
        age = time.monotonic() - self.worker.last_loop_monotonic
        if self.worker.alive and age < min(STALLED_AFTER_S, self.notifier.watchdog_interval_s or STALLED_AFTER_S):
            self.notifier.watchdog()
        else:
            log.error("inference loop silent for %.0f s: not feeding the watchdog", age)

    # -- reload --------------------------------------------------------------------------------
    def _apply_reload(self, loaded: Loaded) -> bool:
        """Adopt a loaded config, or keep the running one and say why (log, /healthz, metrics); never raises."""
        try:
            error = loaded.error if loaded.config is None else self._adopt(loaded.config)
        except Exception as exc:  # a bug while applying must not end the daemon (the unit would restart it)
            log.debug("applying the reloaded config failed", exc_info=True)
            error = f"{self.config_path}: applying the new config failed: {type(exc).__name__}: {exc}"
        if error is not None:
            log.error("reload rejected, keeping the running config:\n%s", error)
        self.reloader.finished(error)
        if not self.reloader.busy:
            self.notifier.ready()
        return error is None

    def _adopt(self, new: MonitorConfig) -> str | None:
        """Zones, thresholds and cameras change live; None, or why the publisher refused the new config."""
        if new.model != self.config.model:
            log.warning("model settings changed: they take effect at the next restart")
        if new.health != self.config.health:
            log.warning("health endpoint settings changed: they take effect at the next restart")
        if new.history != self.config.history or new.state_dir != self.config.state_dir:
            log.warning("history settings changed: they take effect at the next restart")
        self.remote.configure(new)  # before the publisher wakes up to follow the new topics
        try:
            self.publisher.reload(new)
        except UserError as exc:
            self.remote.configure(self.config)
            return str(exc)
        changes = self.fleet.apply(new.cameras)
        self.config = new
        self.telemetry.forget_cameras(set(new.cameras))
        self._publish(self.aggregator.reload(new))
        log.info("reloaded %s: cameras added %s, removed %s, restarted %s", self.config_path,
                 changes["added"] or "none", changes["removed"] or "none", changes["restarted"] or "none")
        return None

    # -- shutdown ------------------------------------------------------------------------------
    def _shutdown(self) -> None:
        """Stop readers, finish the batch in flight, publish what it produced, then say ``stopped``."""
        self.notifier.stopping()
        log.info("stopping")
        if self.reloader.busy:
            log.info("a config reload was still being read: it is abandoned")
        self.precision.close()
        self.fleet.stop_all(timeout=3.0)
        if not self.worker.stop(timeout=5.0):
            log.warning("inference worker did not finish its batch in time")
        while True:
            try:
                self._handle(self._inbox.get_nowait())
            except queue.Empty:
                break
        self.publisher.stop(clean=True, timeout=5.0)
        if self.history is not None:
            self.history.stop(timeout=10.0)
        if self.health is not None:
            self.console.close()
            self.health.stop()
        self.worker.swap.discard()
        self.worker.engine.close()  # the engine in use: INT8 after a switch, the float one otherwise
        log.info("stopped")
