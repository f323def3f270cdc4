"""Which backends exist, which model files each runs, and how ``backend: auto`` picks one.

Backends are found, not listed: every module ``engines/runtimes/*_backend.py`` declares its
``SPEC`` (``engines.runtimes.spec.BackendSpec``) and its ``open_engine``.  Config and CLI choices
come from here.  Backend modules import their runtime packages only inside functions, and
availability is judged with ``importlib.util.find_spec`` (and the NVIDIA driver's files), so
choosing is cheap and never pulls in torch.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import pkgutil
import sys
from pathlib import Path

from ..errors import BackendUnavailable, EngineError
from ..weights import DEFAULT_NAME
from .spec import PRECISIONS, SHARED_FORMATS, BackendSpec  # noqa: F401 (PRECISIONS: config and CLI read it here)

log = logging.getLogger("engines")
CPU_EXTRA = "cpu"  # pip extra with every CPU backend: what to install when none can run a shared format
# Files every backend may be given; a backend adds the suffixes of its own format in its SPEC.
SHARED_SUFFIXES: tuple[tuple[str, str], ...] = (
    (".pth.tar", "weights"), (".pth", "weights"), (".pt", "weights"), (".tar", "weights"), (".npz", "weights"),
    (".onnx", "onnx"),
)


def _discover() -> dict[str, BackendSpec]:
    """The SPEC of every ``*_backend`` module of this package, ordered as ``auto`` tries them, then by name."""
    specs = []
    for info in pkgutil.iter_modules(sys.modules[__package__].__path__):
        if info.name.endswith("_backend"):
            specs.append(importlib.import_module(f"{__package__}.{info.name}").SPEC)
    specs.sort(key=lambda s: (s.auto_rank is None, s.auto_rank or 0, s.name))
    return {spec.name: spec for spec in specs}


BACKENDS: dict[str, BackendSpec] = _discover()
AUTO_ORDER = tuple(name for name, spec in BACKENDS.items() if spec.auto_rank is not None)  # fastest first
BACKEND_CHOICES = ("auto", *BACKENDS)  # what config and CLI accept
SUFFIXES = SHARED_SUFFIXES + tuple((suffix, spec.name) for spec in sorted(BACKENDS.values(), key=lambda s: s.name)
                                   for suffix in spec.suffixes)


def model_format(model: str) -> str:
    """The format of a model name, path (by suffix: weights, onnx, openvino, tensorrt...) or URL (by scheme)."""
    if model == DEFAULT_NAME:
        return "weights"
    if is_url(model):
        return _url_format(model)
    name = Path(model).name.lower()
    for suffix, fmt in SUFFIXES:
        if name.endswith(suffix):
            return fmt
    known = " ".join(s for s, _ in SUFFIXES)
    raise EngineError(f"don't know how to run '{model}': use '{DEFAULT_NAME}' or a file ending in one of: {known}")


def is_url(model: str) -> bool:
    """True for a model served over the network (``scheme://...``), not a file or weights name."""
    return "://" in model


def _url_format(model: str) -> str:
    """The format of a served model: that of the backend whose SPEC lists the URL's scheme."""
    scheme = model.partition("://")[0].lower()
    for spec in BACKENDS.values():
        if scheme in spec.schemes:
            return spec.name
    known = [f"{s}://" for spec in BACKENDS.values() for s in spec.schemes]
    raise EngineError(f"no backend serves '{scheme}://' models" + (f"; known: {', '.join(known)}" if known else ""))


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
    if fmt in BACKENDS and BACKENDS[fmt].auto_rank is None:  # e.g. a served model: only its own backend runs it
        return require_backend(fmt, fmt), f"the {fmt} backend runs {fmt} models"
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
    extra = CPU_EXTRA if fmt in SHARED_FORMATS else BACKENDS[fmt].extra
    raise BackendUnavailable("auto", f"no backend can run a {fmt} model here ({'; '.join(skipped)})", extra)


def available_backends() -> dict[str, str | None]:
    """Every backend with the reason it is unavailable (None: available)."""
    return {name: unavailable_reason(name) for name in BACKENDS}


def open_backend(spec: BackendSpec, request):
    """The ``Engine`` that ``spec``'s module opens for ``request`` (an ``OpenRequest``)."""
    return importlib.import_module(spec.module).open_engine(request)
