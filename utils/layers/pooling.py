"""Pooling layers in NumPy: max and average pooling, forward and backward passes (chapter 06 derives the latter).

Each output summarises one window of its own channel; nothing mixes channels and nothing is learned::

    max: out[n, c, i, j] = max_{p < F_h, q < F_w} xp[n, c, i*S_h + p, j*S_w + q]      (xp padded with -inf)
    avg: out[n, c, i, j] = sum_{p, q} xp[n, c, i*S_h + p, j*S_w + q] / divisor[i, j]   (xp padded with 0)

where ``divisor`` is F_h*F_w with ``count_include_pad=True`` (PyTorch's default) and the number of real
(unpadded) pixels in the window otherwise. Shapes, everywhere below:

- x: (N, C, H, W) input batch
- out: (N, C, H', W') with H' = (H + 2*P_h - F_h) // S_h + 1 (likewise W')

``kernel_size``, ``stride`` and ``padding`` are ints or (height, width) pairs, as in ``torch.nn.functional``;
``stride=None`` means ``stride = kernel_size``, and padding may be at most half the window (PyTorch's rule,
which guarantees that every window holds at least one real pixel). Integer inputs give float outputs.

The naive versions loop over output positions (the definition); the fast ones take every window at once
with ``numpy.lib.stride_tricks.sliding_window_view``. All return ``(out, cache)`` in CS231n style, and the
cache holds what a backward pass needs: the input and the geometry, plus the position of each window's
maximum (max pooling) or each window's divisor (average pooling).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .convolution import Cache, _pair  # one reading of int-or-pair arguments for every layer

__all__ = ["max_pool_forward_naive", "max_pool_forward_fast", "avg_pool_forward_naive", "avg_pool_forward_fast",
           "pool_geometry", "max_pool_backward_naive", "max_pool_backward_fast", "avg_pool_backward_naive",
           "avg_pool_backward_fast"]


def pool_geometry(shape, kernel_size, stride=None, padding=0):
    """Window (F_h, F_w), stride (S_h, S_w), padding (P_h, P_w) as pairs, and the output size (H', W').

    shape: (N, C, H, W). Raises ValueError when the padding exceeds half the window or the window does not fit.
    """
    if len(shape) != 4:
        raise ValueError(f"x must have shape (N, C, H, W), got {tuple(shape)}")
    Fs = _pair(kernel_size, "kernel_size", 1)
    S = Fs if stride is None else _pair(stride, "stride", 1)
    P = _pair(padding, "padding", 0)
    if P[0] > Fs[0] // 2 or P[1] > Fs[1] // 2:
        raise ValueError(f"padding {P} must be at most half the window {Fs}")
    H, W = shape[2:]
    if Fs[0] > H + 2 * P[0] or Fs[1] > W + 2 * P[1]:
        raise ValueError(f"the window {Fs} does not fit the padded input ({H + 2 * P[0]}, {W + 2 * P[1]})")
    out_hw = ((H + 2 * P[0] - Fs[0]) // S[0] + 1, (W + 2 * P[1] - Fs[1]) // S[1] + 1)
    return Fs, S, P, out_hw


def _as_float(x) -> np.ndarray:
    x = np.asarray(x)
    return x.astype(np.result_type(x.dtype, np.float32), copy=False)


def _pad(x: np.ndarray, P: tuple[int, int], value: float) -> np.ndarray:
    """x: (N, C, H, W) -> (N, C, H + 2*P_h, W + 2*P_w), the frame filled with ``value``."""
    return np.pad(x, ((0, 0), (0, 0), (P[0], P[0]), (P[1], P[1])), constant_values=value)


def _divisor(shape, Fs, S, P, out_hw, count_include_pad: bool) -> np.ndarray:
    """(H', W'): how many pixels each window averages over."""
    if count_include_pad:
        return np.full(out_hw, float(Fs[0] * Fs[1]))
    H, W = shape[2:]
    starts_h = np.arange(out_hw[0]) * S[0] - P[0]
    starts_w = np.arange(out_hw[1]) * S[1] - P[1]
    rows = np.minimum(starts_h + Fs[0], H) - np.maximum(starts_h, 0)
    cols = np.minimum(starts_w + Fs[1], W) - np.maximum(starts_w, 0)
    return np.outer(rows, cols).astype(float)


def _windows(xp: np.ndarray, Fs, S) -> np.ndarray:
    """(N, C, Hp, Wp) -> view (N, C, H', W', F_h, F_w): window (i, j) starts at (i*S_h, j*S_w)."""
    return sliding_window_view(xp, Fs, axis=(2, 3))[:, :, ::S[0], ::S[1]]


def max_pool_forward_naive(x: np.ndarray, kernel_size, stride=None, padding=0) -> tuple[np.ndarray, Cache]:
    """Max pooling by a loop over output positions (i, j), all images and channels at once.

    x: (N, C, H, W) -> out: (N, C, H', W'); cache: x, kernel_size, stride, padding (pairs) and ``argmax``
    (N, C, H', W', 2), the (row, column) in x of each window's maximum (the first one on ties).
    """
    x = _as_float(x)
    Fs, S, P, (Ho, Wo) = pool_geometry(x.shape, kernel_size, stride, padding)
    xp = _pad(x, P, -np.inf)
    N, C = x.shape[:2]
    out = np.empty((N, C, Ho, Wo), dtype=x.dtype)
    argmax = np.empty((N, C, Ho, Wo, 2), dtype=np.int64)
    for i in range(Ho):
        for j in range(Wo):
            top, left = i * S[0], j * S[1]
            window = xp[:, :, top:top + Fs[0], left:left + Fs[1]].reshape(N, C, -1)
            flat = window.argmax(axis=2)
            out[:, :, i, j] = np.take_along_axis(window, flat[..., None], axis=2)[..., 0]
            argmax[:, :, i, j, 0] = top + flat // Fs[1] - P[0]
            argmax[:, :, i, j, 1] = left + flat % Fs[1] - P[1]
    cache = {"x": x, "kernel_size": Fs, "stride": S, "padding": P, "argmax": argmax}
    return out, cache


def max_pool_forward_fast(x: np.ndarray, kernel_size, stride=None, padding=0) -> tuple[np.ndarray, Cache]:
    """Max pooling over a ``sliding_window_view`` of the -inf-padded input: no Python loop.

    x: (N, C, H, W) -> out: (N, C, H', W'); the same cache as ``max_pool_forward_naive``.
    """
    x = _as_float(x)
    Fs, S, P, (Ho, Wo) = pool_geometry(x.shape, kernel_size, stride, padding)
    windows = _windows(_pad(x, P, -np.inf), Fs, S).reshape(*x.shape[:2], Ho, Wo, -1)  # (N, C, H', W', F_h*F_w)
    flat = windows.argmax(axis=-1)
    out = np.take_along_axis(windows, flat[..., None], axis=-1)[..., 0]
    rows = np.arange(Ho)[:, None] * S[0] + flat // Fs[1] - P[0]
    cols = np.arange(Wo)[None, :] * S[1] + flat % Fs[1] - P[1]
    cache = {"x": x, "kernel_size": Fs, "stride": S, "padding": P, "argmax": np.stack([rows, cols], axis=-1)}
    return out, cache


def avg_pool_forward_naive(x: np.ndarray, kernel_size, stride=None, padding=0,
                           count_include_pad: bool = True) -> tuple[np.ndarray, Cache]:
    """Average pooling by a loop over output positions (i, j), zero padding.

    x: (N, C, H, W) -> out: (N, C, H', W'); cache: x, kernel_size, stride, padding (pairs),
    count_include_pad and ``divisor`` (H', W'), the number each window's sum was divided by.
    """
    x = _as_float(x)
    Fs, S, P, (Ho, Wo) = pool_geometry(x.shape, kernel_size, stride, padding)
    xp = _pad(x, P, 0.0)
    divisor = _divisor(x.shape, Fs, S, P, (Ho, Wo), count_include_pad)
    out = np.empty(x.shape[:2] + (Ho, Wo), dtype=x.dtype)
    for i in range(Ho):
        for j in range(Wo):
            top, left = i * S[0], j * S[1]
            out[:, :, i, j] = xp[:, :, top:top + Fs[0], left:left + Fs[1]].sum(axis=(2, 3)) / divisor[i, j]
    cache = {"x": x, "kernel_size": Fs, "stride": S, "padding": P, "count_include_pad": count_include_pad,
             "divisor": divisor}
    return out, cache


def avg_pool_forward_fast(x: np.ndarray, kernel_size, stride=None, padding=0,
                          count_include_pad: bool = True) -> tuple[np.ndarray, Cache]:
    """Average pooling over a ``sliding_window_view`` of the zero-padded input: no Python loop.

    x: (N, C, H, W) -> out: (N, C, H', W'); the same cache as ``avg_pool_forward_naive``.
    """
    x = _as_float(x)
    Fs, S, P, out_hw = pool_geometry(x.shape, kernel_size, stride, padding)
    divisor = _divisor(x.shape, Fs, S, P, out_hw, count_include_pad)
    out = (_windows(_pad(x, P, 0.0), Fs, S).sum(axis=(-2, -1)) / divisor).astype(x.dtype, copy=False)
    cache = {"x": x, "kernel_size": Fs, "stride": S, "padding": P, "count_include_pad": count_include_pad,
             "divisor": divisor}
    return out, cache


# --------------------------------------------------------------------------------------------- backward passes
# Max pooling sends each dout[n, c, i, j] to the one input pixel that won window (i, j): the first maximum in
# row-major order (np.argmax's and PyTorch's CPU kernel's choice on ties). Average pooling spreads it evenly
# over the window. Windows overlap when S < F, so both *accumulate* (+=): a pixel in several windows gets the
# sum of their gradients. Padding takes part in no gradient: it is cropped (average) or never wins (max).

def max_pool_backward_naive(dout: np.ndarray, cache: Cache) -> np.ndarray:
    """Gradient of max pooling by a loop over output positions (i, j), all images and channels at once.

    dout: (N, C, H', W'); cache from ``max_pool_forward_naive`` or ``_fast`` -> dx: (N, C, H, W).
    """
    x, argmax = cache["x"], cache["argmax"]
    N, C = x.shape[:2]
    dx = np.zeros(x.shape, dtype=np.result_type(x, dout))
    n, c = np.meshgrid(np.arange(N), np.arange(C), indexing="ij")
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            # (n, c) pairs are distinct inside one window, so a plain fancy-index += is safe here
            dx[n, c, argmax[:, :, i, j, 0], argmax[:, :, i, j, 1]] += dout[:, :, i, j]
    return dx


def max_pool_backward_fast(dout: np.ndarray, cache: Cache) -> np.ndarray:
    """Gradient of max pooling in one scatter-add (``np.add.at`` adds up repeated indices; ``+=`` would not).

    dout: (N, C, H', W'); cache from ``max_pool_forward_naive`` or ``_fast`` -> dx: (N, C, H, W).
    """
    x, argmax = cache["x"], cache["argmax"]
    N, C, H, W = x.shape
    flat = argmax[..., 0] * W + argmax[..., 1]                          # (N, C, H', W') index into H*W
    dx = np.zeros((N, C, H * W), dtype=np.result_type(x, dout))
    n, c = np.meshgrid(np.arange(N), np.arange(C), indexing="ij")
    np.add.at(dx, (n[..., None], c[..., None], flat.reshape(N, C, -1)), dout.reshape(N, C, -1))
    return dx.reshape(x.shape)


def avg_pool_backward_naive(dout: np.ndarray, cache: Cache) -> np.ndarray:
    """Gradient of average pooling by a loop over output positions: dout / divisor to every pixel of the window.

    dout: (N, C, H', W'); cache from ``avg_pool_forward_naive`` or ``_fast`` -> dx: (N, C, H, W).
    """
    x, Fs, S, P, divisor = cache["x"], cache["kernel_size"], cache["stride"], cache["padding"], cache["divisor"]
    H, W = x.shape[2:]
    dxp = np.zeros(x.shape[:2] + (H + 2 * P[0], W + 2 * P[1]), dtype=np.result_type(x, dout))
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            top, left = i * S[0], j * S[1]
            dxp[:, :, top:top + Fs[0], left:left + Fs[1]] += (dout[:, :, i, j] / divisor[i, j])[:, :, None, None]
    return dxp[:, :, P[0]:P[0] + H, P[1]:P[1] + W]


def avg_pool_backward_fast(dout: np.ndarray, cache: Cache) -> np.ndarray:
    """Gradient of average pooling by a loop over the F_h*F_w taps of the window (one strided add each).

    dout: (N, C, H', W'); cache from ``avg_pool_forward_naive`` or ``_fast`` -> dx: (N, C, H, W).
    """
    x, Fs, S, P, divisor = cache["x"], cache["kernel_size"], cache["stride"], cache["padding"], cache["divisor"]
    H, W = x.shape[2:]
    Ho, Wo = dout.shape[2:]
    share = dout / divisor
    dxp = np.zeros(x.shape[:2] + (H + 2 * P[0], W + 2 * P[1]), dtype=np.result_type(x, dout))
    for p in range(Fs[0]):
        for q in range(Fs[1]):   # tap (p, q) of window (i, j) is padded pixel (i*S_h + p, j*S_w + q)
            dxp[:, :, p:p + S[0] * (Ho - 1) + 1:S[0], q:q + S[1] * (Wo - 1) + 1:S[1]] += share
    return dxp[:, :, P[0]:P[0] + H, P[1]:P[1] + W]
