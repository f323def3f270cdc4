"""Runtimes behind one interface (``engines.base.Engine``): OpenVINO, ONNX Runtime, TensorRT, torch.

``registry`` knows which backend runs which model file and picks one for ``backend: auto``;
``opener.open_engine`` builds the engine.  Backend packages are imported only when opened.
"""

from __future__ import annotations

from .opener import PRECISIONS, open_engine
from .registry import AUTO_ORDER, BACKENDS, available_backends, choose_backend, model_format

__all__ = ["AUTO_ORDER", "BACKENDS", "PRECISIONS", "available_backends", "choose_backend", "model_format",
           "open_engine"]
