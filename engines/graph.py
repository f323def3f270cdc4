"""The CSRNet ONNX graph built straight from a weights dict with ``onnx.helper`` (no torch needed).

This is how the daemon runs the default model under OpenVINO or ONNX Runtime on an edge box
without torch.  Input ``image``: N x 3 x H x W float32 (dynamic N, H, W); output ``density``:
N x 1 x floor(H/8) x floor(W/8).  The graph is cached on disk keyed by the weights' digest, so it
is built once per weights file.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from .cache import artifact_path, atomic_write
from .weights import BACKEND, FRONTEND, check_state_dict, weights_digest

log = logging.getLogger(__name__)

INPUT_NAME = "image"
OUTPUT_NAME = "density"
OPSET = 17


def _conv(nodes: list, inits: list, weights: dict, key: str, x: str, dilation: int, relu: bool) -> str:
    """Append Conv(+Relu) reading the parameters ``key.weight``/``key.bias``; returns the output name."""
    from onnx import helper, numpy_helper

    w, b = weights[f"{key}.weight"], weights[f"{key}.bias"]
    inits += [numpy_helper.from_array(w, f"{key}.weight"), numpy_helper.from_array(b, f"{key}.bias")]
    pad = dilation * (w.shape[-1] // 2)
    out = f"{key}.conv"
    nodes.append(helper.make_node("Conv", [x, f"{key}.weight", f"{key}.bias"], [out], name=key,
                                  kernel_shape=list(w.shape[-2:]), pads=[pad] * 4, dilations=[dilation] * 2,
                                  strides=[1, 1]))
    if not relu:
        return out
    nodes.append(helper.make_node("Relu", [out], [f"{key}.relu"], name=f"{key}.relu"))
    return f"{key}.relu"


FEATURES_NAME = "features"


def build_graph(weights: dict[str, np.ndarray], backend_layers: int | None = None):
    """The CSRNet ``onnx.ModelProto`` with the given parameters (validated first).

    With ``backend_layers`` the graph stops after that many back-end convolutions (with their
    ReLU; 0: the front end alone) and outputs their ``features`` instead of the density: what
    adapter training caches.
    """
    import onnx
    from onnx import TensorProto, helper

    weights = check_state_dict(weights, "weights")
    nodes: list = []
    inits: list = []
    x, index = INPUT_NAME, 0
    for item in FRONTEND:
        if item == "M":
            out = f"frontend.{index}.pool"
            nodes.append(helper.make_node("MaxPool", [x], [out], name=out, kernel_shape=[2, 2], strides=[2, 2]))
            x, index = out, index + 1
        else:
            x, index = _conv(nodes, inits, weights, f"frontend.{index}", x, 1, relu=True), index + 2
    for i in range(len(BACKEND) if backend_layers is None else backend_layers):
        x = _conv(nodes, inits, weights, f"backend.{2 * i}", x, 2, relu=True)
    if backend_layers is None:
        _conv(nodes, inits, weights, "output_layer", x, 1, relu=False)
    name, channels = (OUTPUT_NAME, 1) if backend_layers is None else \
        (FEATURES_NAME, BACKEND[backend_layers - 1] if backend_layers else FRONTEND[-1])
    nodes[-1].output[0] = name
    image = helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["batch", 3, "height", "width"])
    output = helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", channels, "height_8", "width_8"])
    graph = helper.make_graph(nodes, "csrnet", [image], [output], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="crowd-monitor", doc_string="CSRNet density map, stride 8")
    model.ir_version = 8  # readable by every runtime we support (ONNX Runtime >= 1.14, OpenVINO, TensorRT 10)
    helper.set_model_props(model, {"weights_sha": weights_digest(weights), "stride": "8"})
    onnx.checker.check_model(model)
    return model


def cached_graph_path(weights: dict[str, np.ndarray], cache_dir: str | os.PathLike | None = None) -> Path:
    """The ONNX file for these weights in the cache, built and written on first use."""
    digest = weights_digest(weights)
    path = artifact_path(cache_dir, "onnx", digest, "fp32")
    if path.is_file() and _readable(path, digest):
        return path
    log.info("building the CSRNet ONNX graph for weights %s into %s", digest, path)
    atomic_write(path, build_graph(weights).SerializeToString())
    from .runtimes.metadata import write_metadata

    write_metadata(path, fmt="onnx", precision="fp32", weights_sha=digest, source="built graph (engines.graph)")
    return path


def _readable(path: Path, digest: str) -> bool:
    """True when a cached ONNX file parses and carries the expected weights digest."""
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # a corrupt cache entry is rebuilt, not fatal
        log.warning("rebuilding corrupt cached graph %s: %s", path, exc)
        return False
    props = {p.key: p.value for p in model.metadata_props}
    return props.get("weights_sha") == digest
