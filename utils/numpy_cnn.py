"""A small CNN written in NumPy alone, the network chapter 06 builds up to and trains on Fashion-MNIST::

    x (N, C, H, W) -> conv 3x3, pad 1 -> ReLU -> max-pool 2x2 -> conv 3x3, pad 1 -> ReLU -> max-pool 2x2
      -> flatten -> dense -> softmax cross-entropy over 10 classes

Parameters live in a dict of arrays (the names the chapter's exercise uses):

- w1 (K1, C, 3, 3), b1 (K1,)        first convolution
- w2 (K2, K1, 3, 3), b2 (K2,)       second convolution
- w3 (K2 * H/4 * W/4, M), b3 (M,)   dense layer on the flattened (N, K2, H/4, W/4) maps (H, W divisible by 4)

Every layer is a ``utils.layers`` function pair, ``out, cache = forward(...)`` and ``backward(dout, cache)``;
the backward pass calls them in reverse order. ``sgd_step(params, x, y, lr)`` is the same network as one
function: one step of stochastic gradient descent, returning the loss before the step and new parameters.
"""

from __future__ import annotations

import numpy as np

from .layers.activations import relu_backward, relu_forward
from .layers.convolution import conv_backward_fast, conv_forward_fast
from .layers.dense import dense_backward, dense_forward
from .layers.losses import softmax_cross_entropy
from .layers.pooling import max_pool_backward_fast, max_pool_forward_fast

__all__ = ["NumpyCNN", "init_params", "loss_and_grads", "sgd_step"]

PARAM_NAMES = ("w1", "b1", "w2", "b2", "w3", "b3")


def init_params(image_shape=(1, 28, 28), channels=(8, 16), classes: int = 10, seed: int = 0) -> dict:
    """He initialisation for the convolutions (std sqrt(2 / fan_in)), a small dense layer (so that the first
    scores are close to 0 and the first loss close to ln(classes)), zero biases."""
    C, H, W = image_shape
    if H % 4 or W % 4:
        raise ValueError(f"H and W must be divisible by 4 (two 2x2 poolings), got {H} x {W}")
    K1, K2 = channels
    rng = np.random.default_rng(seed)
    return {
        "w1": rng.normal(0.0, np.sqrt(2.0 / (C * 9)), size=(K1, C, 3, 3)), "b1": np.zeros(K1),
        "w2": rng.normal(0.0, np.sqrt(2.0 / (K1 * 9)), size=(K2, K1, 3, 3)), "b2": np.zeros(K2),
        "w3": rng.normal(0.0, 0.01, size=(K2 * (H // 4) * (W // 4), classes)), "b3": np.zeros(classes),
    }


def forward(params: dict, x: np.ndarray) -> tuple[np.ndarray, list]:
    """x: (N, C, H, W) -> scores (N, M) and the caches of the seven layers, in order."""
    h, c1 = conv_forward_fast(x, params["w1"], params["b1"], stride=1, pad=1)
    h, r1 = relu_forward(h)
    h, p1 = max_pool_forward_fast(h, 2)
    h, c2 = conv_forward_fast(h, params["w2"], params["b2"], stride=1, pad=1)
    h, r2 = relu_forward(h)
    h, p2 = max_pool_forward_fast(h, 2)
    scores, d3 = dense_forward(h, params["w3"], params["b3"])
    return scores, [c1, r1, p1, c2, r2, p2, d3]


def loss_and_grads(params: dict, x: np.ndarray, y: np.ndarray) -> tuple[float, dict]:
    """Mean cross-entropy loss on (x, y) and its gradient for every parameter (a dict like ``params``)."""
    scores, (c1, r1, p1, c2, r2, p2, d3) = forward(params, x)
    loss, d = softmax_cross_entropy(scores, y)
    grads = {}
    d, grads["w3"], grads["b3"] = dense_backward(d, d3)
    d = relu_backward(max_pool_backward_fast(d, p2), r2)
    d, grads["w2"], grads["b2"] = conv_backward_fast(d, c2)
    d = relu_backward(max_pool_backward_fast(d, p1), r1)
    _, grads["w1"], grads["b1"] = conv_backward_fast(d, c1)   # dx of the image itself is not needed
    return loss, grads


def sgd_step(params: dict, x: np.ndarray, y: np.ndarray, lr: float) -> tuple[float, dict]:
    """One step of SGD: (loss before the step, new params = params - lr * grads). ``params`` is not changed."""
    loss, grads = loss_and_grads(params, np.asarray(x, dtype=np.float64), y)
    return loss, {name: params[name] - lr * grads[name] for name in PARAM_NAMES}


class NumpyCNN:
    """The network with its parameters: ``step`` trains on a minibatch, ``predict`` classifies.

    x: (N, C, H, W) float images (e.g. pixels / 255), y: (N,) int labels.
    """

    def __init__(self, image_shape=(1, 28, 28), channels=(8, 16), classes: int = 10, seed: int = 0):
        self.params = init_params(image_shape, channels, classes, seed)

    def loss(self, x: np.ndarray, y: np.ndarray) -> float:
        return softmax_cross_entropy(forward(self.params, x)[0], y)[0]

    def step(self, x: np.ndarray, y: np.ndarray, lr: float) -> float:
        """One SGD step on the minibatch; returns its loss before the step."""
        loss, self.params = sgd_step(self.params, x, y, lr)
        return loss

    def predict(self, x: np.ndarray, batch_size: int = 500) -> np.ndarray:
        """(N,) predicted classes, computed batch_size images at a time."""
        return np.concatenate([forward(self.params, x[i:i + batch_size])[0].argmax(axis=1)
                               for i in range(0, len(x), batch_size)])

    def accuracy(self, x: np.ndarray, y: np.ndarray) -> float:
        return float(np.mean(self.predict(x) == np.asarray(y)))
