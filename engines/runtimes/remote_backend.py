"""A CSRNet served by Triton (or any KServe v2 server): ``grpc://host:8001/csrnet`` or ``http://...``.

The model URL is ``SCHEME://HOST:PORT/MODEL[/VERSION][?timeout_s=S&ca=FILE&cert=FILE&key=FILE]``;
``grpcs://`` and ``https://`` use TLS (``ca``: the server's CA bundle; ``cert``/``key``: a client
certificate).  A server that is slow or gone raises ``EngineUnreachable``: the inference worker
reports a reading gap and retries with backoff instead of failing.  tritonclient is imported only
when an engine is opened.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import numpy as np

from ..errors import EngineError, EngineUnreachable
from ..graph import INPUT_NAME, OUTPUT_NAME
from .common import BaseEngine
from .spec import BackendSpec, OpenRequest

log = logging.getLogger("engines")
SPEC = BackendSpec("remote", __name__, packages=("tritonclient",), extra="remote", formats=("remote",),
                   precisions=("fp32",), schemes=("grpc", "grpcs", "http", "https"))
DEFAULT_PORTS = {"grpc": 8001, "grpcs": 8001, "http": 8000, "https": 8000}
OPTIONS = ("timeout_s", "ca", "cert", "key")


@dataclass(frozen=True)
class RemoteTarget:
    """Where the model is served and how to reach it."""

    scheme: str
    address: str  # host:port
    model: str
    version: str = ""  # "" : the server's choice (its latest)
    timeout_s: float = 10.0
    ca: str | None = None
    cert: str | None = None
    key: str | None = None

    @property
    def grpc(self) -> bool:
        """True for the gRPC protocol, False for HTTP/REST."""
        return self.scheme.startswith("grpc")

    @property
    def tls(self) -> bool:
        """True when the connection is encrypted."""
        return self.scheme in ("grpcs", "https")


def parse_url(url: str) -> RemoteTarget:
    """The ``RemoteTarget`` of a model URL, or an ``EngineError`` saying what is wrong with it."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        raise EngineError(f"remote model URL '{url}' must look like grpc://HOST:PORT/MODEL (or http, grpcs, https)")
    path = [p for p in parts.path.split("/") if p]
    if not path or len(path) > 2:
        raise EngineError(f"remote model URL '{url}' must name the model: {scheme}://HOST:PORT/MODEL[/VERSION]")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    unknown = sorted(set(query) - set(OPTIONS))
    if unknown:
        raise EngineError(f"remote model URL option(s) {', '.join(unknown)} unknown; known: {', '.join(OPTIONS)}")
    try:
        timeout = float(query.get("timeout_s", 10.0))
    except ValueError:
        raise EngineError(f"remote model URL: timeout_s must be seconds, got '{query['timeout_s']}'") from None
    if timeout <= 0:
        raise EngineError("remote model URL: timeout_s must be above 0")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return RemoteTarget(scheme, f"{host}:{parts.port or DEFAULT_PORTS[scheme]}", path[0],
                        path[1] if len(path) > 1 else "", timeout, query.get("ca"), query.get("cert"),
                        query.get("key"))


def model_url(base: str, model: str, version: str = "", **options) -> str:
    """A model URL from the config's pieces (``model.url``, name, version, timeout and TLS files)."""
    url = f"{base.rstrip('/')}/{model}" + (f"/{version}" if version else "")
    query = "&".join(f"{k}={v}" for k, v in options.items() if v is not None)
    return url + (f"?{query}" if query else "")


def _client(target: RemoteTarget):
    """A tritonclient client for the target's protocol, TLS as asked."""
    if target.grpc:
        import tritonclient.grpc as grpcclient

        return grpcclient.InferenceServerClient(target.address, ssl=target.tls, root_certificates=target.ca,
                                                private_key=target.key, certificate_chain=target.cert)
    import tritonclient.http as httpclient

    ssl_options = {k: v for k, v in (("ca_certs", target.ca), ("certfile", target.cert),
                                     ("keyfile", target.key)) if v}
    return httpclient.InferenceServerClient(target.address, ssl=target.tls, ssl_options=ssl_options or None,
                                            connection_timeout=target.timeout_s, network_timeout=target.timeout_s)


def _short(exc: Exception) -> str:
    """One line of a tritonclient or socket error (gRPC messages can span several lines)."""
    text = getattr(exc, "message", lambda: None)() if callable(getattr(exc, "message", None)) else None
    return " ".join(str(text or exc).split())[:200] or type(exc).__name__


class RemoteEngine(BaseEngine):
    """Density maps from a model on a KServe v2 server; the server's dynamic batcher merges clients."""

    backend = "remote"

    def __init__(self, target: RemoteTarget, *, max_batch: int = 4, reason: str = ""):
        self.target = target
        super().__init__("fp32", max_batch, reason)
        self.name = f"remote-{target.model}"
        self._client = _client(target)
        self._check_model()
        log.info("remote: %s at %s://%s (%s)", target.model, target.scheme, target.address, self.reason)

    def _check_model(self) -> None:
        """Fail on a server that does not serve the model; a server not reachable yet is only logged."""
        try:
            ready = self._client.is_model_ready(self.target.model, self.target.version)
        except Exception as exc:  # connection refused, DNS, TLS: the worker reports the gap and retries
            log.warning("remote: server %s not reachable yet (%s); readings start when it is",
                        self.target.address, _short(exc))
            return
        if not ready:
            raise EngineError(f"the server at {self.target.address} has no ready model "
                              f"'{self.target.model}'{' version ' + self.target.version if self.target.version else ''}"
                              " (check the model name, or `crowd-monitor serve` / the model repository)")

    def _run(self, batch: np.ndarray) -> np.ndarray:
        try:
            out = self._infer(batch)
        except EngineError:
            raise
        except Exception as exc:  # tritonclient raises InferenceServerException, sockets raise OSError
            raise EngineUnreachable(f"remote model {self.target.model} at {self.target.address}: {_short(exc)}") \
                from None
        if out is None or out.ndim != 4 or out.shape[0] != len(batch):
            raise EngineError(f"remote model {self.target.model} answered {getattr(out, 'shape', None)} "
                              f"for a {batch.shape} batch; is it CSRNet (output '{OUTPUT_NAME}')?")
        return np.ascontiguousarray(out[:, 0], dtype=np.float32)

    def _infer(self, batch: np.ndarray) -> np.ndarray | None:
        if self.target.grpc:
            import tritonclient.grpc as proto
        else:
            import tritonclient.http as proto
        image = proto.InferInput(INPUT_NAME, list(batch.shape), "FP32")
        wanted = proto.InferRequestedOutput(OUTPUT_NAME)
        if self.target.grpc:
            image.set_data_from_numpy(batch)
            result = self._client.infer(self.target.model, [image], model_version=self.target.version,
                                        outputs=[wanted], client_timeout=self.target.timeout_s)
        else:
            image.set_data_from_numpy(batch, binary_data=True)
            result = self._client.infer(self.target.model, [image], model_version=self.target.version,
                                        outputs=[wanted])
        return result.as_numpy(OUTPUT_NAME)

    def _release(self) -> None:
        try:
            self._client.close()
        except Exception:  # closing a client of a dead server must not fail shutdown
            pass
        self._client = None


def open_engine(request: OpenRequest) -> RemoteEngine:
    """The engine for a model URL (``grpc://HOST:PORT/MODEL`` and friends)."""
    if request.precision not in ("auto", "fp32"):
        raise EngineError(f"a remote model runs at the server's precision; use precision auto, not {request.precision}")
    return RemoteEngine(parse_url(request.model), max_batch=request.max_batch, reason=request.reason)
