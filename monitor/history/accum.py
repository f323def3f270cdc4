"""In-memory accumulation between two commits: zone statistics, alert episodes, camera states.

Pure bookkeeping with explicit timestamps (the records' own ``ts``), so a unit test can feed it a
day in a millisecond.  The writer takes what changed at each commit and merges it into the file.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..types import AlertEvent, CameraStatus, EventType, Level, ZoneState

_RANK = {Level.NORMAL.value: 0, Level.UNKNOWN.value: 0, Level.WARNING.value: 1, Level.CRITICAL.value: 2}


@dataclass
class Stat:
    """Min, sum and max of the counts (and densities) seen in one bucket since the last commit."""

    n: int = 0
    count_min: float | None = None
    count_sum: float = 0.0
    count_max: float | None = None
    dn: int = 0
    density_min: float | None = None
    density_sum: float = 0.0
    density_max: float | None = None

    def add(self, count: float, density: float | None) -> None:
        """One zone state's count and density."""
        self.n += 1
        self.count_sum += count
        self.count_min = count if self.count_min is None else min(self.count_min, count)
        self.count_max = count if self.count_max is None else max(self.count_max, count)
        if density is not None:
            self.dn += 1
            self.density_sum += density
            self.density_min = density if self.density_min is None else min(self.density_min, density)
            self.density_max = density if self.density_max is None else max(self.density_max, density)

    def row(self) -> tuple:
        """The values in the column order of ``zone_minutes`` after (camera, zone, t)."""
        return (self.n, self.count_min, self.count_sum, self.count_max,
                self.dn, self.density_min, self.density_sum if self.dn else None, self.density_max)


class Buckets:
    """Per (camera, zone, bucket start) statistics of the zone states seen since the last ``take``."""

    def __init__(self, size_s: int):
        self.size_s = int(size_s)
        self._stats: dict[tuple[str, str, int], Stat] = {}

    def add(self, state: ZoneState) -> None:
        """Count a zone state in its bucket; unknown counts (camera offline) are not samples."""
        count = _float(state.count)
        if count is None:
            return
        start = int(state.ts // self.size_s) * self.size_s
        self._stats.setdefault((state.camera, state.zone, start), Stat()).add(count, _float(state.density))

    def take(self) -> list[tuple]:
        """Rows (camera, zone, t, n, ...) of everything added since the last call, and forget them."""
        rows = [(*key, *stat.row()) for key, stat in sorted(self._stats.items())]
        self._stats.clear()
        return rows


@dataclass
class AlertRow:
    """One alert episode as stored: its highest level, its peak and when it started and ended."""

    id: str
    camera: str
    zone: str
    level: str
    metric: str
    threshold: float | None
    started_at: float
    ended_at: float | None = None
    peak_count: float | None = None
    peak_density: float | None = None
    last_seen: float | None = None

    def see(self, count: float | None, density: float | None, ts: float) -> None:
        """A value measured while the alert lasted: raises the peaks."""
        if count is not None:
            self.peak_count = count if self.peak_count is None else max(self.peak_count, count)
        if density is not None:
            self.peak_density = density if self.peak_density is None else max(self.peak_density, density)
        self.last_seen = ts if self.last_seen is None else max(self.last_seen, ts)

    def row(self) -> tuple:
        """The values in the column order of ``alerts`` (closed_by is NULL)."""
        return (self.id, self.camera, self.zone, self.level, self.metric, self.threshold, self.started_at,
                self.ended_at, self.peak_count, self.peak_density, self.last_seen, None)


class Alerts:
    """Open alert episodes, updated from events and from the zone states that carry their id."""

    def __init__(self) -> None:
        self._open: dict[str, AlertRow] = {}
        self._dirty: set[str] = set()

    def event(self, event: AlertEvent) -> None:
        """A start, level change or end."""
        row = self._open.get(event.id)
        if row is None:
            row = self._open[event.id] = AlertRow(event.id, event.camera, event.zone, event.level.value,
                                                  event.metric, event.threshold, event.started_at)
        if _RANK.get(event.level.value, 0) > _RANK.get(row.level, 0):
            row.level, row.metric, row.threshold = event.level.value, event.metric, event.threshold
        row.see(_float(event.count), _float(event.density), event.ts or event.started_at)
        if event.type is EventType.END:
            row.ended_at = event.ended_at if event.ended_at is not None else event.ts
        self._dirty.add(event.id)

    def state(self, state: ZoneState) -> None:
        """A zone state measured during an alert of ours raises its peak."""
        row = self._open.get(state.alert_id) if state.alert_id else None
        if row is not None and row.ended_at is None and state.count is not None:
            row.see(float(state.count), _float(state.density), state.ts)
            self._dirty.add(row.id)

    def take(self) -> list[tuple]:
        """Rows of the alerts changed since the last call; ended ones are then forgotten."""
        rows = [self._open[i].row() for i in sorted(self._dirty)]
        for alert_id in self._dirty:
            if self._open[alert_id].ended_at is not None:
                del self._open[alert_id]
        self._dirty.clear()
        return rows


class CameraStates:
    """Camera state changes (repeated reports of the same state are not changes)."""

    def __init__(self) -> None:
        self._last: dict[str, str] = {}
        self._rows: list[tuple] = []

    def add(self, status: CameraStatus) -> None:
        """A status report from a reader."""
        if self._last.get(status.camera) == status.state.value:
            return
        self._last[status.camera] = status.state.value
        self._rows.append((status.camera, float(status.since), status.state.value, status.reason or None))

    def take(self) -> list[tuple]:
        """Rows (camera, ts, state, reason) since the last call."""
        rows, self._rows = self._rows, []
        return rows


def _float(value: float | None) -> float | None:
    """``value`` as a float, None when missing or not finite (NaN is never a sample)."""
    if value is None:
        return None
    value = float(value)
    return value if value == value and abs(value) != float("inf") else None
