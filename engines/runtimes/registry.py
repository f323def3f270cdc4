"""Which backends exist, which model files each runs, and how ``backend: auto`` picks one.

Nothing here imports a backend's package: availability is judged with ``importlib.util.find_spec``
(and the NVIDIA driver's files for TensorRT), so choosing is cheap and never pulls in torch.
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path

from ..errors import BackendUnavailable, EngineError
from ..weights import DEFAULT_NAME

log = logging.getLogger("engines")

# model formats: "weights" (CSRNet parameters), "onnx", "openvino" (IR .xml + .bin), "tensorrt" (serialised engine)
SUFFIXES: tuple[tuple[str, str], ...] = (
    (".pth.tar", "weights"), (".pth", "weights"), (".pt", "weights"), (".tar", "weights"), (".npz", "weights"),
    (".onnx", "onnx"), (".xml", "openvino"), (".engine", "tensorrt"), (".plan", "tensorrt"),
)


@dataclass(frozen=True)
class BackendSpec:
    """One runtime: its module under ``engines.runtimes``, the packages it needs and what it runs."""

    name: str
    module: str
    packages: tuple[str, ...]
    extra: str  # pip extra of crowd-monitor that installs the packages
    formats: tuple[str, ...]
    precisions: tuple[str, ...]
    needs_nvidia_gpu: bool = False


BACKENDS: dict[str, BackendSpec] = {
    "tensorrt": BackendSpec("tensorrt", "tensorrt_backend", ("tensorrt", "pycuda"), "tensorrt",
                            ("weights", "onnx", "tensorrt"), ("fp32", "fp16", "int8"), needs_nvidia_gpu=True),
    "openvino": BackendSpec("openvino", "openvino_backend", ("openvino",), "openvino",
                            ("weights", "onnx", "openvino"), ("fp32", "bf16", "fp16", "int8")),
    "onnxruntime": BackendSpec("onnxruntime", "onnxruntime_backend", ("onnxruntime",), "onnxruntime",
                               ("weights", "onnx"), ("fp32", "int8")),
    "torch": BackendSpec("torch", "torch_backend", ("torch",), "train", ("weights",), ("fp32", "fp16", "bf16")),
}
AUTO_ORDER = ("tensorrt", "openvino", "onnxruntime", "torch")  # fastest first, on the hardware each needs


def model_format(model: str) -> str:
    """The format of a model name or path: weights, onnx, openvino or tensorrt (by file suffix)."""
    if model == DEFAULT_NAME:
        return "weights"
    name = Path(model).name.lower()
    for suffix, fmt in SUFFIXES:
        if name.endswith(suffix):
            return fmt
    known = " ".join(s for s, _ in SUFFIXES)
    raise EngineError(f"don't know how to run '{model}': use '{DEFAULT_NAME}' or a file ending in one of: {known}")


def nvidia_gpu() -> str | None:
    """Why there is no usable NVIDIA GPU, or None when the driver reports one (cheap: reads /proc and /dev)."""
    gpus = Path("/proc/driver/nvidia/gpus")
    if (gpus.is_dir() and any(gpus.iterdir())) or Path("/dev/nvidia0").exists():
        return None
    return "no NVIDIA GPU (no driver under /proc/driver/nvidia, no /dev/nvidia0)"


def unavailable_reason(name: str) -> str | None:
    """Why backend ``name`` cannot run here, or None when it can (as far as can be told without importing it)."""
    spec = BACKENDS[name]
    missing = [p for p in spec.packages if importlib.util.find_spec(p) is None]
    if missing:
        return f"Python package{'s' if len(missing) > 1 else ''} {', '.join(missing)} not installed"
    if spec.needs_nvidia_gpu:
        return nvidia_gpu()
    return None


def require_backend(name: str, fmt: str) -> BackendSpec:
    """The spec of an explicitly requested backend, or an error saying why it cannot run this model here."""
    if name not in BACKENDS:
        raise EngineError(f"unknown backend '{name}': choose auto, {', '.join(BACKENDS)}")
    spec = BACKENDS[name]
    if fmt not in spec.formats:
        able = [b for b, s in BACKENDS.items() if fmt in s.formats]
        raise EngineError(f"backend '{name}' cannot run a {fmt} model; use {' or '.join(able)}")
    reason = unavailable_reason(name)
    if reason:
        raise BackendUnavailable(name, reason, spec.extra if "not installed" in reason else None)
    return spec


def choose_backend(requested: str, fmt: str) -> tuple[BackendSpec, str]:
    """The backend to use and why (``auto``: TensorRT on an NVIDIA GPU, else OpenVINO, ONNX Runtime, torch)."""
    if requested != "auto":
        return require_backend(requested, fmt), "requested"
    skipped = []
    for name in AUTO_ORDER:
        spec = BACKENDS[name]
        if fmt not in spec.formats:
            continue
        reason = unavailable_reason(name)
        if reason is None:
            why = f"auto picked {name}" + (f" ({'; '.join(skipped)})" if skipped else " (first choice)")
            log.info("%s", why)
            return spec, why
        skipped.append(f"{name}: {reason}")
    extra = "cpu" if fmt in ("weights", "onnx") else BACKENDS[fmt].extra  # cpu = openvino + onnxruntime
    raise BackendUnavailable("auto", f"no backend can run a {fmt} model here ({'; '.join(skipped)})", extra)


def available_backends() -> dict[str, str | None]:
    """Every backend with the reason it is unavailable (None: available)."""
    return {name: unavailable_reason(name) for name in BACKENDS}
