"""Site zones: the sum over their members (this daemon's zones and other daemons'), and when it is unknown.

A member without fresh data (its camera offline or blind, its daemon not ``online``, its state
expired) is *missing*.  The site publishes the sum of the members it has (a lower bound, which may
start or escalate an alert but never end one) and lists the missing ones in ``stale``.  Its level
is ``unknown`` exactly when the missing part could take the sum across a threshold that the known
part is below:

    known < T <= known + M      for some threshold T of the site (density x area for density ones)

where M bounds the missing part: each missing member adds its last count x (1 + missing_margin)
while that count is at most ``missing_trust_s`` old, and anything (M infinite) when it is older or
the member was never seen.  Otherwise the level is the alert machine's, as with every member in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..config import SiteZoneConfig
from ..types import Level, ZoneState
from .alarm import AlertMachine, Measurement
from .rules import AlertRule


@dataclass(frozen=True)
class Member:
    """One member of a site zone now: its fresh value, or None with the last count it had."""

    source: str  # this daemon's camera, or "prefix/camera" of another daemon: what ``stale`` lists
    count: float | None  # smoothed count while fresh; None while missing
    raw: float | None
    area: float | None
    last: float | None = None  # the last count it had (kept while missing)
    last_ts: float | None = None  # ... and when
    ts: float | None = None  # time of the fresh value (to notice another daemon's new state)


def missing_bound(member: Member, now: float, spec: SiteZoneConfig) -> float:
    """How many people a missing member may hold now (infinite: anything)."""
    if member.last is None or member.last_ts is None or now - member.last_ts > spec.missing_trust_s:
        return math.inf
    return max(0.0, member.last) * (1.0 + spec.missing_margin)


@dataclass(frozen=True)
class SiteValue:
    """A site zone's sum over its members with data, which are missing, and how much they may hold."""

    count: float | None
    raw: float | None
    area: float | None
    stale: tuple[str, ...]
    missing_max: float = 0.0  # bound of the missing members' part; 0 when none is missing

    def measurement(self) -> Measurement | None:
        """Input of the site's alert machine: a lower bound while a member is missing."""
        if self.count is None:
            return None
        density = self.count / self.area if self.area else None
        return Measurement(self.count, density, complete=not self.stale)

    def undetermined(self, rule: AlertRule) -> bool:
        """True when the missing part could take the sum across a threshold the known part is below."""
        if not self.stale:
            return False
        known = self.count or 0.0
        for level in rule.levels:
            if level.metric == "density" and not self.area:
                return True  # no area to turn the density into people: nothing can be ruled out
            threshold = level.threshold * (self.area if level.metric == "density" else 1.0)  # type: ignore[operator]
            if known < threshold <= known + self.missing_max:
                return True
        return False


def site_value(members: list[Member], spec: SiteZoneConfig, now: float) -> SiteValue:
    """Sum the fresh members' smoothed counts; bound the missing ones'."""
    fresh = [m for m in members if m.count is not None]
    missing = [m for m in members if m.count is None]
    stale = tuple(dict.fromkeys(m.source for m in missing))
    area = spec.area_m2
    if area is None:
        areas = [m.area for m in members]
        area = sum(a for a in areas if a) if all(areas) else None  # type: ignore[misc]
    bound = sum(missing_bound(m, now, spec) for m in missing)
    if not fresh:
        return SiteValue(None, None, area, stale, bound)
    count = sum(m.count for m in fresh)  # type: ignore[misc]
    raw = sum(m.raw for m in fresh if m.raw is not None)
    return SiteValue(count, raw, area, stale, bound)


def site_state(name: str, machine: AlertMachine, value: SiteValue, ts: float) -> ZoneState:
    """A site zone as published: partial sums say which members are missing; unknown when that matters."""
    episode = machine.episode
    density = value.count / value.area if value.count is not None and value.area else None
    return ZoneState(
        camera="site", zone=name, ts=ts, count=value.count, raw_count=value.raw, density=density,
        area_m2=value.area, level=Level.UNKNOWN if value.undetermined(machine.rule) else machine.level,
        stale=value.stale, alert=machine.level, alert_id=episode.id if episode else None,
    )
