"""Runtimes behind one interface (``engines.base.Engine``): OpenVINO, ONNX Runtime, TensorRT, torch.

Each backend is one module ``<name>_backend.py`` declaring its ``SPEC`` and ``open_engine``;
``registry`` finds them, knows which backend runs which model file and picks one for ``backend:
auto``; ``opener.open_engine`` builds the engine.  Backend packages are imported only when opened.
"""

from __future__ import annotations

from .opener import open_engine
from .registry import AUTO_ORDER, BACKEND_CHOICES, BACKENDS, available_backends, choose_backend, model_format
from .spec import PRECISIONS

__all__ = ["AUTO_ORDER", "BACKENDS", "BACKEND_CHOICES", "PRECISIONS", "available_backends", "choose_backend",
           "model_format", "open_engine"]
