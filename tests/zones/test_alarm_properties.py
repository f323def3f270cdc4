"""Property-based tests of the alert state machine against rules checked directly on the input."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.types import AlertEvent, EventType, Level
from monitor.zones import AlertMachine, AlertRule, LevelRule, Measurement

EPS = 1e-6
SEV = {Level.NORMAL: 0, Level.WARNING: 1, Level.CRITICAL: 2}
THRESHOLDS = {Level.WARNING: 50.0, Level.CRITICAL: 100.0}


@dataclass(frozen=True)
class Step:
    """One input: a sample ("full" or "partial" lower bound), no data ("none"), or a tick."""

    t: float
    kind: str
    value: float | None = None


rules = st.builds(
    lambda raise_after, clear_after, hysteresis, cooldown, interval: AlertRule(
        (LevelRule(Level.WARNING, "count", 50.0), LevelRule(Level.CRITICAL, "count", 100.0)),
        raise_after, clear_after, hysteresis, cooldown, interval),
    st.sampled_from([0.0, 2.0, 5.0]), st.sampled_from([0.0, 3.0, 10.0]), st.sampled_from([0.0, 0.2, 0.5]),
    st.sampled_from([0.0, 7.0, 30.0]), st.sampled_from([3.0, 1e9]))

values = st.one_of(st.floats(0.0, 200.0), st.sampled_from([0.0, 25.0, 39.99, 40.0, 49.99, 50.0, 60.0, 80.0,
                                                            99.99, 100.0, 150.0]))


@st.composite
def signals(draw: st.DrawFn) -> list[Step]:
    """Random samples, outages and ticks at increasing times."""
    raw = draw(st.lists(st.tuples(st.sampled_from([0.5, 1.0, 2.5]), st.sampled_from(
        ["full"] * 6 + ["none", "partial", "tick"]), values), min_size=1, max_size=120))
    t, steps = 0.0, []
    for dt, kind, value in raw:
        t += dt
        steps.append(Step(t, kind, None if kind in ("none", "tick") else value))
    return steps


def run(rule: AlertRule, steps: list[Step]) -> list[AlertEvent]:
    machine = AlertMachine("cam", "zone", rule)
    events: list[AlertEvent] = []
    for step in steps:
        if step.kind == "tick":
            events += machine.hold(step.t)
        else:
            m = None if step.kind == "none" else Measurement(step.value, None, complete=step.kind == "full")
            new = machine.update(step.t, m)
            assert not (step.kind == "none" and new), "no event may come from a no-data input"
            events += new
    return events


def run_start(steps: list[Step], t: float, holds) -> float | None:
    """Time of the first sample of the unbroken run of samples up to ``t`` satisfying ``holds``."""
    start = None
    for step in [s for s in steps if s.t <= t + EPS and s.kind != "tick"]:
        start = (step.t if start is None else start) if holds(step) else None
    return start


def above(level: Level):
    return lambda s: s.kind in ("full", "partial") and s.value >= THRESHOLDS[level]


def below_exit(level: Level, rule: AlertRule):
    return lambda s: s.kind == "full" and s.value < THRESHOLDS[level] * (1 - rule.hysteresis)


def held(steps, t, predicate, duration) -> bool:
    start = run_start(steps, t, predicate)
    return start is not None and t - start >= duration - EPS


def check(rule: AlertRule, steps: list[Step], events: list[AlertEvent]) -> None:
    """Every event is justified by the input, and episodes are well formed."""
    active: AlertEvent | None = None
    last_end: AlertEvent | None = None
    ids: set[str] = set()
    previous_t = float("-inf")
    for event in events:
        assert event.ts >= previous_t
        previous_t = event.ts
        if event.type == EventType.START:
            assert active is None and event.id not in ids
            assert held(steps, event.ts, above(event.level), rule.raise_after_s)
            if last_end is not None and SEV[event.level] <= SEV[last_end.level]:
                assert event.ts >= last_end.ts + rule.cooldown_s - EPS
            ids.add(event.id)
            active = event
        elif event.type == EventType.UPDATE:
            assert active is not None and event.id == active.id and event.started_at == active.started_at
            if SEV[event.level] > SEV[active.level]:
                assert held(steps, event.ts, above(event.level), rule.raise_after_s)
            elif SEV[event.level] < SEV[active.level]:
                assert held(steps, event.ts, below_exit(active.level, rule), rule.clear_after_s)
            else:
                assert event.ts - active.ts >= rule.update_interval_s - EPS
            active = event
        else:
            assert active is not None and event.id == active.id and event.level == active.level
            for level in (Level.WARNING, Level.CRITICAL):
                if SEV[level] <= SEV[active.level]:
                    assert held(steps, event.ts, below_exit(level, rule), rule.clear_after_s)
            assert event.ended_at == event.ts
            active, last_end = None, event


def quiet_tail(steps: list[Step], rule: AlertRule) -> list[Step]:
    """Fresh zero samples long enough to end any alert."""
    t = steps[-1].t
    return [Step(t + 1.0 + i, "full", 0.0) for i in range(int(rule.clear_after_s) + 3)]


@settings(max_examples=300, deadline=None)
@given(rules, signals())
def test_every_event_is_justified_and_every_start_has_one_end(rule, steps):
    steps = steps + quiet_tail(steps, rule)
    events = run(rule, steps)
    check(rule, steps, events)
    starts = [e.id for e in events if e.type == EventType.START]
    ends = [e.id for e in events if e.type == EventType.END]
    assert starts == ends  # each episode ends exactly once, in order


@settings(max_examples=200, deadline=None)
@given(rules, st.lists(st.tuples(st.sampled_from([0.5, 1.0, 2.5]), st.one_of(st.none(), st.floats(0.0, 1.0))),
                       max_size=150))
def test_no_flapping_for_noise_inside_the_hysteresis_band(rule, noise):
    """Once raised, values that never drop below the exit level (outages included) never end it."""
    exit_level = THRESHOLDS[Level.WARNING] * (1 - rule.hysteresis)
    steps = [Step(float(t), "full", 60.0) for t in range(int(rule.raise_after_s) + 1)]
    t = steps[-1].t
    for dt, fraction in noise:
        t += dt
        # Anywhere from just above the exit level up to far above the critical threshold.
        value = None if fraction is None else exit_level + 1e-6 + fraction * 150.0
        steps.append(Step(t, "none" if value is None else "full", value))
    events = run(rule, steps)
    check(rule, steps, events)
    assert [e.type for e in events].count(EventType.START) == 1
    assert EventType.END not in [e.type for e in events]


@settings(max_examples=200, deadline=None)
@given(rules, st.lists(st.tuples(st.sampled_from([0.5, 1.0, 2.5]), st.floats(0.0, 49.99)), max_size=150))
def test_nothing_starts_below_the_threshold(rule, samples):
    t, steps = 0.0, []
    for dt, value in samples:
        t += dt
        steps.append(Step(t, "full", value))
    assert run(rule, steps) == []


@settings(max_examples=200, deadline=None)
@given(rules, st.integers(0, 20), st.integers(1, 200))
def test_an_outage_never_clears_an_active_alert(rule, low_before, outage_samples):
    """Raise, fall quiet, lose the camera: the alert lasts the outage and then needs clear_after_s of data."""
    machine = AlertMachine("cam", "zone", rule)
    t = 0.0
    for t in range(int(rule.raise_after_s) + 1):
        machine.update(float(t), Measurement(150.0, None))
    assert machine.level == Level.CRITICAL
    ended = []
    for _ in range(low_before):  # quiet samples before the outage: may or may not already end it
        t += 1.0
        ended += [e for e in machine.update(t, Measurement(0.0, None)) if e.type == EventType.END]
    if ended:
        assert ended[-1].ts - (t - low_before + 1) >= rule.clear_after_s - EPS
        return
    level = machine.level
    for _ in range(outage_samples):
        t += 1.0
        assert machine.update(t, None) == [] and machine.level == level
    for _ in range(50):
        t += 0.5
        assert machine.hold(t) == [] and machine.level == level
    back = t + 1.0
    events = []
    while not any(e.type == EventType.END for e in events):
        t += 1.0
        events += machine.update(t, Measurement(0.0, None))
    assert events[-1].ts - back >= rule.clear_after_s - EPS
