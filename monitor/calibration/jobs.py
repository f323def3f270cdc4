"""Calibration scans run in the background for the console: one at a time, each camera's latest kept."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from engines.errors import EngineError

from ..errors import UserError
from .scan import Trial

log = logging.getLogger(__name__)
MAX_LOG_LINES = 200


class ScanJob:
    """One scan of a camera's counted snapshots: its progress lines, then its trials and choice."""

    def __init__(self, camera: str, folder: Path):
        self.camera, self.folder = camera, folder
        self.state = "running"  # running -> done | failed
        self.started_at, self.finished_at = time.time(), None
        self.lines: list[str] = []
        self.trials: list[Trial] = []
        self.chosen: Trial | None = None
        self.error = ""

    def say(self, line: str) -> None:
        """A progress line (the scan's own log)."""
        self.lines = [*self.lines[-MAX_LOG_LINES + 1:], line.strip()]

    def to_json(self) -> dict:
        """The job as the console shows it."""
        return {"camera": self.camera, "state": self.state, "started_at": self.started_at,
                "finished_at": self.finished_at, "log": self.lines, "error": self.error,
                "trials": [_setting(t) | {"gain": t.gain, "mae": t.mae, "bias": t.bias} for t in self.trials],
                "chosen": None if self.chosen is None else _setting(self.chosen)}


def _setting(trial: Trial) -> dict:
    """A trial's setting as the console names it."""
    return {"max_side": trial.max_side, "correction": trial.correction}


class ScanJobs:
    """Starts scans in a thread (at most one at a time: a scan keeps a CPU busy) and keeps their results."""

    def __init__(self, measure: Callable[..., tuple[list[Trial], Trial]]):
        self._measure = measure  # (model config, folder, log) -> (trials, chosen)
        self._lock = threading.Lock()
        self._jobs: dict[str, ScanJob] = {}

    def latest(self, camera: str) -> ScanJob | None:
        """The camera's latest scan, running or finished."""
        with self._lock:
            return self._jobs.get(camera)

    def start(self, camera: str, folder: Path, model) -> ScanJob | None:
        """Start a scan; None when one (of any camera) is still running."""
        with self._lock:
            if any(job.state == "running" for job in self._jobs.values()):
                return None
            job = self._jobs[camera] = ScanJob(camera, folder)
        threading.Thread(target=self._run, args=(job, model), name=f"calibrate-{camera}", daemon=True).start()
        return job

    def _run(self, job: ScanJob, model) -> None:
        try:
            job.trials, job.chosen = self._measure(model, job.folder, job.say)
            job.state = "done"
        except (UserError, EngineError) as exc:
            job.error, job.state = str(exc), "failed"
        except Exception as exc:  # noqa: BLE001 (a dataset or engine error: shown on the page, logged in full)
            log.exception("calibration scan of %s failed", job.camera)
            job.error, job.state = f"{type(exc).__name__}: {exc}", "failed"
        finally:
            job.finished_at = time.time()
