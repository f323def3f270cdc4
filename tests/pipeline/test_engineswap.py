"""Engine swaps between batches, and the threads that run engines leaving signals to the main thread."""

from __future__ import annotations

import signal
import threading

from engines.runtimes.common import in_own_thread, leave_signals_to_main_thread
from monitor.pipeline.engineswap import EngineSwap


class Named:
    def __init__(self, name):
        self.name, self.closed = name, False

    def close(self):
        self.closed = True


def test_the_adopted_callback_runs_only_when_the_worker_switches():
    swap, adopted = EngineSwap(), []
    float_engine, int8, other = Named("openvino-bf16"), Named("openvino-int8"), Named("openvino-fp32")
    swap.offer(other, lambda: adopted.append("other"))
    swap.offer(int8, lambda: adopted.append("int8"))  # replaces the first offer, which is closed unused
    assert other.closed and adopted == []  # nothing reported before the worker runs on it
    assert swap.adopt(float_engine) is int8 and float_engine.closed and adopted == ["int8"]
    assert swap.adopt(int8) is int8 and adopted == ["int8"]  # once
    late = Named("late")
    swap.offer(late, lambda: adopted.append("late"))
    swap.discard()  # the worker stopped: closed, never reported
    assert late.closed and adopted == ["int8"]


def test_engine_threads_block_the_daemons_signals_and_the_main_thread_keeps_them():
    masks = {}

    def record(name):
        masks[name] = signal.pthread_sigmask(signal.SIG_BLOCK, set())

    def worker():
        leave_signals_to_main_thread()
        child = threading.Thread(target=record, args=("child",))  # e.g. an engine's own pool thread
        child.start()
        child.join()
        record("worker")

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    in_own_thread(record, "engine-open")
    leave_signals_to_main_thread()  # a no-op in the main thread
    record("main")
    for name in ("worker", "child", "engine-open"):
        assert {signal.SIGTERM, signal.SIGHUP, signal.SIGINT} <= masks[name], name
    assert signal.SIGTERM not in masks["main"] and signal.SIGHUP not in masks["main"]
