"""What every runtime shares: input checks, splitting batches larger than ``max_batch``, closing."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import numpy as np

from ..base import ClosedOnExit
from ..errors import EngineError


class BaseEngine(ClosedOnExit):
    """An ``engines.base.Engine``; subclasses implement ``_run`` (N <= max_batch frames -> N x h x w)."""

    backend = "?"
    fixed_size: tuple[int, int] | None = None  # (W, H) for a model exported with one input size, else None

    def __init__(self, precision: str, max_batch: int, reason: str = ""):
        if max_batch < 1:
            raise EngineError(f"max_batch must be at least 1, got {max_batch}")
        self.precision = precision
        self.max_batch = max_batch
        self.reason = reason  # why this backend and precision were chosen, for logs and bench reports
        self.name = f"{self.backend}-{precision}"
        self._lock = threading.Lock()  # one inference at a time per engine: requests and buffers are shared
        self._closed = False

    def infer(self, batch: np.ndarray) -> np.ndarray:
        """N x 3 x H x W float32 -> N x H/8 x W/8 float32 density maps (any N; split by max_batch).

        Maps are the model's own, small negative cells included: the published weights were
        trained that way, and clamping them at zero adds counts (Mall MAE 3.27 -> 3.32).
        """
        batch = check_batch(batch)
        with self._lock:
            if self._closed:
                raise EngineError(f"engine {self.name} is closed")
            if len(batch) <= self.max_batch:
                return self._run(batch)
            parts = [self._run(batch[i:i + self.max_batch]) for i in range(0, len(batch), self.max_batch)]
        return np.concatenate(parts)

    def close(self) -> None:
        """Release the runtime's resources; later calls to ``infer`` fail."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._release()

    def _run(self, batch: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _release(self) -> None:
        """Drop references to runtime objects (subclasses free device memory here)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} max_batch={self.max_batch}>"


PROCESS_SIGNALS = ("SIGTERM", "SIGHUP", "SIGINT")  # what the daemon handles (in its main thread)


def leave_signals_to_main_thread() -> None:
    """Block the daemon's signals in the calling (non-main) thread and the threads it starts.

    The kernel hands a process signal to any thread that does not block it; one that ran an
    OpenVINO engine since closed may hold a freed alternate signal stack, and the signal then kills
    the process with SIGSEGV.  Python runs handlers in the main thread anyway, so blocking them
    elsewhere changes nothing else.
    """
    if threading.current_thread() is threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, {getattr(signal, name) for name in PROCESS_SIGNALS})


def in_own_thread(function, *args, **kwargs):
    """``function(*args, **kwargs)`` run in a short-lived thread; its result, or its exception re-raised here.

    OpenVINO's CPU plugin gives each thread that loads it an alternate signal stack, freed with the
    plugin's objects.  Loaded in the daemon's main thread, an engine closed later (the float engine
    after the switch to INT8) leaves that thread a dangling signal stack, and the next SIGTERM or
    SIGHUP kills the process with SIGSEGV (OpenVINO 2026.4).  A thread that ends takes it along.
    """
    done: dict = {}

    def call() -> None:
        leave_signals_to_main_thread()  # the plugin's own threads start from here and inherit the mask
        try:
            done["result"] = function(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 (re-raised in the caller's thread)
            done["error"] = exc

    thread = threading.Thread(target=call, name="engine-open")
    thread.start()
    thread.join()
    if "error" in done:
        raise done["error"]
    return done["result"]


def static_size(height, width) -> tuple[int, int] | None:
    """(W, H) when both input dimensions of a model are fixed numbers, else None."""
    if isinstance(height, int) and isinstance(width, int) and height > 0 and width > 0:
        return width, height
    return None


def check_batch(batch: np.ndarray) -> np.ndarray:
    """A C-contiguous float32 N x 3 x H x W array, or an ``EngineError`` saying what is wrong."""
    batch = np.asarray(batch)
    if batch.ndim == 3:
        raise EngineError(f"infer takes a batch N x 3 x H x W; got one frame {batch.shape} (use batch[None])")
    if batch.ndim != 4 or batch.shape[1] != 3 or batch.shape[0] < 1:
        raise EngineError(f"infer takes N x 3 x H x W float32 frames, got shape {batch.shape}")
    if batch.shape[2] < 8 or batch.shape[3] < 8:
        raise EngineError(f"frames of {batch.shape[3]}x{batch.shape[2]} are smaller than the model's stride (8)")
    return np.ascontiguousarray(batch, dtype=np.float32)


def weights_and_graph(model: str, cache_dir, adapter: str = "auto") -> tuple[dict, str, Path]:
    """(weights, digest, cached ONNX graph path) of a weights name or file with ``adapter`` over them."""
    from ..graph import cached_graph_path
    from ..weights import load_weights, weights_digest

    weights = load_weights(model, adapter)
    return weights, weights_digest(weights), cached_graph_path(weights, cache_dir)


def onnx_path(model: str, fmt: str, cache_dir, adapter: str = "auto") -> Path:
    """The ONNX file to run: the cached graph of weights (with ``adapter``), or the model file itself."""
    return weights_and_graph(model, cache_dir, adapter)[2] if fmt == "weights" else Path(model)


def file_digest(path: str | Path) -> str:
    """Short digest of a file, to key the cache of engines built from an ONNX file without metadata."""
    from ..weights import sha256_of

    return sha256_of(Path(path))[:16]
