"""/healthz warns about site zones missing members of other daemons (not about local stale cameras)."""

from __future__ import annotations

from monitor.health.problems import site_warnings
from monitor.types import Level, ZoneState


def _zone(camera, name, stale, level=Level.UNKNOWN):
    return ZoneState(camera, name, 0.0, 10.0, 10.0, None, None, level, stale=stale)


def test_only_site_zones_missing_other_daemons_are_warned_about():
    zones = [_zone("site", "campus", ("crowd-north/door", "street")),
             _zone("site", "local", ("street",)),  # a local stale camera: its own camera warning says it
             _zone("hall", "door", ("x/y",)),  # not a site zone
             _zone("site", "fresh", (), Level.NORMAL)]
    warnings = site_warnings(zones)
    assert len(warnings) == 1
    assert "site zone campus misses crowd-north/door" in warnings[0] and "street" not in warnings[0]
    assert warnings[0].endswith("its level is unknown")
