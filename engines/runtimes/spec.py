"""What a runtime module declares (``SPEC``) and what its ``open_engine`` receives (``OpenRequest``).

A backend is one module ``engines/runtimes/<name>_backend.py`` holding ``SPEC = BackendSpec(...)``
and ``open_engine(request) -> Engine``; ``registry`` finds it by that name, so nothing else changes
when one is added.  This module is standard library only: the registry reads specs without
importing any runtime package.
"""

from __future__ import annotations

from dataclasses import dataclass

PRECISIONS = ("auto", "fp32", "fp16", "bf16", "int8")  # every precision a backend may offer, "auto" first
SHARED_FORMATS = ("weights", "onnx")  # formats any backend may run; a backend's own format is named after it


@dataclass(frozen=True)
class BackendSpec:
    """One runtime: its module, the packages it needs, what it runs and where ``auto`` ranks it."""

    name: str
    module: str  # dotted name of the module with ``open_engine`` (its ``__name__``)
    packages: tuple[str, ...]  # judged present with importlib.util.find_spec, never imported to choose
    extra: str  # pip extra of crowd-monitor that installs the packages
    formats: tuple[str, ...]  # model formats it runs: SHARED_FORMATS and/or its own (its name)
    precisions: tuple[str, ...]  # out of PRECISIONS, "auto" aside
    auto_rank: int | None = None  # ``backend: auto`` tries lower ranks first; None: only when named
    needs_nvidia_gpu: bool = False
    suffixes: tuple[str, ...] = ()  # file name endings of its own format, e.g. (".xml",)
    schemes: tuple[str, ...] = ()  # URL schemes of its own format, e.g. ("grpc",) for a model on a server


@dataclass(frozen=True)
class OpenRequest:
    """Everything ``open_engine`` of a backend needs, already checked by ``engines.runtimes.opener``."""

    model: str  # weights name, file, or URL
    fmt: str  # the model's format (``registry.model_format``)
    precision: str  # one of PRECISIONS
    max_batch: int = 4
    threads: int | None = None  # CPU threads; None: all cores
    cache_dir: str | None = None  # compiled artifacts; None: engines.cache.default_cache_dir
    max_side: int = 1920  # largest long side of the frames, for engines built for a size range
    reason: str = ""  # why this backend was chosen, for logs and bench reports
    adapter: str = "auto"  # laid over weights names and files (``engines.adapter``); not over compiled models
