"""The alert state machine of one zone: timed raise, hysteresis clear, one id per episode.

Rules (times are the machine's clock: frame capture times, never going backwards):

- A level is *held* from the first sample at or above its threshold until a sample falls below
  it; an alert starts (``start``) or escalates (``update``) to the highest level held for
  ``raise_after_s``.  Between samples the last value holds (zero-order hold), so ``hold(t)``
  can complete a transition without a new frame.
- A level is *cleared* once samples stayed below its exit level ``threshold x (1 - hysteresis)``
  for ``clear_after_s``.  The alert de-escalates (``update``) to the highest level at or below
  its own that is not cleared, and ends (``end``, once) when every level is cleared.  Noise that
  never leaves the band between exit level and threshold therefore never ends or restarts it.
- After an end, a new alert at the same or a lower level waits ``cooldown_s`` (no floods from a
  crowd hovering at the threshold); a more severe level is never delayed by the cooldown.
- While an alert lasts, an ``update`` with the current count repeats every ``update_interval_s``.
- No data (camera offline or reconnecting) freezes the machine: nothing starts, nothing ends, and
  both kinds of runs restart with the first sample after the outage, so an alert is never cleared
  because a camera died.  A *partial* value (a site zone missing a camera: a lower bound) can
  start or escalate an alert but never clear one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..naming import topic_segment
from ..types import AlertEvent, EventType, Level
from .rules import SEVERITY, AlertRule, LevelRule

_EPS = 1e-9  # float tolerance on durations: a level held exactly raise_after_s counts as held


@dataclass(frozen=True)
class Measurement:
    """A zone's smoothed value at one time; ``complete`` is False when it is only a lower bound."""

    count: float | None
    density: float | None
    complete: bool = True

    def metric(self, name: str) -> float | None:
        """The value of ``count`` or ``density``."""
        return self.count if name == "count" else self.density


@dataclass(frozen=True)
class Episode:
    """The alert in progress."""

    id: str
    level: Level
    started_at: float
    last_event_at: float


def _run_start(since: float | None, t: float) -> float:
    """Start time of a run that includes ``t``: kept when already running."""
    return t if since is None else since


class AlertMachine:
    """Alert episodes of one zone (``camera`` is ``"site"`` for site zones)."""

    def __init__(self, camera: str, zone: str, rule: AlertRule) -> None:
        self.camera, self.zone, self.rule = camera, zone, rule
        self.episode: Episode | None = None
        self.clock = float("-inf")
        self._last: Measurement | None = None
        self._held_since: dict[Level, float | None] = {}
        self._below_since: dict[Level, float | None] = {}
        self._cooldown_until = float("-inf")
        self._cooldown_level = Level.NORMAL

    @property
    def level(self) -> Level:
        """Level of the alert in progress, NORMAL without one."""
        return self.episode.level if self.episode else Level.NORMAL

    def update(self, t: float, measurement: Measurement | None) -> list[AlertEvent]:
        """Feed the zone's value at time ``t`` (None: no data) and return the events it causes."""
        t = self._advance(t)
        self._last = measurement
        if measurement is None:
            self._held_since.clear()
            self._below_since.clear()
            return []
        for rule in self.rule.levels:
            self._track(rule, measurement, t)
        return self._evaluate(t)

    def hold(self, t: float) -> list[AlertEvent]:
        """Let time pass with the last value still valid (no new frame yet)."""
        t = self._advance(t)
        return self._evaluate(t) if self._last is not None else []

    def set_rule(self, rule: AlertRule, t: float) -> list[AlertEvent]:
        """Apply new thresholds; the alert in progress keeps its id and start time where it can."""
        t = self._advance(t)
        old = {r.level: r for r in self.rule.levels}
        if self.episode is not None and not any(
                SEVERITY[r.level] <= SEVERITY[self.episode.level] for r in rule.levels):
            events = [self._end(t)]  # ends against the old thresholds, the ones it was raised on
        else:
            events = []
        self.rule = rule
        for level_rule in rule.levels:
            if old.get(level_rule.level) != level_rule:  # history against another threshold is void
                self._held_since.pop(level_rule.level, None)
                self._below_since.pop(level_rule.level, None)
                if self._last is not None:
                    self._track(level_rule, self._last, t)
        if self.episode is None or rule.rule_of(self.episode.level) is not None:
            return events
        lower = [r for r in rule.levels if SEVERITY[r.level] < SEVERITY[self.episode.level]]
        return [self._change(lower[-1].level, t)]

    def close(self, t: float) -> list[AlertEvent]:
        """End the alert in progress because the zone no longer exists."""
        t = self._advance(t)
        return [self._end(t)] if self.episode else []

    def _advance(self, t: float) -> float:
        self.clock = max(self.clock, float(t))
        return self.clock

    def _track(self, rule: LevelRule, measurement: Measurement, t: float) -> None:
        """Extend or restart the held and below-exit runs of one level."""
        value = measurement.metric(rule.metric)
        above = value is not None and value >= rule.threshold
        below = (value is not None and measurement.complete
                 and value < rule.threshold * (1.0 - self.rule.hysteresis))
        self._held_since[rule.level] = _run_start(self._held_since.get(rule.level), t) if above else None
        self._below_since[rule.level] = _run_start(self._below_since.get(rule.level), t) if below else None

    def _confirmed_level(self, t: float) -> Level | None:
        """Most severe level held for raise_after_s."""
        held = [r.level for r in self.rule.levels
                if (since := self._held_since.get(r.level)) is not None
                and t - since >= self.rule.raise_after_s - _EPS]
        return held[-1] if held else None

    def _cleared(self, level: Level, t: float) -> bool:
        since = self._below_since.get(level)
        return since is not None and t - since >= self.rule.clear_after_s - _EPS

    def _evaluate(self, t: float) -> list[AlertEvent]:
        up = self._confirmed_level(t)
        episode = self.episode
        if episode is None:
            if up is None:
                return []
            if t < self._cooldown_until and SEVERITY[up] <= SEVERITY[self._cooldown_level]:
                return []
            return [self._start(up, t)]
        if up is not None and SEVERITY[up] > SEVERITY[episode.level]:
            return [self._change(up, t)]
        standing = [r.level for r in self.rule.levels
                    if SEVERITY[r.level] <= SEVERITY[episode.level] and not self._cleared(r.level, t)]
        if not standing:
            return [self._end(t)]
        if standing[-1] != episode.level:
            return [self._change(standing[-1], t)]
        if t - episode.last_event_at >= self.rule.update_interval_s - _EPS:
            return [self._change(episode.level, t)]
        return []

    def _start(self, level: Level, t: float) -> AlertEvent:
        stamp = int(round(t * 1000))
        ident = f"{topic_segment(self.camera)}.{topic_segment(self.zone)}.{stamp}"
        self.episode = Episode(ident, level, t, t)
        return self._event(EventType.START, level, t)

    def _change(self, level: Level, t: float) -> AlertEvent:
        assert self.episode is not None
        self.episode = replace(self.episode, level=level, last_event_at=t)
        return self._event(EventType.UPDATE, level, t)

    def _end(self, t: float) -> AlertEvent:
        assert self.episode is not None
        event = self._event(EventType.END, self.episode.level, t, ended_at=t)
        self._cooldown_until = t + self.rule.cooldown_s
        self._cooldown_level = self.episode.level
        self.episode = None
        return event

    def _event(self, kind: EventType, level: Level, t: float, ended_at: float | None = None) -> AlertEvent:
        assert self.episode is not None
        rule = self.rule.rule_of(level)
        last = self._last
        return AlertEvent(
            id=self.episode.id, type=kind, camera=self.camera, zone=self.zone, level=level,
            count=last.count if last else None, density=last.density if last else None,
            threshold=rule.threshold if rule else None, metric=rule.metric if rule else "count",
            started_at=self.episode.started_at, ended_at=ended_at, ts=t,
        )
