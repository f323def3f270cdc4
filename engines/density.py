"""Ground-truth density maps from annotated head points, as in the CSRNet tutorial.

Each head inside the image becomes a Gaussian of unit mass, so the map sums to the number of heads
inside the image.  Sigma is geometry-adaptive (0.3 x the mean distance to the 3 nearest neighbours,
KD-tree), fixed, or read from a perspective map.  Kernels that reach over the border are
renormalised over the pixels inside, never clipped away, and each pixel gets the Gaussian's exact
integral over its area (erf), so tiny sigmas and sub-pixel points keep their mass too.
``downsample`` sums blocks onto the model's 1/8 grid, which preserves the total.

Coordinates: (x, y) in pixels, pixel (row j, column i) covers [i, i+1) x [j, j+1).  A point
counts as inside when 0 <= x <= width and 0 <= y <= height (a click on the far edge is inside);
points outside, and NaN points, are dropped.
"""

from __future__ import annotations

import math

import numpy as np

ADAPTIVE_BETA = 0.3  # sigma = beta x mean distance to the k nearest neighbours (CSRNet, MCNN)
ADAPTIVE_NEIGHBOURS = 3
TRUNCATE = 4.0  # kernels are evaluated within +-4 sigma (scipy's gaussian_filter default)
MIN_SIGMA = 0.5  # pixels: duplicates and touching heads still spread over a pixel or so
DEFAULT_SIGMA = 15.0  # pixels: a lone head (no neighbour to measure), and the fixed-sigma default
STRIDE = 8


def inside_points(points: np.ndarray, height: int, width: int) -> np.ndarray:
    """The points (N x 2, x y) that lie inside a ``height`` x ``width`` image, as float64."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    keep = np.isfinite(points).all(axis=1)
    keep &= (points[:, 0] >= 0) & (points[:, 0] <= width) & (points[:, 1] >= 0) & (points[:, 1] <= height)
    return points[keep]


def adaptive_sigmas(points: np.ndarray, beta: float = ADAPTIVE_BETA, k: int = ADAPTIVE_NEIGHBOURS,
                    lone_sigma: float = DEFAULT_SIGMA, max_sigma: float | None = None) -> np.ndarray:
    """Per-point sigma: ``beta`` x mean distance to the ``k`` nearest other points (KD-tree).

    With fewer than ``k`` other points the available neighbours are used; a single point gets
    ``lone_sigma``.  Results are kept within [MIN_SIGMA, max_sigma].
    """
    from scipy.spatial import cKDTree

    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    n = len(points)
    if n == 0:
        return np.zeros(0)
    if n == 1:
        sigmas = np.array([lone_sigma], dtype=np.float64)
    else:
        neighbours = min(k, n - 1)
        distances, _ = cKDTree(points).query(points, k=neighbours + 1)
        sigmas = beta * distances[:, 1:].mean(axis=1)  # column 0 is the point itself
    return np.clip(sigmas, MIN_SIGMA, max_sigma if max_sigma else np.inf)


def perspective_sigmas(points: np.ndarray, perspective: np.ndarray, reference_sigma: float) -> np.ndarray:
    """Per-point sigma from a perspective-normalisation map such as Mall's ``pMapN``.

    ``pMapN`` weighs each pixel by (object height on the reference line / object height here)^2,
    so the pixel size of a head there is proportional to 1/sqrt(pMapN): sigma = reference_sigma /
    sqrt(pMapN at the point).  ``reference_sigma`` is the sigma where the map is 1.
    """
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    height, width = perspective.shape
    cols = np.clip(points[:, 0].astype(int), 0, width - 1)
    rows = np.clip(points[:, 1].astype(int), 0, height - 1)
    weights = np.maximum(np.asarray(perspective, dtype=np.float64)[rows, cols], 1e-6)
    return np.maximum(reference_sigma / np.sqrt(weights), MIN_SIGMA)


def fit_perspective_reference(points_per_image: list[np.ndarray], perspective: np.ndarray) -> float:
    """The reference sigma that makes perspective sigmas match adaptive ones in the median.

    Calibrates the one free constant of ``perspective_sigmas`` on the annotations themselves, so a
    venue's perspective map needs no hand-tuned head size.
    """
    ratios = []
    height, width = perspective.shape
    for points in points_per_image:
        points = inside_points(points, height, width)
        if len(points) < ADAPTIVE_NEIGHBOURS + 1:
            continue
        unit = perspective_sigmas(points, perspective, 1.0)
        ratios.append(adaptive_sigmas(points) / unit)
    if not ratios:
        return DEFAULT_SIGMA
    return float(np.median(np.concatenate(ratios)))


def _cell_mass(edges: np.ndarray, centre: float, sigma: float) -> np.ndarray:
    """Mass of a 1-D unit Gaussian falling in each interval between consecutive ``edges``."""
    from scipy.special import erf

    cdf = 0.5 * (1.0 + erf((edges - centre) / (sigma * math.sqrt(2.0))))
    return np.diff(cdf)


def _sigmas_for(points: np.ndarray, sigma, perspective: np.ndarray | None,
                reference_sigma: float | None) -> np.ndarray:
    """Per-point sigma for the chosen mode ("adaptive", a number, or a perspective map)."""
    if perspective is not None:
        return perspective_sigmas(points, perspective, reference_sigma or DEFAULT_SIGMA)
    if isinstance(sigma, str):
        if sigma != "adaptive":
            raise ValueError(f"sigma must be 'adaptive' or a number of pixels, not {sigma!r}")
        return adaptive_sigmas(points)
    return np.full(len(points), max(float(sigma), MIN_SIGMA))


def density_map(points: np.ndarray, height: int, width: int, sigma: float | str = "adaptive", *,
                perspective: np.ndarray | None = None, reference_sigma: float | None = None,
                cell: int = 1) -> np.ndarray:
    """Density map (float32) of the points inside the image; it sums to their number.

    ``sigma``: "adaptive" (geometry-adaptive kernels), or a fixed sigma in pixels.  With a
    ``perspective`` map (same size as the image) sigma follows it instead (see
    ``perspective_sigmas``).  ``cell`` > 1 integrates straight onto a coarser grid of
    ceil(height/cell) x ceil(width/cell) cells (the model's grid with cell=8), which is the same
    as ``downsample(density_map(...), cell)`` but faster.
    """
    points = inside_points(points, height, width)
    rows, cols = -(-height // cell), -(-width // cell)
    out = np.zeros((rows, cols), dtype=np.float64)
    if len(points) == 0:
        return out.astype(np.float32)
    sigmas = _sigmas_for(points, sigma, perspective, reference_sigma)
    # Kernels are renormalised over the image, not over the (possibly larger) padded grid.
    for (x, y), s in zip(points, sigmas):
        x0, wx = _axis_kernel(x, s, width, cell)
        y0, wy = _axis_kernel(y, s, height, cell)
        out[y0:y0 + len(wy), x0:x0 + len(wx)] += np.outer(wy, wx)
    return out.astype(np.float32)


def _axis_kernel(centre: float, sigma: float, extent: int, cell: int) -> tuple[int, np.ndarray]:
    """(first cell, weights) of one axis' kernel on a grid of ``cell``-pixel cells over an image
    ``extent`` pixels long, renormalised to sum 1 over the part inside the image (the last cell
    may reach past the edge: only its inside part receives mass)."""
    centre = min(centre, extent - 1e-9)  # a point on the far edge belongs to the last pixel
    reach = TRUNCATE * sigma + 1.0
    lo, hi = max(0.0, centre - reach), min(float(extent), centre + reach)
    first, last = int(lo // cell), int(-(-hi // cell))
    last = max(last, first + 1)
    edges = np.clip(np.arange(first, last + 1, dtype=np.float64) * cell, 0.0, float(extent))
    weights = _cell_mass(edges, centre, sigma)
    total = weights.sum()
    if not total > 1e-12:
        weights = np.zeros(last - first)
        weights[int(np.clip(centre // cell - first, 0, last - first - 1))] = 1.0
        return first, weights
    return first, weights / total


def downsample(density: np.ndarray, factor: int = STRIDE) -> np.ndarray:
    """Sum ``factor`` x ``factor`` blocks (zero-padding the edges): the total is preserved."""
    density = np.asarray(density, dtype=np.float64)
    height, width = density.shape
    rows, cols = -(-height // factor), -(-width // factor)
    padded = np.zeros((rows * factor, cols * factor))
    padded[:height, :width] = density
    return padded.reshape(rows, factor, cols, factor).sum(axis=(1, 3)).astype(np.float32)


def scale_points(points: np.ndarray, from_size: tuple[int, int], to_size: tuple[int, int]) -> np.ndarray:
    """Head points moved from an image of (width, height) ``from_size`` to one resized to ``to_size``."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    sx, sy = to_size[0] / from_size[0], to_size[1] / from_size[1]
    return points * np.array([sx, sy])


def model_target(points: np.ndarray, image_size: tuple[int, int], input_size: tuple[int, int],
                 sigma: float | str = "adaptive", *, perspective: np.ndarray | None = None,
                 reference_sigma: float | None = None) -> np.ndarray:
    """Training target on the model's output grid for an image of (width, height) ``image_size``
    fed to the model at ``input_size`` (multiples of 8): (input_h/8) x (input_w/8), summing to the
    number of points inside the image."""
    (width, height), (in_w, in_h) = image_size, input_size
    inside = inside_points(points, height, width)
    moved = scale_points(inside, image_size, input_size)
    moved = np.minimum(moved, [in_w, in_h])  # float rounding must not push a border point out
    if perspective is not None and perspective.shape != (in_h, in_w):
        import cv2

        # The head size in pixels scales with the image; pMapN is 1/size^2, hence the factor.
        factor = (width / in_w) * (height / in_h)
        perspective = cv2.resize(perspective.astype(np.float32), (in_w, in_h)) * factor
    if isinstance(sigma, (int, float)):
        sigma = float(sigma) * math.sqrt((in_w / width) * (in_h / height))
    return density_map(moved, in_h, in_w, sigma, perspective=perspective,
                       reference_sigma=reference_sigma, cell=STRIDE)
