"""Hand-made 2-D kernels, as named float64 numpy arrays of shape (F_h, F_w) (all 3x3 here).

They are written for *cross-correlation*, the sliding weighted sum that deep-learning libraries call
convolution: ``y[i, j] = sum_u sum_v x[i + u, j + v] * k[u, v]``. With that convention a kernel reads
like the pattern it responds to; for example ``VERTICAL_EDGE`` gives a positive answer where the image
gets brighter from left to right.

    from utils.kernels import KERNELS, SOBEL_X
    KERNELS["box blur 3x3"]   # every kernel by its display name

Chapter 02 introduces them; later chapters reuse them.
"""

from __future__ import annotations

import numpy as np

IDENTITY = np.array([[0.0, 0.0, 0.0],
                     [0.0, 1.0, 0.0],
                     [0.0, 0.0, 0.0]])
"""Copies the centre pixel: the output is the input, cropped by one pixel on every side."""

VERTICAL_EDGE = np.array([[-1.0, 0.0, 1.0],
                          [-1.0, 0.0, 1.0],
                          [-1.0, 0.0, 1.0]])
"""The mask [-1 0 1] stacked three times (Prewitt): right column minus left column. Responds to
vertical edges, positive where brightness rises from left to right."""

HORIZONTAL_EDGE = VERTICAL_EDGE.T.copy()
"""Bottom row minus top row: responds to horizontal edges, positive where brightness rises downwards."""

BOX_BLUR = np.full((3, 3), 1.0 / 9.0)
"""Every weight 1/9: the mean of the 3x3 neighbourhood, a blur. Its weights sum to 1, so flat regions keep
their brightness."""

SOBEL_X = np.array([[-1.0, 0.0, 1.0],
                    [-2.0, 0.0, 2.0],
                    [-1.0, 0.0, 1.0]])
"""Sobel's vertical-edge detector: like ``VERTICAL_EDGE`` but the centre row counts double, which smooths
along the edge and makes the response less sensitive to noise."""

SOBEL_Y = SOBEL_X.T.copy()
"""Sobel's horizontal-edge detector."""

LAPLACIAN = np.array([[0.0, 1.0, 0.0],
                      [1.0, -4.0, 1.0],
                      [0.0, 1.0, 0.0]])
"""The discrete Laplacian (sum of the four neighbours minus four times the centre): zero on flat regions and
on linear ramps, large on both sides of an edge and at corners and thin lines. Weights sum to 0."""

SHARPEN = IDENTITY + (IDENTITY - BOX_BLUR)
"""Identity plus the detail that blurring removes: sharpens. Weights sum to 1."""

KERNELS: dict[str, np.ndarray] = {
    "identity": IDENTITY,
    "vertical edge": VERTICAL_EDGE,
    "horizontal edge": HORIZONTAL_EDGE,
    "box blur 3x3": BOX_BLUR,
    "Sobel x": SOBEL_X,
    "Sobel y": SOBEL_Y,
    "Laplacian": LAPLACIAN,
    "sharpen": SHARPEN,
}
"""Every kernel above by display name, in a fixed order (handy for figure titles)."""

__all__ = ["IDENTITY", "VERTICAL_EDGE", "HORIZONTAL_EDGE", "BOX_BLUR", "SOBEL_X", "SOBEL_Y", "LAPLACIAN",
           "SHARPEN", "KERNELS"]
