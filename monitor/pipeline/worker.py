"""The inference worker: batches the newest frame of every camera, runs the engine, hands maps on."""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

import numpy as np

from engines.base import Engine
from engines.errors import EngineUnreachable
from engines.preprocess import model_input_size, paste_map, prepare
from engines.runtimes.common import leave_signals_to_main_thread
from engines.scale import probe_maps

from ..types import DensityResult, StageTimings
from .autoside import AutoSide
from .batching import AUTO, Box, CameraInput, Side, Taken, age_origin, group_batches, queue_ms
from .engineswap import EngineSwap
from .outage import EngineOutage
from .output import corrected, gained
from .slot import LatestFrameSlot
from .stats import STAGES, CameraTally, LatencyWindow, add_stage_times

log = logging.getLogger("monitor.pipeline")
__all__ = ["AUTO", "Box", "CameraInput", "InferenceWorker", "Side"]  # re-exported for callers of the worker


class InferenceWorker:
    """One thread that takes ready frames across cameras, batches them and calls ``engine.infer``.

    Each loop takes at most one frame per camera (one busy camera cannot starve the others), groups
    them by model input size (``batching``), runs batches of up to ``engine.max_batch`` and calls
    ``on_result`` per frame; taking removes a frame from its slot, so none is processed twice.
    ``on_heartbeat`` marks every loop, at least every ``heartbeat_s`` when idle, so a stuck engine
    stops the beat (the systemd watchdog).  A camera's counted box (its ROI's bounding box) is run
    with context around it (``engines.preprocess.input_window``); its map still covers the frame.
    Under ``auto`` a camera's frame is now and then *probed* at three sizes (``engines.scale``;
    schedule in ``autoside``); later frames use the chosen size and ``on_side`` hears each new one.
    Maps leave through ``output``: the camera's map correction, then its gain; auto chooses on the
    corrected maps before the gain, as ``calibrate`` measured them.
    """

    def __init__(self, engine: Engine, max_side: Side, on_result: Callable[[DensityResult], None],
                 *, on_heartbeat: Callable[[], None] | None = None, heartbeat_s: float = 0.5,
                 auto_recheck_s: float = 600.0, on_side: Callable[[str, object], None] | None = None,
                 correction: bool = False):
        self.engine = engine
        self.max_side = max_side
        self.correction = correction  # cameras' default (model.correction)
        self.auto_recheck_s = auto_recheck_s
        self.on_side = on_side
        self._auto: dict[str, AutoSide] = {}
        self.on_result = on_result
        self.on_heartbeat = on_heartbeat
        self.heartbeat_s = heartbeat_s
        self.last_loop_monotonic = time.monotonic()
        self._slots: dict[str, LatestFrameSlot] = {}
        self._tallies: dict[str, CameraTally] = {}
        self._inputs: dict[str, CameraInput] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._rotation = 0
        self._latency = {stage: LatencyWindow() for stage in STAGES}
        self._counts = {"loops": 0, "batches": 0, "frames": 0, "probes": 0, "engine_errors": 0, "callback_errors": 0}
        self._last_error: str | None = None
        self.outage = EngineOutage()  # a model server that is slow or gone: gap, backoff, recovery
        self.swap = EngineSwap()  # another engine (e.g. INT8 once checked) offered from another thread

    # -- cameras -------------------------------------------------------------------------------
    def add_camera(self, name: str, slot: LatestFrameSlot, box: Box | None = None,
                   max_side: Side | None = None, correction: bool | None = None, gain: float = 1.0) -> None:
        """Start serving a camera's slot (replaces a camera of the same name); see set_input."""
        with self._lock:
            old = self._slots.get(name)
            self._slots[name] = slot
            self._inputs[name] = CameraInput(box, max_side, correction, gain)
            self._tallies.setdefault(name, CameraTally())
        if old is not None and old is not slot:
            old.set_listener(None)
        slot.set_listener(self._wake.set)
        self._wake.set()

    def remove_camera(self, name: str) -> LatestFrameSlot | None:
        """Stop serving a camera; a batch already running for it is not delivered."""
        with self._lock:
            slot = self._slots.pop(name, None)
            self._tallies.pop(name, None)
            self._inputs.pop(name, None)
            self._auto.pop(name, None)
            self.outage.forget(name)
        if slot is not None:
            slot.set_listener(None)
        return slot

    def set_input(self, name: str, box: Box | None, max_side: Side | None = None,
                  correction: bool | None = None, gain: float = 1.0) -> None:
        """``box``: relative (x0, y0, x1, y1) of the counted part of the frames (None: all);
        ``max_side``: the camera's input size, ``correction``: its map correction (None: the
        worker's); ``gain``: what its density maps are multiplied by."""
        with self._lock:
            if name in self._slots:
                if self._inputs[name].correction != correction:
                    self._auto.pop(name, None)  # auto's probe counts so far were of the other maps
                self._inputs[name] = CameraInput(box, max_side, correction, gain)

    def output_of(self, name: str) -> tuple[bool, float]:
        """The camera's map correction (on or off) and count gain."""
        with self._lock:
            camera = self._inputs.get(name, CameraInput())
        return (self.correction if camera.correction is None else camera.correction), camera.gain

    def cameras(self) -> list[str]:
        """Names of the cameras served."""
        with self._lock:
            return list(self._slots)

    # -- life cycle ----------------------------------------------------------------------------
    def start(self) -> None:
        """Start the worker thread."""
        if self._thread is not None:
            raise RuntimeError("inference worker already started")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="inference", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop after the batch in progress; True when the thread ended within ``timeout``."""
        self._stop.set()
        self._wake.set()
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def alive(self) -> bool:
        """Whether the worker thread is running."""
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        leave_signals_to_main_thread()  # engines' own threads start from here (see the function)
        while not self._stop.is_set():
            self._wake.wait(self.heartbeat_s)
            self._wake.clear()  # before taking: a put after this point wakes the next loop
            self._beat()
            if self._stop.is_set():
                break
            self.run_once()

    def _beat(self) -> None:
        self.last_loop_monotonic = time.monotonic()
        if self.on_heartbeat is not None:
            try:
                self.on_heartbeat()
            except Exception:
                log.exception("heartbeat callback failed")

    # -- one loop ------------------------------------------------------------------------------
    def run_once(self) -> int:
        """Take the ready frames, run them through the engine; returns how many were processed."""
        self.engine = self.swap.adopt(self.engine)  # between batches: one engine per batch, never a closed one
        frames, leftovers = self._collect()
        if leftovers:
            self._wake.set()  # slots with capacity > 1 still hold frames
        if not frames:
            return 0
        if self.outage.waiting():  # a gap, not a backlog: these frames would be stale by the time it ends
            for taken in frames:
                self.outage.dropped(taken.frame.camera)
            return 0
        self._counts["loops"] += 1
        for batch in self._batches(frames):
            if batch[0].side is None:
                self._probe(batch[0])
            else:
                self._process(batch)
            self._beat()
        return len(frames)

    def _collect(self) -> tuple[list[Taken], bool]:
        """One frame per camera, starting at a rotating camera; and whether any slot has more."""
        with self._lock:
            served = list(self._slots.items())
        if not served:
            return [], False
        self._rotation = (self._rotation + 1) % len(served)
        served = served[self._rotation:] + served[:self._rotation]
        frames, leftovers = [], False
        for _, slot in served:
            frame = slot.take()
            if frame is not None:
                frames.append(Taken(frame, slot, time.monotonic()))
                leftovers = leftovers or len(slot) > 0
        return frames, leftovers

    def _batches(self, frames: list[Taken]):
        """Frames grouped into engine batches (``batching.group_batches``)."""
        with self._lock:
            inputs = dict(self._inputs)
        return group_batches(frames, inputs, self.max_side, self.engine.fixed_size, self.engine.max_batch,
                             self._side_for)

    def _side_for(self, camera: str, side: Side, size: tuple[int, int]) -> int | None:
        """The long side for a camera's frame of ``size``; None when the frame is to be probed."""
        if side != AUTO:
            return int(side)
        auto = self._auto.get(camera)
        if auto is None:
            auto = self._auto[camera] = AutoSide(self.auto_recheck_s)
        return None if auto.due(time.monotonic(), size) else auto.side

    def _probe(self, taken: Taken) -> None:
        """Infer one frame at each probed size, choose the camera's size, deliver that size's map."""
        frame = taken.frame
        t0 = time.perf_counter()
        try:
            maps = probe_maps(self.engine, frame.image)
        except Exception as exc:
            self._engine_failed(exc, [taken])
            return
        correct, gain = self.output_of(frame.camera)
        maps = {side: corrected(density, correct) for side, density in maps.items()}
        self.outage.succeeded()
        infer_ms = (time.perf_counter() - t0) * 1000.0
        auto = self._auto.get(frame.camera)
        if auto is None:
            return  # camera removed meanwhile
        previous = auto.side
        choice = auto.record({side: float(m.sum()) for side, m in maps.items()}, time.monotonic())
        if self.on_side is not None and choice.side != previous:
            self.on_side(frame.camera, choice)
        self._counts["batches"] += 1
        self._counts["probes"] += 1
        size = model_input_size(frame.image.shape[1], frame.image.shape[0], choice.side)
        timings = StageTimings(queue_ms(frame, taken.taken_at), 0.0, infer_ms, 1)
        self._deliver(DensityResult(frame, gained(maps[choice.side], gain), timings, time.time(), size), taken.slot)

    def _engine_failed(self, exc: Exception, batch: list[Taken]) -> None:
        self._counts["engine_errors"] += 1
        self._last_error = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, EngineUnreachable):  # expected in a remote setup: one line, then backoff
            self.outage.failed(exc)
            for taken in batch:
                self.outage.dropped(taken.frame.camera)
            return
        log.exception("engine failed on a batch of %d frame(s)", len(batch))

    def _process(self, batch: list[Taken]) -> None:
        """Preprocess, infer and deliver one batch of frames of equal input size and window."""
        prepared, prep_ms = [], []
        for taken in batch:
            t0 = time.perf_counter()
            prepared.append(prepare(taken.frame.image, taken.side, taken.window))
            prep_ms.append((time.perf_counter() - t0) * 1000.0)
        t0 = time.perf_counter()
        try:
            maps = np.asarray(self.engine.infer(np.stack(prepared)))
        except Exception as exc:
            self._engine_failed(exc, batch)
            return
        self.outage.succeeded()
        infer_ms = (time.perf_counter() - t0) * 1000.0
        self._counts["batches"] += 1
        for i, taken in enumerate(batch):
            timings = StageTimings(queue_ms(taken.frame, taken.taken_at), prep_ms[i], infer_ms, len(batch))
            correct, gain = self.output_of(taken.frame.camera)
            density = paste_map(gained(corrected(maps[i], correct), gain), taken.window, taken.size)
            self._deliver(DensityResult(taken.frame, density, timings, time.time(), taken.size), taken.slot)

    def _deliver(self, result: DensityResult, slot: LatestFrameSlot) -> None:
        frame = result.frame
        with self._lock:
            if self._slots.get(frame.camera) is not slot:
                return  # camera removed or replaced while its batch ran
            tally = self._tallies[frame.camera]
        total_ms = (time.monotonic() - age_origin(frame)) * 1000.0
        add_stage_times(self._latency, result.timings, total_ms)
        tally.delivered(frame.seq, total_ms, time.monotonic())
        self._counts["frames"] += 1
        try:
            self.on_result(result)
        except Exception:
            self._counts["callback_errors"] += 1
            log.exception("result callback failed for camera %s", frame.camera)

    # -- reporting -----------------------------------------------------------------------------
    def stats(self) -> dict:
        """Counters, per-stage latency summaries (ms) and per-camera processed/drops/lag."""
        with self._lock:
            cameras = {name: (self._slots[name], self._tallies[name]) for name in self._slots}
            auto = {name: self._auto[name].choice for name in cameras if name in self._auto}
            gaps = dict(self.outage.gap_frames)
        outputs = {name: self.output_of(name) for name in cameras}  # (correction, gain)
        per_camera = {
            name: {"processed": tally.processed, "drops": slot.drops, "last_seq": tally.last_seq,
                   "lag_ms": tally.lag_ms.summary(), "gap_frames": gaps.get(name, 0),
                   "input_side": auto[name].as_dict() if auto.get(name) else None,
                   "correction": outputs[name][0], "count_gain": outputs[name][1]}
            for name, (slot, tally) in cameras.items()
        }
        return {
            "engine": self.engine.name,
            "max_batch": self.engine.max_batch,
            **self._counts,
            "last_error": self._last_error,
            "engine_status": self.outage.status(),
            "seconds_since_loop": round(time.monotonic() - self.last_loop_monotonic, 3),
            "latency_ms": {stage: window.summary() for stage, window in self._latency.items()},
            "cameras": per_camera,
        }

