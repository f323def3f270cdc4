"""Frames per second of one model server (Triton: ``crowd-monitor serve``, or a GPU server) under load.

Each simulated daemon is a thread with its own remote engine sending one frame per request, as a
daemon with a camera or two does; together they keep the server's dynamic batcher fed.  The rate
is frames answered per second of wall time over all clients; latency is per request.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from .measure import compare, Run

CLIENTS = (1, 2, 4)


def _client(url: str, inputs: list[np.ndarray], rounds: int, out: list, errors: list,
            ready: threading.Barrier) -> None:
    """One simulated daemon: ``rounds`` passes over the frames, one request each, after all are connected."""
    from .. import open_engine

    try:
        with open_engine(url, "remote", "auto", max_batch=1) as engine:
            engine.infer(inputs[0][None])  # connect and warm up, untimed
            ready.wait(60)
            out.append([(time.perf_counter(), None, 0.0)])  # the start mark
            for _ in range(rounds):
                for frame in inputs:
                    start = time.perf_counter()
                    out[-1].append((time.perf_counter(), engine.infer(frame[None])[0],
                                    (time.perf_counter() - start) * 1000.0))
    except Exception as exc:  # reported in the row, the bench goes on
        errors.append(f"{type(exc).__name__}: {exc}")
        ready.abort()


def server_rows(url: str, inputs: list[np.ndarray], size: str, reference: Run | None,
                clients=CLIENTS, rounds: int = 2) -> list[dict]:
    """One row per number of concurrent clients: frames/s, request latency, counts against ``reference``."""
    rows = []
    for count in clients:
        results, errors, ready = [], [], threading.Barrier(count)
        threads = [threading.Thread(target=_client, args=(url, inputs, rounds, results, errors, ready))
                   for _ in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors or not results:
            rows.append({"clients": count, "size": size, "error": errors[0] if errors else "no answers"})
            continue
        started = min(client[0][0] for client in results)
        calls = [call for client in results for call in client[1:]]
        seconds = max(call[0] for call in calls) - started
        row = {"clients": count, "size": size, "frames": len(calls), "seconds": round(seconds, 2),
               "fps": round(len(calls) / seconds, 3),
               "request_ms_p50": round(float(np.median([call[2] for call in calls])), 1)}
        if reference is not None:
            served = Run("server", size, 1, maps=[call[1] for call in results[0][1:len(inputs) + 1]])
            row["total_count_diff_vs_reference_pct"] = compare(served, reference)["total_count_diff_pct"]
        rows.append(row)
    return rows
