"""A real Triton server for tests: `crowd-monitor serve` in its own process group on free loopback ports."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

import pytest


def free_ports(count: int) -> list[int]:
    """``count`` TCP ports free on 127.0.0.1 right now."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@dataclass
class TritonServer:
    """A `crowd-monitor serve` process; ``kill`` and ``start`` again keep the same ports."""

    http_port: int
    grpc_port: int
    metrics_port: int
    log_path: str
    queue_delay_ms: float = 20.0
    process: subprocess.Popen | None = None

    def url(self, scheme: str = "grpc", **options) -> str:
        """The model URL clients use."""
        port = self.grpc_port if scheme == "grpc" else self.http_port
        query = "&".join(f"{k}={v}" for k, v in options.items())
        return f"{scheme}://127.0.0.1:{port}/csrnet" + (f"?{query}" if query else "")

    def start(self, timeout: float = 180.0) -> None:
        """Start the server and wait until the model is ready."""
        command = [sys.executable, "-m", "monitor", "serve", "--address", "127.0.0.1", "--backend", "onnxruntime",
                   "--http-port", str(self.http_port), "--grpc-port", str(self.grpc_port),
                   "--metrics-port", str(self.metrics_port), "--max-batch", "8", "--queue-delay-ms", str(self.queue_delay_ms)]
        log = open(self.log_path, "ab")
        # its own session: pytriton starts tritonserver and stub processes, killed together as a group
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"crowd-monitor serve exited {self.process.returncode}; see {self.log_path}")
            if self.ready():
                return
            time.sleep(0.5)
        self.kill()
        raise RuntimeError(f"Triton not ready within {timeout:.0f} s; see {self.log_path}")

    def ready(self) -> bool:
        """True when the server answers and the model is ready."""
        import tritonclient.http as httpclient

        try:
            client = httpclient.InferenceServerClient(f"127.0.0.1:{self.http_port}", connection_timeout=2)
            return bool(client.is_model_ready("csrnet"))
        except Exception:
            return False

    def statistics(self, model: str = "csrnet") -> dict:
        """Triton's own statistics of ``model``: inference_count, execution_count and the batch sizes it ran."""
        import tritonclient.http as httpclient

        client = httpclient.InferenceServerClient(f"127.0.0.1:{self.http_port}", connection_timeout=5)
        try:
            stats = client.get_inference_statistics(model)["model_stats"][0]
        finally:
            client.close()
        return {"inference_count": int(stats.get("inference_count", 0)),
                "execution_count": int(stats.get("execution_count", 0)),
                "batches": {int(b["batch_size"]): int(b["compute_infer"]["count"]) for b in stats.get("batch_stats", [])}}

    def kill(self) -> None:
        """SIGKILL the server's process group: a crash, not a clean stop."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(30)
        self.process = None


@pytest.fixture(scope="module")
def triton_server(tmp_path_factory):
    """One real Triton server per test module (needs nvidia-pytriton and tritonclient)."""
    server = make_triton_server(tmp_path_factory)
    server.start()
    yield server
    server.kill()


def make_triton_server(tmp_path_factory, queue_delay_ms: float = 20.0) -> TritonServer:
    """A ``TritonServer`` on free loopback ports, not started; skips without nvidia-pytriton or tritonclient."""
    pytest.importorskip("pytriton", reason="needs nvidia-pytriton: pip install 'crowd-monitor[serve]'")
    pytest.importorskip("tritonclient", reason="needs tritonclient: pip install 'crowd-monitor[remote]'")
    http, grpc, metrics = free_ports(3)
    return TritonServer(http, grpc, metrics, str(tmp_path_factory.mktemp("triton") / "serve.log"), queue_delay_ms)
