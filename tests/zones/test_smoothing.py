"""Count smoothing over a time window."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.config import SmoothingConfig
from monitor.zones import WindowSmoother


def smoother(method="median", window=5.0) -> WindowSmoother:
    return WindowSmoother(SmoothingConfig(method=method, window_s=window))


@settings(max_examples=100, deadline=None)
@given(st.floats(0, 100), st.floats(0, 1e4), st.integers(0, 19))
def test_median_ignores_a_single_frame_spike(level, spike, where):
    s = smoother(window=5.0)
    out = [s.add(i * 0.5, spike if i == where else level) for i in range(20)]
    assert out[where + 2 if where + 2 < 20 else -1] == pytest.approx(level)  # neighbours are untouched
    assert all(v == pytest.approx(level) for i, v in enumerate(out) if i > 2)


def test_follows_a_step_within_half_a_window():
    s = smoother(window=5.0)
    out = [s.add(i * 0.5, 10.0 if i < 20 else 30.0) for i in range(40)]
    first_high = next(i for i, v in enumerate(out) if v >= 20.0)
    assert (first_high - 20) * 0.5 <= 2.5


def test_old_samples_leave_the_window():
    s = smoother(window=5.0)
    s.add(0.0, 100.0)
    assert s.add(5.0, 1.0) == 1.0 and len(s) == 1  # the window is (t - 5, t]


def test_mean_and_none():
    mean = smoother("mean")
    mean.add(0.0, 1.0)
    assert mean.add(1.0, 3.0) == 2.0
    none = smoother("none")
    none.add(0.0, 1.0)
    assert none.add(1.0, 3.0) == 3.0


def test_clock_going_back_restarts_the_window():
    s = smoother()
    s.add(10.0, 100.0)
    assert s.add(2.0, 1.0) == 1.0 and len(s) == 1
    assert smoother().value() is None
