"""A fully connected (dense, affine) layer, forward and backward, on flattened inputs.

    out[n, m] = sum_d x[n, d] * w[d, m] + b[m],  with x flattened to (N, D)

    dx = dout @ w.T (reshaped like x),   dw = x.T @ dout,   db = dout summed over the batch

Shapes: x (N, ...) with D = prod(...) entries per example (a (N, K, H, W) feature map is fine), w (D, M),
b (M,), out and dout (N, M).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["dense_forward", "dense_backward"]


def dense_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
    """x: (N, ...), w: (D, M), b: (M,) -> out: (N, M), cache for ``dense_backward``."""
    x = np.asarray(x)
    flat = x.reshape(x.shape[0], -1)
    if flat.shape[1] != w.shape[0]:
        raise ValueError(f"x has {flat.shape[1]} entries per example but w expects {w.shape[0]} (w {w.shape})")
    return flat @ w + b, {"x": x, "w": w}


def dense_backward(dout: np.ndarray, cache: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """dout: (N, M) -> dx: shaped like x, dw: (D, M), db: (M,)."""
    x, w = cache["x"], cache["w"]
    flat = x.reshape(x.shape[0], -1)
    return (dout @ w.T).reshape(x.shape), flat.T @ dout, dout.sum(axis=0)
