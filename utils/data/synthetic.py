"""Small synthetic images for the early chapters, where a result should be visible at a glance.

All return float64 numpy arrays of shape (H, W) with values in [0, 1] unless stated otherwise.
"""

from __future__ import annotations

import numpy as np


def square(size: int = 12, top: int = 3, left: int = 3, side: int = 5, height: int | None = None) -> np.ndarray:
    """A bright ``side`` x ``side`` square on a dark ``height`` x ``size`` background (height defaults to size)."""
    image = np.zeros((height or size, size))
    image[top:top + side, left:left + side] = 1.0
    return image


def vertical_stripes(height: int = 8, width: int = 10, period: int = 4) -> np.ndarray:
    """Vertical bars: columns alternate between bright and dark every ``period // 2`` pixels."""
    columns = (np.arange(width) % period) < period // 2
    return np.tile(columns.astype(np.float64), (height, 1))


def half_plane(height: int = 6, width: int = 8, edge_at: int = 4) -> np.ndarray:
    """Dark on the left, bright from column ``edge_at`` on: one vertical edge (the classic edge-detector input)."""
    image = np.zeros((height, width))
    image[:, edge_at:] = 1.0
    return image


def checkerboard(height: int = 8, width: int = 8, cell: int = 2) -> np.ndarray:
    """Alternating ``cell`` x ``cell`` squares."""
    rows = (np.arange(height) // cell)[:, None]
    cols = (np.arange(width) // cell)[None, :]
    return ((rows + cols) % 2).astype(np.float64)


def cross(size: int = 9, thickness: int = 1) -> np.ndarray:
    """A plus sign through the centre of a ``size`` x ``size`` image."""
    image = np.zeros((size, size))
    mid, half = size // 2, thickness // 2
    image[mid - half:mid - half + thickness, :] = 1.0
    image[:, mid - half:mid - half + thickness] = 1.0
    return image


def rgb_blobs(size: int = 32) -> np.ndarray:
    """A (3, size, size) colour image: a red disc, a green square and a blue bar, to show channels."""
    yy, xx = np.mgrid[0:size, 0:size]
    image = np.zeros((3, size, size))
    image[0][(yy - size * 0.3) ** 2 + (xx - size * 0.3) ** 2 < (size * 0.2) ** 2] = 1.0
    image[1, size // 2:size // 2 + size // 4, size // 2:size // 2 + size // 4] = 1.0
    image[2, int(size * 0.75):int(size * 0.85), size // 8:size - size // 8] = 1.0
    return image
