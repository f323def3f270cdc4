"""The running camera readers and their slots; applies camera changes without touching the others."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping

from ..config import CameraConfig
from ..pipeline import InferenceWorker, LatestFrameSlot
from ..sources import CameraReader
from ..types import CameraStatus

log = logging.getLogger("monitor.cameras")

# Settings that do not touch the reader: a change applies without reconnecting the camera.
_NOT_READER_FIELDS = {"label", "roi", "ignore", "calibration", "smoothing", "zones", "max_side", "correction",
                      "count_gain"}


def reader_settings(config: CameraConfig) -> dict:
    """The part of a camera's config its reader depends on."""
    return config.model_dump(exclude=_NOT_READER_FIELDS)


def counted_box(config: CameraConfig) -> tuple[float, float, float, float] | None:
    """Bounding box (relative x0, y0, x1, y1) of the camera's ROI: the only part worth inferring."""
    if config.roi is None:
        return None
    xs, ys = [p[0] for p in config.roi], [p[1] for p in config.roi]
    return min(xs), min(ys), max(xs), max(ys)


class CameraFleet:
    """One reader and one latest-frame slot per enabled camera, registered with the worker."""

    def __init__(self, worker: InferenceWorker, on_status: Callable[[CameraStatus], None]):
        self._worker = worker
        self._on_status = on_status
        self._readers: dict[str, CameraReader] = {}

    def apply(self, cameras: Mapping[str, CameraConfig]) -> dict[str, list[str]]:
        """Start new cameras, stop removed ones, restart those whose reader settings changed."""
        wanted = {name: cfg for name, cfg in cameras.items() if cfg.enabled}
        changes: dict[str, list[str]] = {"added": [], "removed": [], "restarted": []}
        for name in list(self._readers):
            if name not in wanted:
                self._stop(name)
                changes["removed"].append(name)
            elif reader_settings(self._readers[name].config) != reader_settings(wanted[name]):
                self._stop(name)
                self._start(name, wanted[name])
                changes["restarted"].append(name)
        for name, cfg in wanted.items():
            if name not in self._readers:
                self._start(name, cfg)
                changes["added"].append(name)
            else:
                self._worker.set_input(name, counted_box(cfg), cfg.max_side, cfg.correction, cfg.count_gain)  # no reconnect
        return changes

    def statuses(self) -> list[CameraStatus]:
        """Current status of every camera, with live counters (safe from other threads)."""
        return [reader.status() for reader in list(self._readers.values())]  # list(): a reload may change the dict

    def readers(self) -> dict[str, CameraReader]:
        """The running readers by camera name."""
        return dict(self._readers)

    def stop_all(self, timeout: float = 5.0) -> None:
        """Stop every reader in parallel, so one blocked in a read does not delay the others."""
        stoppers = [threading.Thread(target=self._stop, args=(name, timeout), daemon=True)
                    for name in list(self._readers)]
        for thread in stoppers:
            thread.start()
        for thread in stoppers:
            thread.join(timeout + 1)

    def _start(self, name: str, config: CameraConfig) -> None:
        slot = LatestFrameSlot(capacity=1)
        reader = CameraReader(name, config, slot, self._on_status)
        self._worker.add_camera(name, slot, counted_box(config), config.max_side, config.correction, config.count_gain)
        reader.start()
        self._readers[name] = reader
        log.info("camera %s: reading %s at %g fps", name, reader.url, config.sample_fps)

    def _stop(self, name: str, timeout: float = 5.0) -> None:
        reader = self._readers.pop(name, None)
        if reader is None:
            return
        self._worker.remove_camera(name)
        reader.stop(timeout)
