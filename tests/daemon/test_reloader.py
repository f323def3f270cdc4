"""The reloader's logic: loads off the main loop, a deadline, every error an outcome (fake loaders)."""

from __future__ import annotations

import threading
import time

from monitor.config import ConfigError, Problem
from monitor.daemon.reloader import Loaded, Reloader


def outcome(reloader: Reloader, timeout: float = 10.0) -> Loaded:
    """Poll as the main loop does until the reload has an outcome."""
    deadline = time.monotonic() + timeout
    while (result := reloader.poll()) is None:
        assert time.monotonic() < deadline, "no outcome"
        time.sleep(0.01)
    return result


def test_a_load_past_its_deadline_fails_and_the_next_one_waits_for_it():
    release, calls = threading.Event(), []

    def load(path: str):
        calls.append(path)
        if len(calls) == 1:
            release.wait(30)  # stuck, as a loader without limits was on a hostile file
        return f"config {len(calls)}"

    reloader = Reloader("x.yaml", load=load, deadline_s=0.2)
    reloader.request()
    assert outcome(reloader) == Loaded(None, "x.yaml: reading and checking the file took more than 0.2 s")
    reloader.request()  # the stuck load still runs: this one waits, so only one file is read at a time
    time.sleep(0.3)
    assert reloader.poll() is None and len(calls) == 1 and reloader.busy
    assert reloader.status()["in_progress"] is False  # the abandoned load no longer counts as a reload
    release.set()
    assert outcome(reloader) == Loaded("config 2")  # the stuck load's late result is ignored
    assert not reloader.busy


def test_every_error_of_a_load_is_an_outcome_and_recorded():
    errors = [ConfigError([Problem("x.yaml", 3, ("mqtt", "port"), "input should be a valid integer")]),
              MemoryError(), RecursionError("maximum recursion depth exceeded")]

    def load(path: str):
        raise errors.pop(0)

    reloader = Reloader("x.yaml", load=load)
    expected = ["x.yaml:3: mqtt.port: input should be a valid integer",
                "x.yaml: cannot load the file: MemoryError: ",
                "x.yaml: cannot load the file: RecursionError: maximum recursion depth exceeded"]
    for message in expected:
        reloader.request()
        result = outcome(reloader)
        assert result == Loaded(None, message)
        reloader.finished(result.error)
    status = reloader.status()
    assert (status["ok"], status["failed"], status["last_error"]) == (0, 3, expected[-1])
    reloader.finished(None)  # a good reload clears the failure
    assert reloader.status()["last_error"] is None and reloader.status()["ok"] == 1
