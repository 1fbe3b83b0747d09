"""Softmax cross-entropy: the loss of a classifier and its gradient with respect to the scores.

    p[n] = softmax(scores[n]),   loss = -(1/N) sum_n log p[n, y_n],   dscores = (p - onehot(y)) / N

The 1/N is there because the loss is the *mean* over the batch (PyTorch's ``F.cross_entropy`` default).
The maximum of each row is subtracted before ``exp`` (it cancels in the softmax), so large scores do not
overflow. Shapes: scores (N, M) for M classes, labels (N,) ints in [0, M).
"""

from __future__ import annotations

import numpy as np

__all__ = ["softmax", "softmax_cross_entropy"]


def softmax(scores: np.ndarray) -> np.ndarray:
    """scores: (N, M) -> probabilities (N, M), each row summing to 1."""
    shifted = np.asarray(scores, dtype=np.float64) - np.max(scores, axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


def softmax_cross_entropy(scores: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """scores: (N, M), labels: (N,) -> (mean loss as a float, dscores: (N, M))."""
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels)
    N = scores.shape[0]
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -float(log_p[np.arange(N), labels].mean())
    dscores = np.exp(log_p)
    dscores[np.arange(N), labels] -= 1.0
    return loss, dscores / N
