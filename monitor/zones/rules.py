"""Alert rules: a zone's thresholds resolved against the alerts section's defaults."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import AlertsConfig
from ..config.zone import AlertLevels
from ..types import Level

SEVERITY = {Level.NORMAL: 0, Level.WARNING: 1, Level.CRITICAL: 2}


@dataclass(frozen=True)
class LevelRule:
    """Entry threshold of one level in its metric; the exit level is ``threshold x (1 - hysteresis)``."""

    level: Level
    metric: str  # "count" or "density"
    threshold: float


@dataclass(frozen=True)
class AlertRule:
    """Everything an alert state machine needs to know about its zone's configuration."""

    levels: tuple[LevelRule, ...]  # ascending severity; empty: the zone never alerts
    raise_after_s: float
    clear_after_s: float
    hysteresis: float
    cooldown_s: float
    update_interval_s: float

    def rule_of(self, level: Level) -> LevelRule | None:
        """The configured rule of ``level``, or None."""
        return next((rule for rule in self.levels if rule.level == level), None)


def resolve_rule(levels: AlertLevels, defaults: AlertsConfig) -> AlertRule:
    """Per-zone overrides win over the alerts section's defaults."""
    rules = tuple(
        LevelRule(level, threshold.metric, float(threshold.value))
        for level, threshold in ((Level.WARNING, levels.warning), (Level.CRITICAL, levels.critical))
        if threshold is not None
    )

    def pick(name: str) -> float:
        value = getattr(levels, name)
        return float(getattr(defaults, name) if value is None else value)

    return AlertRule(
        levels=rules,
        raise_after_s=pick("raise_after_s"),
        clear_after_s=pick("clear_after_s"),
        hysteresis=pick("hysteresis"),
        cooldown_s=pick("cooldown_s"),
        update_interval_s=float(defaults.update_interval_s),
    )
