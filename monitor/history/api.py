"""The read-only JSON API under ``/api/`` on the health server: history, alerts, exports, heatmaps.

Every endpoint is a GET; bad query parameters get a 400 with ``{"error": "..."}``.  Each request
opens its own read-only connection, so a slow export never holds up the writer.
"""

from __future__ import annotations

import csv
import io
import math
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import parse_qs

from ..config import MonitorConfig
from ..health.messages import Response, error_response, json_response
from . import query
from .maps import render_png
from .store import DAY_S, HistoryUnavailable, connect_reader

AUTO_MINUTES_UP_TO_S = 2 * DAY_S  # longer ranges are charted from the hourly rollups
MAX_RANGE_S = 3660 * DAY_S
MAX_MINUTE_POINTS = 50_000  # a chart of one zone: beyond this, ask for resolution=hour
CSV_CHUNK_ROWS = 2000
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": DAY_S}


class BadRequest(ValueError):
    """A query parameter is missing or wrong: the message goes back to the client with a 400."""


def parse_time(value: str, name: str) -> float:
    """Epoch seconds, or ISO 8601 (``2024-05-01T12:00:00Z``; no zone: UTC)."""
    try:
        return float(value) if re.fullmatch(r"-?\d+(\.\d+)?", value) else _iso(value)
    except ValueError:
        raise BadRequest(f"{name}: not a time (epoch seconds or ISO 8601): {value[:40]!r}") from None


def _iso(value: str) -> float:
    when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp()


def parse_duration(value: str) -> float:
    """``90m``, ``1h``, ``24h``, ``7d``, ``3600s``."""
    match = _DURATION.match(value)
    if not match or float(match.group(1)) <= 0:
        raise BadRequest(f"range: not a duration like 1h, 24h, 7d or 90m: {value[:40]!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


class Params:
    """The query string of one request, with typed, validated getters."""

    KNOWN = {"camera", "zone", "metric", "from", "to", "range", "resolution", "format", "limit", "scale", "max"}

    def __init__(self, query_string: str):
        try:
            raw = parse_qs(query_string, keep_blank_values=True, strict_parsing=False, max_num_fields=20)
        except ValueError as exc:
            raise BadRequest(f"bad query string: {exc}") from None
        unknown = sorted(set(raw) - self.KNOWN)
        if unknown:
            raise BadRequest(f"unknown parameter {unknown[0][:40]!r} (known: {', '.join(sorted(self.KNOWN))})")
        self._raw = {k: v[-1] for k, v in raw.items()}

    def text(self, name: str, required: bool = False) -> str | None:
        """A name (camera, zone): at most 200 characters."""
        value = self._raw.get(name)
        if not value:
            if required:
                raise BadRequest(f"{name}: required")
            return None
        if len(value) > 200:
            raise BadRequest(f"{name}: longer than 200 characters")
        return value

    def choice(self, name: str, options: tuple[str, ...], default: str) -> str:
        """One of ``options``."""
        value = self._raw.get(name) or default
        if value not in options:
            raise BadRequest(f"{name}: one of {', '.join(options)}, not {value[:40]!r}")
        return value

    def number(self, name: str, default: float, low: float, high: float) -> float:
        """A finite number within [low, high]."""
        value = self._raw.get(name)
        if not value:
            return default
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not (math.isfinite(number) and low <= number <= high):
            raise BadRequest(f"{name}: a number from {low:g} to {high:g}, not {value[:40]!r}")
        return number

    def span(self, default_range: str = "24h") -> tuple[float, float]:
        """[from, to): ``from``/``to`` (to defaults to now), or ``range`` back from ``to``."""
        end = parse_time(self._raw["to"], "to") if self._raw.get("to") else time.time()
        if self._raw.get("from"):
            if self._raw.get("range"):
                raise BadRequest("give either from or range, not both")
            start = parse_time(self._raw["from"], "from")
        else:
            start = end - parse_duration(self._raw.get("range") or default_range)
        if not start < end:
            raise BadRequest("from must be before to")
        if end - start > MAX_RANGE_S:
            raise BadRequest(f"range longer than {MAX_RANGE_S // DAY_S} days")
        return start, end

    def resolution(self, start: float, end: float) -> str:
        """``minute`` or ``hour``; ``auto``: minutes up to two days, hours beyond."""
        chosen = self.choice("resolution", ("auto", "minute", "hour"), "auto")
        if chosen == "auto":
            return "minute" if end - start <= AUTO_MINUTES_UP_TO_S else "hour"
        return chosen


class HistoryApi:
    """Routes ``/api/...`` requests to the history queries."""

    def __init__(self, path: Path, config: Callable[[], MonitorConfig], status: Callable[[], dict],
                 bucket_s: int = 60):
        self.path = Path(path)
        self.bucket_s = bucket_s  # the recorder's (a reload does not change it)
        self._config = config
        self._status = status
        self._routes = {"/api/status": self.status, "/api/zones": self.zones, "/api/series": self.series,
                        "/api/alerts": self.alerts, "/api/camera_states": self.camera_states,
                        "/api/heatmap": self.heatmap, "/api/export.csv": self.export_csv}

    def handle(self, path: str, query_string: str) -> Response:
        """Answer one GET request (any error becomes a JSON error response)."""
        route = self._routes.get(path.rstrip("/") or path)
        if route is None:
            return error_response(404, f"no such endpoint; try one of {', '.join(sorted(self._routes))}")
        try:
            return route(Params(query_string))
        except BadRequest as exc:
            return error_response(400, str(exc))
        except HistoryUnavailable as exc:
            return error_response(503, str(exc))
        except sqlite3.Error as exc:
            return error_response(503, f"history database: {exc}")

    def status(self, params: Params) -> Response:
        """The recorder's state: file, size, queue, drops, last commit."""
        return json_response(self._status())

    def zones(self, params: Params) -> Response:
        """Every configured zone and site zone with its thresholds."""
        return json_response({"zones": zone_list(self._config())})

    def series(self, params: Params) -> Response:
        """One zone's count or density over a range, with its thresholds and alert periods."""
        camera, zone = params.text("camera", True), params.text("zone", True)
        metric = params.choice("metric", ("count", "density"), "count")
        start, end = params.span()
        resolution = params.resolution(start, end)
        bucket = self.bucket_s if resolution == "minute" else 3600
        if resolution == "minute" and (end - start) / bucket > MAX_MINUTE_POINTS:
            raise BadRequest(f"more than {MAX_MINUTE_POINTS} points: use resolution=hour or a shorter range")
        with closing(self._reader()) as conn:
            points = query.series(conn, camera, zone, metric, start, end, resolution)
            episodes = query.alerts(conn, start, end, camera, zone)
        return json_response({"camera": camera, "zone": zone, "metric": metric, "from": start, "to": end,
                      "resolution": resolution, "bucket_s": bucket, "points": points,
                      "thresholds": thresholds(self._config(), camera, zone), "alerts": episodes})

    def alerts(self, params: Params) -> Response:
        """Alert episodes in a range, optionally of one camera or zone."""
        start, end = params.span()
        limit = int(params.number("limit", 1000, 1, 100_000))
        with closing(self._reader()) as conn:
            found = query.alerts(conn, start, end, params.text("camera"), params.text("zone"), limit)
        return json_response({"from": start, "to": end, "alerts": found})

    def camera_states(self, params: Params) -> Response:
        """Camera state changes in a range (with the state at its start)."""
        start, end = params.span()
        with closing(self._reader()) as conn:
            found = query.camera_states(conn, params.text("camera"), start, end)
        return json_response({"from": start, "to": end, "states": found})

    def heatmap(self, params: Params) -> Response:
        """A camera's accumulated density over a range, as PNG or JSON (persons per grid cell)."""
        camera = params.text("camera", True)
        fmt = params.choice("format", ("png", "json"), "png")
        scale, peak = int(params.number("scale", 8, 1, 32)), params.number("max", 0.0, 0.0, 1e6)
        start, end = params.span()
        with closing(self._reader()) as conn:
            grid, frames, hours = query.heatmap(conn, camera, start, end)
        if grid is None:
            return error_response(404, f"no density maps of camera {camera!r} in that range")
        if fmt == "png":
            return Response(200, "image/png", render_png(grid, scale, peak or None))
        return json_response({"camera": camera, "from": start, "to": end, "frames": frames, "hours": hours,
                      "width": grid.shape[1], "height": grid.shape[0], "sum": float(grid.sum()),
                      "values": [[round(float(v), 5) for v in row] for row in grid]})

    def export_csv(self, params: Params) -> Response:
        """Zone statistics of a range as CSV (all zones, or one camera / zone), streamed."""
        camera, zone = params.text("camera"), params.text("zone")
        start, end = params.span()
        resolution = params.resolution(start, end)
        conn = self._reader()  # closed by the generator once the last chunk is sent (or the client left)
        name = f"crowd-history-{int(start)}-{int(end)}.csv"
        return Response(200, "text/csv; charset=utf-8",
                        _csv_chunks(conn, query.csv_rows(conn, start, end, resolution, camera, zone)), name)

    def _reader(self) -> sqlite3.Connection:
        return connect_reader(self.path)


def _csv_chunks(conn: sqlite3.Connection, rows: Iterator[tuple]) -> Iterator[bytes]:
    """The CSV text in chunks of CSV_CHUNK_ROWS rows, so an export of months never sits in memory."""
    try:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(query.CSV_HEADER)
        for index, row in enumerate(rows, start=1):
            writer.writerow(["" if v is None else round(v, 4) if isinstance(v, float) else v for v in row])
            if index % CSV_CHUNK_ROWS == 0:
                yield buffer.getvalue().encode()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue().encode()
    finally:
        conn.close()


def zone_list(config: MonitorConfig) -> list[dict]:
    """Configured zones (``camera`` is ``site`` for site zones) with area and thresholds."""
    found = [{"camera": cam, "zone": name, "area_m2": zone.area_m2, "thresholds": _levels(zone)}
             for cam, cam_cfg in config.cameras.items() for name, zone in cam_cfg.zones.items()]
    found += [{"camera": "site", "zone": name, "area_m2": site.area_m2, "thresholds": _levels(site)}
              for name, site in config.site_zones.items()]
    return found


def thresholds(config: MonitorConfig, camera: str, zone: str) -> dict | None:
    """The zone's current warning and critical thresholds; None for a zone no longer configured."""
    spec = config.site_zones.get(zone) if camera == "site" else (
        config.cameras[camera].zones.get(zone) if camera in config.cameras else None)
    return _levels(spec) if spec is not None else None


def _levels(spec) -> dict:
    return {level: None if getattr(spec, level) is None else {getattr(spec, level).metric: getattr(spec, level).value}
            for level in ("warning", "critical")}
