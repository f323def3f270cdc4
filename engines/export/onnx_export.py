"""ONNX export: the CSRNet graph built from weights (dynamic batch, height and width), or a fixed shape."""

from __future__ import annotations

import shutil
from pathlib import Path

from ..errors import EngineError
from ..graph import INPUT_NAME, OUTPUT_NAME, build_graph
from ..preprocess import STRIDE


def fix_shape(model, batch: int, width: int, height: int):
    """The same ONNX model with a static input N x 3 x H x W (some runtimes are faster with it)."""
    from onnx.tools.update_model_dims import update_inputs_outputs_dims

    if width % STRIDE or height % STRIDE:
        raise EngineError(f"static size {width}x{height} must be a multiple of {STRIDE} on both sides")
    return update_inputs_outputs_dims(model, {INPUT_NAME: [batch, 3, height, width]},
                                      {OUTPUT_NAME: [batch, 1, height // STRIDE, width // STRIDE]})


def export_onnx(source: str, out: Path, *, weights: dict | None, dynamic: bool = True,
                size: tuple[int, int] = (960, 544), batch: int = 1) -> Path:
    """Write an ONNX file built from ``weights`` (or copy the ``source`` .onnx), dynamic or at ``size`` (W, H)."""
    import onnx

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if weights is None and dynamic:
        if Path(source).resolve() != out.resolve():
            shutil.copyfile(source, out)
        return out
    model = build_graph(weights) if weights is not None else onnx.load(source)
    if not dynamic:
        model = fix_shape(model, batch, *size)
    onnx.save(model, str(out))
    return out
