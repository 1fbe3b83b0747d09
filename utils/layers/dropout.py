"""Dropout layers in NumPy (CS231n style: ``out, cache = forward(...)``, ``dx = backward(dout, cache)``).

**Convention: every function here takes ``keep_prob``, the probability that a unit is KEPT** (the p of the
original dropout papers and of chapter 07). PyTorch's ``F.dropout(x, p)`` and ``nn.Dropout2d(p)`` take the
probability of DROPPING: ``keep_prob = 1 - p``.

All three are *inverted* dropout: kept values are divided by ``keep_prob`` at training time, so that the
expected output equals the input and evaluation (``train=False``) is the identity, as in PyTorch's
``model.eval()``. Masks are drawn from the NumPy ``Generator`` passed in, with exactly one call each::

    dropout_forward:            mask = rng.random(x.shape) < keep_prob           one coin per element
    spatial_dropout_forward:    mask = rng.random((N, C)) < keep_prob            one coin per (example, channel)
    dropconnect_dense_forward:  mask = rng.random((N,) + w.shape) < keep_prob    one coin per weight and example

so the same seed gives the same mask. Evaluation mode draws nothing.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["dropout_forward", "dropout_backward", "spatial_dropout_forward", "spatial_dropout_backward",
           "dropconnect_dense_forward"]


def _check_keep(keep_prob: float) -> float:
    keep_prob = float(keep_prob)
    if not 0.0 < keep_prob <= 1.0:
        raise ValueError(f"keep_prob is the probability of keeping a unit, in (0, 1]; got {keep_prob} "
                         "(PyTorch's p is the probability of dropping: keep_prob = 1 - p)")
    return keep_prob


def _masked(x, keep_prob, train, rng, coins, expand):
    keep_prob = _check_keep(keep_prob)
    x = np.asarray(x, dtype=np.float64)
    if not train:
        return x.copy(), {"mask": None, "keep_prob": keep_prob}
    mask = rng.random(coins(x.shape)) < keep_prob
    return x * expand(mask) / keep_prob, {"mask": mask, "keep_prob": keep_prob, "expand": expand}


def _masked_backward(dout, cache):
    dout = np.asarray(dout, dtype=np.float64)
    if cache["mask"] is None:
        return dout.copy()
    return dout * cache["expand"](cache["mask"]) / cache["keep_prob"]


def dropout_forward(x: np.ndarray, keep_prob: float, train: bool, rng: np.random.Generator
                    ) -> tuple[np.ndarray, dict[str, Any]]:
    """x: any shape -> out: x * mask / keep_prob (train) or x (eval), as float; cache for ``dropout_backward``."""
    return _masked(x, keep_prob, train, rng, lambda shape: shape, lambda mask: mask)


def dropout_backward(dout: np.ndarray, cache: dict[str, Any]) -> np.ndarray:
    """dout: shaped like x -> dx = dout * mask / keep_prob, with the forward pass's mask (dout in eval mode)."""
    return _masked_backward(dout, cache)


def spatial_dropout_forward(x: np.ndarray, keep_prob: float, train: bool, rng: np.random.Generator
                            ) -> tuple[np.ndarray, dict[str, Any]]:
    """x: (N, C, H, W) -> whole channels kept or zeroed (``nn.Dropout2d(p=1 - keep_prob)``); mask (N, C)."""
    return _masked(x, keep_prob, train, rng, lambda shape: shape[:2], lambda mask: mask[:, :, None, None])


def spatial_dropout_backward(dout: np.ndarray, cache: dict[str, Any]) -> np.ndarray:
    """dout: (N, C, H, W) -> dx, zero in the dropped channels, dout / keep_prob elsewhere."""
    return _masked_backward(dout, cache)


def dropconnect_dense_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray, keep_prob: float,
                              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Training-time DropConnect for a dense layer: each example n gets its own mask on the weights,

        out[n] = x[n] @ (w * mask[n]) / keep_prob + b,   mask: (N, D, M),

    x: (N, D), w: (D, M), b: (M,) (the bias is not dropped) -> (out (N, M), mask)."""
    keep_prob = _check_keep(keep_prob)
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    mask = rng.random((x.shape[0],) + w.shape) < keep_prob
    out = np.einsum("nd,ndm->nm", x, w * mask) / keep_prob + np.asarray(b, dtype=np.float64)
    return out, mask
