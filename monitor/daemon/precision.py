"""INT8 by default where it is safe: ``precision: auto`` on a CPU counts with the float engine at once,
calibrates INT8 on the cameras' own frames in the background, and switches only when the check passed.

The main loop hands every result to ``AutoPrecision.offer_result``: one frame per camera every
``frame_interval_s`` is kept (JPEG, at the size the camera is counted at).  Once every camera has
given a frame (or enough are kept), the verdict is looked up in the state directory under the
weights, the input sizes and the hardware (``engines.export.int8_check.cache_key``); without one,
the first ``calibration_frames`` calibrate and the later ``check_frames`` check, in a subprocess at
low priority (``engines.export.int8_job``).  A passed check opens the INT8 engine in this module's
thread and offers it to the worker, which adopts it between batches; a failed one keeps the float
engine and is remembered, so it is not retried at every start (delete the folder to retry).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from engines.base import Engine

from ..config.model import ModelConfig
from ..types import DensityResult, PrecisionReport

log = logging.getLogger("monitor.daemon")
DECISION = "decision.json"


@dataclass(frozen=True)
class Kept:
    """One frame kept for the INT8 job: its camera, model input size and JPEG bytes at that size."""

    camera: str
    size: tuple[int, int]
    jpeg: bytes


def not_applicable(model: ModelConfig, engine: Engine) -> str | None:
    """Why ``precision: auto`` has no INT8 step here (None: it has)."""
    from engines.runtimes.registry import model_format

    backend, _, precision = engine.name.partition("-")
    if model.precision != "auto":
        return f"precision {model.precision} is set in the config"
    if not model.auto_int8.enabled:
        return "model.auto_int8.enabled is false"
    if backend != "openvino" or precision not in ("fp32", "bf16"):
        return f"INT8 is calibrated here only for OpenVINO fp32/bf16 on a CPU, not {engine.name}"
    if model_format(model.engine_model()) not in ("weights", "onnx"):
        return "the model file is already compiled: INT8 is calibrated from weights or an .onnx file"
    if importlib.util.find_spec("nncf") is None:
        return "nncf is not installed (pip install 'crowd-monitor[int8]')"
    return None


def _float_why(engine: Engine) -> str:
    """The part of an engine's reason that says why its precision was chosen."""
    return engine.reason.rsplit(";", 1)[-1].strip() or engine.name


def run_in_subprocess(folder: Path, stop: threading.Event) -> dict:
    """Run ``engines.export.int8_job`` on ``folder``; its decision, or RuntimeError with the job's last words."""
    import engines

    env = dict(os.environ)  # the job must import the same engines package as this daemon
    root = str(Path(engines.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    with open(folder / "job.log", "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "engines.export.int8_job", str(folder)], stdout=out,
                                stderr=subprocess.STDOUT, env=env, stdin=subprocess.DEVNULL)
        while proc.poll() is None:
            if stop.wait(0.5):
                proc.kill()
                proc.wait()
                raise RuntimeError("stopped before the INT8 job finished")
    if proc.returncode != 0:
        tail = (folder / "job.log").read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"the INT8 job exited with {proc.returncode}: {tail[0][:300]}")
    job = json.loads((folder / "job.json").read_text())
    return json.loads(Path(job["decision"]).read_text())


def open_int8(path: str) -> Engine:
    """The INT8 OpenVINO engine of a checked IR."""
    from engines import open_engine

    return open_engine(path, "openvino", "int8")


class AutoPrecision:
    """The INT8 step of ``precision: auto``; ``report`` says where it stands (read from any thread)."""

    def __init__(self, model: ModelConfig, engine: Engine, state_root: Path,
                 offer: Callable[[Engine, Callable[[], None]], None], cameras: Callable[[], set[str]], *,
                 runner=run_in_subprocess, opener=open_int8, clock=time.monotonic):
        self.model, self.settings = model, model.auto_int8
        self._offer, self._cameras, self._runner, self._opener, self._clock = offer, cameras, runner, opener, clock
        self._float = engine.name.partition("-")[2] or engine.name
        self._root = Path(state_root) / "int8"
        self._kept: list[Kept] = []
        self._last: dict[str, float] = {}
        self._sizes: dict[str, tuple[int, int]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.folder: Path | None = None  # where this site's verdict lives, once the input sizes are known
        why = not_applicable(model, engine)
        if why is None:
            self._digest = _digest(model)
            self.report = PrecisionReport(self._float, "collecting", f"{_float_why(engine)}; INT8 is calibrated in "
                                          "the background on these cameras' frames and used once checked")
        else:
            self.report = PrecisionReport(self._float, "fixed", f"{_float_why(engine)}; no INT8 step: {why}")
        log.info("engine precision %s (%s): %s", self.report.precision, self.report.state, self.report.reason)

    @property
    def needed(self) -> int:
        """Frames to keep: calibration, then check."""
        return self.settings.calibration_frames + self.settings.check_frames

    def offer_result(self, result: DensityResult) -> None:
        """A counted frame (main loop): kept now and then while collecting."""
        if self.report.state != "collecting" or result.input_size is None:
            return
        now, camera = self._clock(), result.camera
        if now - self._last.get(camera, -1e18) < self.settings.frame_interval_s:
            return
        self._last[camera] = now
        self._kept.append(Kept(camera, result.input_size, _jpeg(result.frame.image, result.input_size)))
        self._sizes.setdefault(camera, result.input_size)
        if self.folder is None and (set(self._sizes) >= self._cameras() or len(self._kept) >= self.needed):
            self._look_up()
        if self.report.state == "collecting" and self.folder is not None and len(self._kept) >= self.needed:
            self.report = PrecisionReport(self._float, "calibrating", f"calibrating INT8 in the background on "
                                          f"{self.settings.calibration_frames} frames of {len(self._sizes)} "
                                          f"camera(s); counting on {self._float} meanwhile")
            log.info("%s", self.report.reason)
            self._start(self._run_job, list(self._kept))
            self._kept.clear()

    def _look_up(self) -> None:
        """Fix the cache folder for the sizes seen; adopt a verdict an earlier run left there."""
        from engines.export.int8_check import cache_key, hardware_identity

        self._hardware = hardware_identity()
        self.folder = self._root / cache_key(self._digest, self._sizes.values(), self._hardware)
        try:
            decision = json.loads((self.folder / DECISION).read_text())
        except (OSError, ValueError):
            return
        if decision.get("verdict") == "int8" and not Path(decision.get("model", "")).is_file():
            log.warning("INT8 verdict in %s names a missing model: calibrating again", self.folder)
            return
        self._kept.clear()
        self.report = PrecisionReport(self._float, "calibrating", "opening the INT8 model an earlier run checked",
                                      cached=True)
        self._start(self._adopt, decision, True)

    def _start(self, target, *args) -> None:
        """Run ``target`` in the background thread (the job, or opening a checked model)."""
        self._thread = threading.Thread(target=target, args=args, name="int8-calibration", daemon=True)
        self._thread.start()

    def _run_job(self, kept: list[Kept]) -> None:
        """The background thread: write the frames, run the job, adopt its verdict."""
        folder = self.folder / "job"
        try:
            self._write_job(folder, kept)
            decision = self._runner(folder, self._stop)
        except Exception as exc:  # not remembered: a crash or a stop says nothing about INT8 on this site
            self._settle("float", f"INT8 calibration failed ({exc}); staying on {self._float} until the next start")
            return
        finally:
            for part in ("calibration", "check"):
                shutil.rmtree(folder / part, ignore_errors=True)
        self._adopt(decision, False)

    def _write_job(self, folder: Path, kept: list[Kept]) -> None:
        from engines.export.int8_job import FRAME_SUFFIX, Int8Job, write_job

        shutil.rmtree(folder, ignore_errors=True)  # what a killed run left behind
        calibration = self.settings.calibration_frames
        for index, frame in enumerate(kept):
            part = folder / ("calibration" if index < calibration else "check")
            part.mkdir(parents=True, exist_ok=True)
            (part / f"{index:05d}-{frame.camera}{FRAME_SUFFIX}").write_bytes(frame.jpeg)
        cameras = sorted({frame.camera for frame in kept})
        meta = {"hardware": self._hardware, "sizes": sorted(f"{w}x{h}" for w, h in set(self._sizes.values())),
                "cameras": cameras}
        write_job(folder, Int8Job(self.model.engine_model(), self._float, str(self.folder / "csrnet-int8.xml"),
                                  str(self.folder / DECISION), self.model.adapter, self.model.cache_dir,
                                  self.model.threads, self.settings.nice, self.settings.tolerance_pct,
                                  self.folder.name, meta))

    def _adopt(self, decision: dict, cached: bool) -> None:
        """Switch to INT8 on a passed check, or stay float and say why."""
        check = decision.get("check") or {}
        where = f"verdict of {decision.get('decided_at', '?')} in {self.folder}"
        if decision.get("verdict") != "int8":
            self._settle("float", f"INT8 refused: {check.get('reason', '?')}; staying on {self._float} "
                                  f"({where}; delete it to try again)", check, cached)
            return
        try:
            engine = self._opener(decision["model"])  # raw maps: the worker applies each camera's map correction
        except Exception as exc:
            self._settle("float", f"the checked INT8 model could not be opened ({exc}); staying on {self._float}")
            return
        if self._stop.is_set():
            engine.close()
            return
        reason = f"{check.get('reason', 'checked')}; switched from {self._float} ({where})"
        self.report = PrecisionReport(self._float, "switching", f"{reason}: waiting for the next batch", check, cached)
        # Reported as INT8 only once the worker runs on it: stats and /healthz never run ahead of the engine.
        self._offer(engine, lambda: self._settle("int8", reason, check, cached, engine.name.partition("-")[2] or "int8"))

    def _settle(self, state: str, reason: str, check: dict | None = None, cached: bool = False,
                precision: str | None = None) -> None:
        self.report = PrecisionReport(precision or self._float, state, reason, check, cached)
        (log.info if state == "int8" else log.warning)("engine precision %s: %s", self.report.precision, reason)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the background step (job, or opening a checked model); True when none is running."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self._thread is None or not self._thread.is_alive()

    def close(self, timeout: float = 5.0) -> None:
        """Stop the background job (its subprocess is killed); the daemon is shutting down."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)


def _digest(model: ModelConfig) -> str:
    """The digest of the model's weights or .onnx file (the float engine has read them already)."""
    from engines.export.int8_check import model_digest

    return model_digest(model.engine_model(), model.adapter)


def _jpeg(image, size: tuple[int, int]) -> bytes:
    """``image`` at the model input ``size`` (as ``engines.preprocess.prepare`` shrinks it), as JPEG."""
    import cv2

    if (image.shape[1], image.shape[0]) != tuple(size):
        image = cv2.resize(image, tuple(size), interpolation=cv2.INTER_AREA)
    return cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()
