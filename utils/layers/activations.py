"""The ReLU nonlinearity, forward and backward (CS231n style: ``out, cache = relu_forward(x)``).

    out = max(0, x)            dx = dout * [x > 0]

At x == 0 ReLU has no derivative; like PyTorch, the workbook uses 0 there (the gradient flows only where the
input was strictly positive). Shapes: any; dout and dx are shaped like x.
"""

from __future__ import annotations

import numpy as np

__all__ = ["relu_forward", "relu_backward"]


def relu_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x: any shape -> out: same shape; the cache is x itself."""
    x = np.asarray(x)
    return np.maximum(x, 0), x


def relu_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """dout: shaped like x; cache: x (from ``relu_forward``) -> dx: shaped like x."""
    return np.where(np.asarray(cache) > 0, dout, 0.0)
