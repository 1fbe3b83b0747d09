"""Batch normalization, forward and backward, per feature for (N, D) and per channel for (N, C, H, W).

Training mode normalizes with the statistics of the minibatch, over the m values of each component
(m = N for (N, D), m = N*H*W for (N, C, H, W)):

    mu = mean(x),  var = mean((x - mu)^2)  (the 1/m variance),  x_hat = (x - mu) / sqrt(var + eps),
    out = gamma * x_hat + beta

    dbeta = sum(dout),  dgamma = sum(dout * x_hat),
    dx = gamma / (m * sqrt(var + eps)) * (m * dout - sum(dout) - x_hat * sum(dout * x_hat))

Evaluation mode uses fixed statistics (``batchnorm_eval``), which PyTorch keeps as running averages
(``update_running_stats``: momentum weighs the new batch, the running variance is the unbiased one).
``fold_into_conv`` turns a convolution followed by batch normalization in evaluation mode into one convolution.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["batchnorm_forward", "batchnorm_backward", "batchnorm_eval", "update_running_stats", "fold_into_conv",
           "batchnorm_axes"]


def batchnorm_axes(ndim: int) -> tuple[int, ...]:
    """The axes a component's statistics run over: (0,) for (N, D), (0, 2, 3) for (N, C, H, W)."""
    if ndim not in (2, 4):
        raise ValueError(f"batch normalization takes (N, D) or (N, C, H, W) inputs, got {ndim} axes")
    return (0,) if ndim == 2 else (0, 2, 3)


def _per_component(v: np.ndarray, ndim: int) -> np.ndarray:
    """A (D,) or (C,) vector shaped to broadcast against the input's axes."""
    v = np.asarray(v, dtype=np.float64)
    return v if ndim == 2 else v[None, :, None, None]


def batchnorm_forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
                      eps: float = 1e-5) -> tuple[np.ndarray, dict[str, Any]]:
    """Training mode. x: (N, D) or (N, C, H, W); gamma, beta: (D,) or (C,). Returns out shaped like x and the
    cache for ``batchnorm_backward`` (it also holds the batch's mean and 1/m variance, shape (D,) or (C,))."""
    x = np.asarray(x, dtype=np.float64)
    axes = batchnorm_axes(x.ndim)
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = (x - mean) * inv_std
    g = _per_component(gamma, x.ndim)
    out = g * x_hat + _per_component(beta, x.ndim)
    cache = {"x_hat": x_hat, "inv_std": inv_std, "gamma": g, "axes": axes,
             "mean": mean.reshape(-1), "var": var.reshape(-1)}
    return out, cache


def batchnorm_backward(dout: np.ndarray, cache: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """dout shaped like x -> dx shaped like x, dgamma and dbeta of shape (D,) or (C,). Includes the paths
    through the batch mean and variance, which depend on every input of the component."""
    dout = np.asarray(dout, dtype=np.float64)
    x_hat, inv_std, g, axes = cache["x_hat"], cache["inv_std"], cache["gamma"], cache["axes"]
    m = x_hat.size // x_hat.shape[1]
    dbeta = dout.sum(axis=axes, keepdims=True)
    dgamma = (dout * x_hat).sum(axis=axes, keepdims=True)
    dx = g * inv_std / m * (m * dout - dbeta - x_hat * dgamma)
    return dx, dgamma.reshape(-1), dbeta.reshape(-1)


def batchnorm_eval(x: np.ndarray, mean: np.ndarray, var: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
                   eps: float = 1e-5) -> np.ndarray:
    """Evaluation mode: the affine map gamma (x - mean) / sqrt(var + eps) + beta with fixed statistics."""
    x = np.asarray(x, dtype=np.float64)
    batchnorm_axes(x.ndim)
    scale = _per_component(gamma, x.ndim) / np.sqrt(_per_component(var, x.ndim) + eps)
    return scale * (x - _per_component(mean, x.ndim)) + _per_component(beta, x.ndim)


def update_running_stats(running_mean: np.ndarray, running_var: np.ndarray, x: np.ndarray,
                         momentum: float | None = 0.1, batches_seen: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's update after one training-mode batch x: new = (1 - momentum) * old + momentum * batch value,
    with the batch's *unbiased* variance (m/(m-1) times the 1/m variance used to normalize). momentum=None is
    the cumulative average of all batches so far (``batches_seen`` before this one). Returns new arrays."""
    x = np.asarray(x, dtype=np.float64)
    axes = batchnorm_axes(x.ndim)
    m = x.size // x.shape[1]
    if m < 2:
        raise ValueError("the unbiased variance needs at least two values per component (m >= 2)")
    mean = x.mean(axis=axes)
    unbiased = x.var(axis=axes) * m / (m - 1)
    weight = 1.0 / (batches_seen + 1) if momentum is None else momentum
    return ((1 - weight) * np.asarray(running_mean, dtype=np.float64) + weight * mean,
            (1 - weight) * np.asarray(running_var, dtype=np.float64) + weight * unbiased)


def fold_into_conv(w: np.ndarray, b: np.ndarray | None, gamma: np.ndarray, beta: np.ndarray, mean: np.ndarray,
                   var: np.ndarray, eps: float = 1e-5) -> tuple[np.ndarray, np.ndarray]:
    """Fold evaluation-mode batch normalization into the convolution before it. w: (K, C, F_h, F_w), b: (K,) or
    None, gamma, beta, mean, var: (K,). Returns (w', b') with conv(x, w', b') = BN_eval(conv(x, w, b))."""
    scale = np.asarray(gamma, dtype=np.float64) / np.sqrt(np.asarray(var, dtype=np.float64) + eps)
    b = np.zeros(len(scale)) if b is None else np.asarray(b, dtype=np.float64)
    w_folded = np.asarray(w, dtype=np.float64) * scale[:, None, None, None]
    return w_folded, (b - np.asarray(mean, dtype=np.float64)) * scale + np.asarray(beta, dtype=np.float64)
