"""Numerical gradients and relative error: the tools that prove a backward pass right.

A backward pass is checked by comparing it with centred finite differences,
``(f(x + h) - f(x - h)) / 2h`` for every entry of ``x``, in float64.
"""

from __future__ import annotations

from typing import Callable

import numpy as np


def rel_error(a, b, eps: float = 1e-12) -> float:
    """Largest relative error between two arrays of the same shape: max |a - b| / max(|a| + |b|, eps).

    Below about 1e-7 two float64 gradients agree; around 1e-2 something is wrong.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error needs arrays of one shape, got {a.shape} and {b.shape}")
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), eps), initial=0.0))


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Gradient of a scalar function ``f`` at ``x`` by centred differences.

    x: array of any shape (float64; it is perturbed in place and restored).
    Returns an array shaped like ``x``.
    """
    x = _as_float64(x)
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + h
        f_plus = float(f(x))
        x[idx] = old - h
        f_minus = float(f(x))
        x[idx] = old
        grad[idx] = (f_plus - f_minus) / (2 * h)
    return grad


def numerical_gradient_array(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, dout: np.ndarray,
                             h: float = 1e-6) -> np.ndarray:
    """Gradient of ``sum(f(x) * dout)`` at ``x``: what a layer's backward pass must return for upstream ``dout``.

    x: array of any shape (float64); dout: shaped like ``f(x)``. Returns an array shaped like ``x``.
    """
    dout = np.asarray(dout, dtype=np.float64)
    return numerical_gradient(lambda z: np.sum(np.asarray(f(z), dtype=np.float64) * dout), x, h)


def _as_float64(x) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype != np.float64:
        raise TypeError(f"numerical gradients need float64 input (float32 loses the digits), got {x.dtype}")
    return x
