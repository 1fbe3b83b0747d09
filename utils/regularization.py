"""Weight penalties and constraints used in chapter 07.

    l2_gradient(dw, w, weight_decay) = dw + weight_decay * w
        the gradient of  L + (weight_decay / 2) * sum(w ** 2):  "weight decay", what
        torch.optim.SGD(..., weight_decay=weight_decay) adds to every gradient

    max_norm(w, c): after a step, every unit's incoming weight vector with norm above c is scaled back to
        norm c (a projection onto the ball of radius c); vectors already inside are left alone.
        A dense layer out = x @ w with w (D, M) has unit j's incoming weights in the COLUMN w[:, j];
        a convolution with w (K, C, F_h, F_w) has filter k's in w[k].  (torch.renorm(w, 2, 1, c) and
        torch.renorm(w, 2, 0, c) compute the same.)
"""

from __future__ import annotations

import numpy as np

__all__ = ["l2_gradient", "max_norm"]


def l2_gradient(dw: np.ndarray, w: np.ndarray, weight_decay: float) -> np.ndarray:
    """dw, w: the same shape -> dw + weight_decay * w (float)."""
    return np.asarray(dw, dtype=np.float64) + weight_decay * np.asarray(w, dtype=np.float64)


def max_norm(w: np.ndarray, c: float) -> np.ndarray:
    """w: (D, M) dense or (K, C, F_h, F_w) convolution -> w with each unit's incoming norm at most c."""
    w = np.asarray(w, dtype=np.float64)
    if w.ndim == 2:
        norms = np.linalg.norm(w, axis=0, keepdims=True)                     # one per column (unit)
    else:
        norms = np.linalg.norm(w.reshape(len(w), -1), axis=1).reshape((-1,) + (1,) * (w.ndim - 1))
    return w * np.minimum(1.0, c / np.maximum(norms, 1e-300))
