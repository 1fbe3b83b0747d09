"""Convolution layers in NumPy: a naive loop version (the definition) and a fast im2col version.

Both compute what deep-learning libraries call convolution (cross-correlation, no kernel flip), with
zero padding, stride and dilation, on NCHW batches::

    out[n, k, i, j] = b[k] + sum_{c, p, q} w[k, c, p, q] * xp[n, c, i*S + p*D, j*S + q*D]

where ``xp`` is ``x`` zero-padded by ``pad`` on every side. Shapes, everywhere below:

- x: (N, C, H, W) input batch
- w: (K, C, FH, FW) filters (K of them; FH x FW is the notation's F_h x F_w)
- b: (K,) biases
- out: (N, K, H', W') with H' = (H + 2*pad - D*(FH - 1) - 1) // S + 1 (likewise W')

``stride``, ``pad`` and ``dilation`` are ints, or (height, width) pairs.
The fast version builds the im2col matrix (C*FH*FW, N*H'*W') with
``numpy.lib.stride_tricks.sliding_window_view`` and does the whole layer as one matrix product; its backward pass scatters the column gradients back
with one strided addition per kernel tap (col2im).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["conv_forward_naive", "conv_forward_fast", "conv_backward_naive", "conv_backward_fast", "im2col"]

Cache = dict[str, Any]


def _pair(value, name: str, minimum: int) -> tuple[int, int]:
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a (height, width) pair, got {value!r}")
        pair = tuple(int(v) for v in value)
    else:
        pair = (int(value), int(value))
    if min(pair) < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return pair  # type: ignore[return-value]


def _validate(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride, pad, dilation):
    x, w, b = np.asarray(x), np.asarray(w), np.asarray(b)
    if x.ndim != 4:
        raise ValueError(f"x must have shape (N, C, H, W), got {x.shape}")
    if w.ndim != 4:
        raise ValueError(f"w must have shape (K, C, FH, FW), got {w.shape}")
    if x.shape[1] != w.shape[1]:
        raise ValueError(f"x has {x.shape[1]} channels but w expects {w.shape[1]} (x {x.shape}, w {w.shape})")
    if b.shape != (w.shape[0],):
        raise ValueError(f"b must have shape (K,) = ({w.shape[0]},), got {b.shape}")
    S, P, D = _pair(stride, "stride", 1), _pair(pad, "pad", 0), _pair(dilation, "dilation", 1)
    H, W = x.shape[2:]
    FH, FW = w.shape[2:]
    span = (D[0] * (FH - 1) + 1, D[1] * (FW - 1) + 1)
    if span[0] > H + 2 * P[0] or span[1] > W + 2 * P[1]:
        raise ValueError(f"the kernel (spanning {span}) does not fit the padded input ({H + 2 * P[0]}, {W + 2 * P[1]})")
    out_hw = ((H + 2 * P[0] - span[0]) // S[0] + 1, (W + 2 * P[1] - span[1]) // S[1] + 1)
    return x, w, b, S, P, D, span, out_hw


def _zero_pad(x: np.ndarray, P: tuple[int, int]) -> np.ndarray:
    """x: (N, C, H, W) -> (N, C, H + 2*P[0], W + 2*P[1])."""
    return np.pad(x, ((0, 0), (0, 0), (P[0], P[0]), (P[1], P[1])))


def conv_forward_naive(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride=1, pad=0,
                       dilation=1) -> tuple[np.ndarray, Cache]:
    """Convolution by four nested loops (n, k, i, j): the definition, slow on purpose.

    x: (N, C, H, W), w: (K, C, FH, FW), b: (K,) -> out: (N, K, H', W'), cache for the backward pass.
    """
    x, w, b, S, P, D, span, (Ho, Wo) = _validate(x, w, b, stride, pad, dilation)
    xp = _zero_pad(x, P)
    N, K = x.shape[0], w.shape[0]
    out = np.zeros((N, K, Ho, Wo), dtype=np.result_type(x, w, b))
    for n in range(N):
        for k in range(K):
            for i in range(Ho):
                for j in range(Wo):
                    top, left = i * S[0], j * S[1]
                    window = xp[n, :, top:top + span[0]:D[0], left:left + span[1]:D[1]]
                    out[n, k, i, j] = np.sum(window * w[k]) + b[k]
    cache = {"x": x, "w": w, "b": b, "stride": S, "pad": P, "dilation": D}
    return out, cache


def conv_backward_naive(dout: np.ndarray, cache: Cache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients by the same four loops as the forward pass.

    dout: (N, K, H', W'); cache from ``conv_forward_naive`` or ``conv_forward_fast``
    -> dx: (N, C, H, W), dw: (K, C, FH, FW), db: (K,).
    """
    x, w = cache["x"], cache["w"]
    S, P, D = cache["stride"], cache["pad"], cache["dilation"]
    FH, FW = w.shape[2:]
    span = (D[0] * (FH - 1) + 1, D[1] * (FW - 1) + 1)
    xp = _zero_pad(x, P)
    dxp = np.zeros_like(xp, dtype=np.result_type(xp, dout))
    dw = np.zeros_like(w, dtype=np.result_type(w, dout))
    N, K, Ho, Wo = dout.shape
    for n in range(N):
        for k in range(K):
            for i in range(Ho):
                for j in range(Wo):
                    top, left = i * S[0], j * S[1]
                    rows, cols = slice(top, top + span[0], D[0]), slice(left, left + span[1], D[1])
                    dw[k] += dout[n, k, i, j] * xp[n, :, rows, cols]
                    dxp[n, :, rows, cols] += dout[n, k, i, j] * w[k]
    db = dout.sum(axis=(0, 2, 3))
    H, W = x.shape[2:]
    return dxp[:, :, P[0]:P[0] + H, P[1]:P[1] + W], dw, db


def im2col(x: np.ndarray, kernel: tuple[int, int], stride=1, pad=0, dilation=1) -> np.ndarray:
    """Every receptive field as one column: the matrix that turns a convolution into a matrix product.

    x: (N, C, H, W); kernel: (FH, FW) -> cols: (C*FH*FW, N*H'*W').
    Rows are ordered (c, p, q) like ``w.reshape(K, -1)``'s columns, columns (n, i, j) (output position),
    so ``w.reshape(K, -1) @ cols`` is the convolution. (CS231n's layout; torch's
    ``torch.nn.functional.unfold(x, ...)`` holds the same numbers as (N, C*FH*FW, H'*W').)
    """
    x = np.asarray(x)
    FH, FW = kernel
    S, P, D = _pair(stride, "stride", 1), _pair(pad, "pad", 0), _pair(dilation, "dilation", 1)
    span = (D[0] * (FH - 1) + 1, D[1] * (FW - 1) + 1)
    xp = _zero_pad(x, P).transpose(1, 0, 2, 3)              # (C, N, Hp, Wp): channels first makes the copy faster
    # windows[c, n, i, j, p, q] = xp[c, n, i*S + p*D, j*S + q*D]: a view, nothing copied yet
    windows = sliding_window_view(xp, span, axis=(2, 3))[:, :, ::S[0], ::S[1], ::D[0], ::D[1]]
    C, N, Ho, Wo = windows.shape[:4]
    return windows.transpose(0, 4, 5, 1, 2, 3).reshape(C * FH * FW, N * Ho * Wo)  # the one copy


def conv_forward_fast(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride=1, pad=0,
                      dilation=1) -> tuple[np.ndarray, Cache]:
    """Convolution as one matrix product on the im2col matrix (no Python loop over positions).

    x: (N, C, H, W), w: (K, C, FH, FW), b: (K,) -> out: (N, K, H', W'), cache for the backward pass.
    """
    x, w, b, S, P, D, span, (Ho, Wo) = _validate(x, w, b, stride, pad, dilation)
    N, K = x.shape[0], w.shape[0]
    cols = im2col(x, w.shape[2:], S, P, D)                  # (C*FH*FW, N*H'*W')
    out = w.reshape(K, -1) @ cols                           # (K, N*H'*W')
    out = out.reshape(K, N, Ho, Wo).transpose(1, 0, 2, 3) + b[None, :, None, None]
    cache = {"x": x, "w": w, "b": b, "stride": S, "pad": P, "dilation": D, "cols": cols}
    return out, cache


def conv_backward_fast(dout: np.ndarray, cache: Cache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of the convolution with matrix products and col2im.

    dout: (N, K, H', W'); cache from ``conv_forward_fast`` (or ``conv_forward_naive``)
    -> dx: (N, C, H, W), dw: (K, C, FH, FW), db: (K,).
    """
    x, w = cache["x"], cache["w"]
    S, P, D = cache["stride"], cache["pad"], cache["dilation"]
    N, C, H, W = x.shape
    K, _, FH, FW = w.shape
    Ho, Wo = dout.shape[2:]
    cols = cache.get("cols")
    if cols is None:
        cols = im2col(x, (FH, FW), S, P, D)
    dout_mat = dout.transpose(1, 0, 2, 3).reshape(K, -1)    # (K, N*H'*W')
    db = dout_mat.sum(axis=1)
    dw = (dout_mat @ cols.T).reshape(w.shape)
    dcols = (w.reshape(K, -1).T @ dout_mat).reshape(C, FH, FW, N, Ho, Wo)
    # col2im: tap (p, q) of output (i, j) read xp[:, :, i*S + p*D, j*S + q*D]; send its gradient back there
    dxp = np.zeros((C, N, H + 2 * P[0], W + 2 * P[1]), dtype=dcols.dtype)
    for p in range(FH):
        for q in range(FW):
            top, left = p * D[0], q * D[1]
            dxp[:, :, top:top + S[0] * (Ho - 1) + 1:S[0], left:left + S[1] * (Wo - 1) + 1:S[1]] += dcols[:, p, q]
    return dxp[:, :, P[0]:P[0] + H, P[1]:P[1] + W].transpose(1, 0, 2, 3), dw, db
