"""The alert state machine: examples of each rule."""

from __future__ import annotations

from monitor.types import EventType, Level
from monitor.zones import AlertMachine, AlertRule, LevelRule, Measurement


def rule(warning=50.0, critical=100.0, raise_after=5.0, clear_after=10.0, hysteresis=0.2, cooldown=0.0,
         update_interval=1e9) -> AlertRule:
    levels = []
    if warning is not None:
        levels.append(LevelRule(Level.WARNING, "count", warning))
    if critical is not None:
        levels.append(LevelRule(Level.CRITICAL, "count", critical))
    return AlertRule(tuple(levels), raise_after, clear_after, hysteresis, cooldown, update_interval)


def feed(machine: AlertMachine, values, start=0.0, step=1.0):
    """Feed one value per ``step`` seconds (None: no data); returns (t, event) pairs."""
    out = []
    for i, value in enumerate(values):
        t = start + i * step
        m = None if value is None else Measurement(value, None)
        out += [(t, e) for e in machine.update(t, m)]
    return out


def kinds(events):
    return [(t, e.type.value, e.level.value) for t, e in events]


def test_raises_only_after_the_level_held_raise_after_s():
    machine = AlertMachine("cam", "z", rule())
    events = feed(machine, [60, 60, 60, 40, 60, 60, 60, 60, 60, 60, 60])
    assert kinds(events) == [(9.0, "start", "warning")]  # the dip at t=3 restarted the run at t=4
    start = events[0][1]
    assert start.threshold == 50.0 and start.metric == "count" and start.count == 60 and start.started_at == 9.0


def test_clears_only_after_clear_after_s_below_the_exit_level():
    machine = AlertMachine("cam", "z", rule())
    feed(machine, [60] * 6)
    # 45 is below the threshold (50) but above the exit level (40): the alert holds.
    events = feed(machine, [45] * 30 + [39] * 11, start=6.0)
    assert kinds(events) == [(46.0, "end", "warning")]
    assert events[0][1].ended_at == 46.0 and events[0][1].started_at == 5.0


def test_escalates_and_de_escalates_within_one_episode():
    machine = AlertMachine("cam", "z", rule())
    events = feed(machine, [60] * 6 + [120] * 6 + [70] * 11 + [30] * 11)
    assert kinds(events) == [(5.0, "start", "warning"), (11.0, "update", "critical"),
                             (22.0, "update", "warning"), (33.0, "end", "warning")]
    assert len({e.id for _, e in events}) == 1
    assert [e.threshold for _, e in events] == [50.0, 100.0, 50.0, 50.0]


def test_straight_to_critical_when_it_held_long_enough():
    events = feed(AlertMachine("cam", "z", rule()), [150] * 6)
    assert kinds(events) == [(5.0, "start", "critical")]


def test_cooldown_delays_a_new_alert_of_the_same_level_but_not_a_worse_one():
    machine = AlertMachine("cam", "z", rule(cooldown=30.0))
    first = feed(machine, [60] * 6 + [0] * 11)  # ends at t=16
    assert kinds(first)[-1] == (16.0, "end", "warning")
    again = feed(machine, [60] * 40, start=17.0)
    assert kinds(again) == [(46.0, "start", "warning")]  # held since 17, but waits for 16 + 30
    machine = AlertMachine("cam", "z", rule(cooldown=30.0))
    feed(machine, [60] * 6 + [0] * 11)
    worse = feed(machine, [150] * 6, start=17.0)
    assert kinds(worse) == [(22.0, "start", "critical")]


def test_periodic_updates_while_an_alert_lasts():
    machine = AlertMachine("cam", "z", rule(update_interval=10.0))
    events = feed(machine, [60] * 30)
    assert kinds(events) == [(5.0, "start", "warning"), (15.0, "update", "warning"), (25.0, "update", "warning")]


def test_offline_freezes_the_alert_and_the_clear_timer_restarts_after():
    machine = AlertMachine("cam", "z", rule())
    feed(machine, [60] * 6)
    events = feed(machine, [0] * 5 + [None] * 100 + [0] * 10 + [0], start=6.0)
    # 5 s below before the outage do not count: 10 s of fresh data after it are needed.
    assert kinds(events) == [(121.0, "end", "warning")]
    assert machine.level == Level.NORMAL


def test_hold_completes_transitions_between_frames():
    machine = AlertMachine("cam", "z", rule())
    machine.update(0.0, Measurement(60, None))
    assert machine.hold(4.0) == []
    (start,) = machine.hold(5.0)
    assert start.type == EventType.START and start.started_at == 5.0
    late = machine.update(4.5, Measurement(60, None))  # a frame captured before the tick: time never goes back
    assert late == [] and machine.clock == 5.0


def test_partial_values_raise_but_never_clear():
    machine = AlertMachine("site", "hall", rule())
    feed(machine, [60] * 6)
    events = []
    for t in range(6, 40):
        events += machine.update(float(t), Measurement(0.0, None, complete=False))
    assert events == [] and machine.level == Level.WARNING
    fresh = AlertMachine("site", "hall", rule())
    raised = [e for t in range(7) for e in fresh.update(float(t), Measurement(70.0, None, complete=False))]
    assert [e.type for e in raised] == [EventType.START]


def test_density_thresholds_use_the_density():
    levels = (LevelRule(Level.WARNING, "density", 2.0),)
    machine = AlertMachine("cam", "z", AlertRule(levels, 0.0, 0.0, 0.1, 0.0, 1e9))
    assert machine.update(0.0, Measurement(500.0, 1.9)) == []
    (start,) = machine.update(1.0, Measurement(10.0, 2.5))
    assert start.metric == "density" and start.threshold == 2.0 and start.density == 2.5


def test_new_rule_keeps_the_episode_and_maps_a_removed_level():
    machine = AlertMachine("cam", "z", rule())
    (start,) = [e for _, e in feed(machine, [150] * 6)]
    (update,) = machine.set_rule(rule(critical=None), 6.0)
    assert update.type == EventType.UPDATE and update.level == Level.WARNING and update.id == start.id
    assert update.started_at == start.started_at
    assert machine.set_rule(rule(warning=None, critical=200.0), 7.0)[0].type == EventType.END
    # The end reports the threshold it was raised on, not the new one.
    machine = AlertMachine("cam", "z", rule())
    feed(machine, [60] * 6)
    (end,) = machine.set_rule(rule(warning=None), 6.0)
    assert end.type == EventType.END and end.threshold == 50.0


def test_changed_threshold_restarts_its_timers():
    machine = AlertMachine("cam", "z", rule())
    feed(machine, [60] * 4)
    machine.set_rule(rule(warning=55.0), 3.5)
    events = feed(machine, [60] * 6, start=4.0)
    # Held against 55 only since the reload at 3.5 (not since 0): confirmed at 8.5, seen at the 9.0 frame.
    assert kinds(events) == [(9.0, "start", "warning")]


def test_close_ends_an_alert_in_progress():
    machine = AlertMachine("cam", "z", rule())
    feed(machine, [60] * 6)
    (end,) = machine.close(7.0)
    assert end.type == EventType.END and end.ended_at == 7.0 and machine.close(8.0) == []
