"""LatestFrameSlot: bounded, drops the oldest, counts drops, wakes its listener."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from monitor.pipeline import LatestFrameSlot
from monitor.types import Frame


def frame(seq: int, camera: str = "cam") -> Frame:
    return Frame(camera, seq, time.time(), np.zeros((8, 8, 3), np.uint8), time.monotonic())


def test_put_drops_the_oldest_and_counts():
    slot = LatestFrameSlot(capacity=2)
    for seq in range(1, 6):
        slot.put(frame(seq))
    assert slot.drops == 3 and len(slot) == 2
    assert [slot.take().seq, slot.take().seq] == [4, 5]
    assert slot.take() is None


def test_capacity_one_keeps_only_the_newest():
    slot = LatestFrameSlot()
    slot.put(frame(1))
    slot.put(frame(2))
    assert slot.take().seq == 2 and slot.drops == 1


def test_take_wait_returns_a_frame_put_by_another_thread():
    slot = LatestFrameSlot()
    threading.Timer(0.05, slot.put, args=(frame(7),)).start()
    got = slot.take_wait(timeout=5.0)
    assert got is not None and got.seq == 7
    assert slot.take_wait(timeout=0.01) is None


def test_wait_for_room_and_listener():
    slot = LatestFrameSlot()
    calls = []
    slot.set_listener(lambda: calls.append(1))
    slot.put(frame(1))
    assert calls == [1]
    assert not slot.wait_for_room(timeout=0.01)
    threading.Timer(0.05, slot.take).start()
    assert slot.wait_for_room(timeout=5.0)


def test_capacity_must_be_positive():
    with pytest.raises(ValueError):
        LatestFrameSlot(0)
