"""Per-camera weight maps at density-map resolution: what is counted, and each zone's share.

Built once per (camera, map shape, frame extent) and cached: a zone's count is
``sum(density * weights)`` where ``weights = zone coverage x counted`` and
``counted = ROI coverage x (1 - ignore coverage)``.  Polygons are in coordinates relative to the
frame; the map covers the frame from its top-left corner but may stop short of its right and
bottom edges by less than a cell (``engines.preprocess.map_extent``), so polygons are stretched
onto the map by the frame's extent in cells over the map's size before they are rasterised.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from engines.counting import people

from ..config import CameraConfig
from ..geometry import (CalibrationError, cell_floor_areas, floor_area, homography, polygon_coverage,
                        union_coverage)

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class ZoneMask:
    """One zone's weights on the map and the floor area its count is divided by."""

    name: str
    weights: np.ndarray  # H x W in [0, 1]: zone coverage x counted
    area_m2: float | None  # given area_m2, else the calibrated floor area of the counted part


@dataclass(frozen=True, eq=False)
class CameraMasks:
    """Everything needed to turn one camera's density map into counts."""

    shape: tuple[int, int]
    counted: np.ndarray  # H x W in [0, 1]: ROI minus ignore polygons
    zones: dict[str, ZoneMask]
    cell_area_m2: np.ndarray | None  # floor area of each cell (NaN above the horizon), with calibration

    def frame_count(self, density: np.ndarray) -> float:
        """Head count of the counted part of the frame (never below 0: ``engines.counting.people``)."""
        return people(np.sum(density * self.counted, dtype=np.float64))

    def zone_counts(self, density: np.ndarray) -> dict[str, float]:
        """Head count of every zone (never below 0)."""
        return {name: people(np.sum(density * zone.weights, dtype=np.float64)) for name, zone in self.zones.items()}


Stretch = tuple[float, float]  # frame-relative -> map-relative coordinates, per axis


def stretch_of(shape: tuple[int, int], extent: tuple[float, float] | None) -> Stretch:
    """How far the frame reaches past the map, per axis: its extent in cells (width, height) over
    the map's (1.0 each when the map covers the frame exactly, or the extent is unknown)."""
    if extent is None:
        return 1.0, 1.0
    return float(extent[0]) / shape[1], float(extent[1]) / shape[0]


def _on_map(points, stretch: Stretch) -> list[list[float]]:
    """Frame-relative points in map-relative coordinates."""
    return [[float(x) * stretch[0], float(y) * stretch[1]] for x, y in points]


def counted_weights(camera: CameraConfig, shape: tuple[int, int], stretch: Stretch = (1.0, 1.0)) -> np.ndarray:
    """ROI coverage (everything without an ROI) times the part not under an ignore polygon."""
    if camera.roi is None:
        roi = np.ones(shape, dtype=np.float64)
    else:
        roi = polygon_coverage(_on_map(camera.roi, stretch), shape)
    if camera.ignore:
        roi = roi * (1.0 - union_coverage([_on_map(p, stretch) for p in camera.ignore], shape))
    return roi


def _calibrated_area(matrix: np.ndarray, cells: np.ndarray, polygon: list[list[float]],
                     coverage: np.ndarray, counted: np.ndarray) -> float | None:
    """Exact floor area of the polygon, scaled by the counted fraction of its floor."""
    total = floor_area(matrix, polygon)
    if not np.isfinite(total):
        return None
    cells = np.nan_to_num(cells, nan=0.0, posinf=0.0)
    whole = float(np.sum(coverage * cells))
    if whole <= 0.0:
        return total
    return total * float(np.sum(coverage * counted * cells)) / whole


def build_masks(name: str, camera: CameraConfig, shape: tuple[int, int],
                extent: tuple[float, float] | None = None) -> CameraMasks:
    """Rasterise a camera's ROI, ignore polygons and zones for one map shape; ``extent`` is the
    frame's (width, height) in map cells when it reaches past the map (None: the map covers it)."""
    shape = (int(shape[0]), int(shape[1]))
    stretch = stretch_of(shape, extent)
    counted = counted_weights(camera, shape, stretch)
    matrix = cells = None
    if camera.calibration is not None:
        try:
            matrix = homography(_on_map(camera.calibration.image_points, stretch), camera.calibration.world_points)
            cells = cell_floor_areas(matrix, shape)
        except CalibrationError as exc:  # check-config reports it; keep counting without areas
            log.warning("camera %s: calibration unusable (%s); densities need area_m2", name, exc)
    zones = {}
    for zone_name, zone in camera.zones.items():
        polygon = _on_map(zone.polygon, stretch)
        coverage = polygon_coverage(polygon, shape)
        area = zone.area_m2
        if area is None and matrix is not None and cells is not None:
            area = _calibrated_area(matrix, cells, polygon, coverage, counted)
        zones[zone_name] = ZoneMask(zone_name, coverage * counted, area)
    return CameraMasks(shape, counted, zones, cells)


class MaskCache:
    """Masks per (camera, map shape, frame extent), rebuilt only when the camera's config changes."""

    def __init__(self) -> None:
        self._entries: dict[tuple, tuple[CameraConfig, CameraMasks]] = {}

    def get(self, name: str, camera: CameraConfig, shape: tuple[int, int],
            extent: tuple[float, float] | None = None) -> CameraMasks:
        """Cached masks for this camera config, map shape and frame extent (see ``build_masks``)."""
        key = (name, (int(shape[0]), int(shape[1])), extent)
        entry = self._entries.get(key)
        if entry is None or entry[0] != camera:
            entry = (camera, build_masks(name, camera, key[1], extent))
            self._entries[key] = entry
        return entry[1]

    def forget_except(self, names: set[str]) -> None:
        """Drop the masks of cameras no longer configured."""
        self._entries = {k: v for k, v in self._entries.items() if k[0] in names}

    def __len__(self) -> int:
        return len(self._entries)


def nominal_area(camera: CameraConfig, zone_name: str) -> float | None:
    """A zone's floor area before any frame: given, or its whole polygon through the calibration."""
    zone = camera.zones[zone_name]
    if zone.area_m2 is not None or camera.calibration is None:
        return zone.area_m2
    try:
        matrix = homography(camera.calibration.image_points, camera.calibration.world_points)
    except CalibrationError:
        return None
    area = floor_area(matrix, zone.polygon)
    return area if np.isfinite(area) else None
