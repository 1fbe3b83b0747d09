"""Unit tests of the backward passes in utils.layers (pooling, ReLU, dense, softmax cross-entropy) and of the
NumPy CNN: each against PyTorch autograd in float64 and, where the function is differentiable, against
numerical gradients; plus the tie convention (first maximum in row-major order) and one SGD step against torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from utils.gradcheck import numerical_gradient, numerical_gradient_array, rel_error
from utils.layers import (avg_pool_backward_fast, avg_pool_backward_naive, avg_pool_forward_fast,
                          avg_pool_forward_naive, dense_backward, dense_forward, max_pool_backward_fast,
                          max_pool_backward_naive, max_pool_forward_fast, max_pool_forward_naive, relu_backward,
                          relu_forward, softmax, softmax_cross_entropy)
from utils.numpy_cnn import NumpyCNN, init_params, loss_and_grads, sgd_step

# (N, C, H, W), kernel_size, stride, padding: tiling, overlapping (3x3 s1, 3x3 s2), padded, non-square
CONFIGS = [
    ((1, 1, 4, 4), 2, None, 0),
    ((2, 3, 7, 9), 2, 2, 1),
    ((2, 2, 6, 7), 3, 1, 0),
    ((2, 2, 9, 11), 3, 2, 1),
    ((3, 2, 8, 6), (2, 3), (1, 2), (1, 0)),
    ((1, 3, 10, 7), (3, 2), None, (1, 1)),
    ((2, 2, 5, 8), 4, 3, 2),
]
MAX = [(max_pool_forward_naive, max_pool_backward_naive), (max_pool_forward_fast, max_pool_backward_fast),
       (max_pool_forward_naive, max_pool_backward_fast)]
AVG = [(avg_pool_forward_naive, avg_pool_backward_naive), (avg_pool_forward_fast, avg_pool_backward_fast)]


def _t(a, grad=False):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def _autograd(fn, x, dout):
    xt = _t(x, grad=True)
    fn(xt).backward(_t(dout))
    return xt.grad.numpy()


@pytest.mark.parametrize("pair", MAX, ids=lambda p: f"{p[0].__name__}+{p[1].__name__}")
@pytest.mark.parametrize("config", CONFIGS)
def test_max_pool_backward_matches_autograd_and_numerical_gradients(pair, config):
    forward, backward = pair
    shape, k, s, p = config
    x = np.random.default_rng(0).permutation(np.prod(shape)).reshape(shape) / 7.0   # distinct: no ties
    out, cache = forward(x, k, s, p)
    dout = np.random.default_rng(1).normal(size=out.shape)
    dx = backward(dout, cache)
    np.testing.assert_allclose(dx, _autograd(lambda t: F.max_pool2d(t, k, s, p), x, dout), atol=1e-12)
    numeric = numerical_gradient_array(lambda z: forward(z, k, s, p)[0], x.copy(), dout)
    assert rel_error(dx, numeric) < 1e-5          # float64 round-off of the differences; a bug gives > 0.1


@pytest.mark.parametrize("pair", MAX, ids=lambda p: f"{p[0].__name__}+{p[1].__name__}")
@pytest.mark.parametrize("config", CONFIGS)
def test_max_pool_ties_go_to_the_first_maximum_like_torch(pair, config):
    forward, backward = pair
    shape, k, s, p = config
    x = np.random.default_rng(2).integers(0, 3, size=shape).astype(float)            # many ties
    out, cache = forward(x, k, s, p)
    dout = np.random.default_rng(3).normal(size=out.shape)
    expected = _autograd(lambda t: F.max_pool2d(t, k, s, p), x, dout)
    np.testing.assert_allclose(backward(dout, cache), expected, atol=1e-12)


def test_a_tie_sends_everything_to_the_first_pixel_in_row_major_order():
    x = np.array([[[[1.0, 5.0], [5.0, 5.0]]]])
    out, cache = max_pool_forward_fast(x, 2)
    assert np.array_equal(max_pool_backward_fast(np.ones_like(out), cache), [[[[0.0, 1.0], [0.0, 0.0]]]])


def test_overlapping_windows_accumulate():
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 1] = 1.0                      # the centre wins all four 2x2 windows at stride 1
    for forward, backward in MAX:
        out, cache = forward(x, 2, 1)
        assert backward(np.ones_like(out), cache)[0, 0, 1, 1] == 4.0


@pytest.mark.parametrize("pair", AVG, ids=lambda p: p[1].__name__)
@pytest.mark.parametrize("include", [True, False])
@pytest.mark.parametrize("config", CONFIGS)
def test_avg_pool_backward_matches_autograd_and_numerical_gradients(pair, include, config):
    forward, backward = pair
    shape, k, s, p = config
    x = np.random.default_rng(4).normal(size=shape)
    out, cache = forward(x, k, s, p, count_include_pad=include)
    dout = np.random.default_rng(5).normal(size=out.shape)
    dx = backward(dout, cache)
    expected = _autograd(lambda t: F.avg_pool2d(t, k, s, p, count_include_pad=include), x, dout)
    np.testing.assert_allclose(dx, expected, atol=1e-12)
    numeric = numerical_gradient_array(lambda z: forward(z, k, s, p, count_include_pad=include)[0], x.copy(), dout)
    assert rel_error(dx, numeric) < 1e-5          # float64 round-off of the differences; a bug gives > 0.1


def test_relu_backward_is_zero_at_zero_like_torch():
    x = np.array([[-1.0, 0.0, 2.0], [0.0, 3.0, -0.5]])
    out, cache = relu_forward(x)
    dout = np.arange(1.0, 7.0).reshape(2, 3)
    assert np.array_equal(out, np.maximum(x, 0))
    np.testing.assert_array_equal(relu_backward(dout, cache), _autograd(torch.relu, x, dout))


def test_dense_backward_matches_autograd():
    rng = np.random.default_rng(6)
    x, w, b = rng.normal(size=(4, 3, 2, 5)), rng.normal(size=(30, 7)), rng.normal(size=7)
    out, cache = dense_forward(x, w, b)
    dout = rng.normal(size=out.shape)
    dx, dw, db = dense_backward(dout, cache)
    xt, wt, bt = _t(x, True), _t(w, True), _t(b, True)
    (xt.reshape(4, -1) @ wt + bt).backward(_t(dout))
    for got, expected in [(out, (x.reshape(4, -1) @ w + b)), (dx, xt.grad), (dw, wt.grad), (db, bt.grad)]:
        np.testing.assert_allclose(got, np.asarray(expected), atol=1e-12)


def test_softmax_cross_entropy_matches_torch_and_is_stable():
    rng = np.random.default_rng(7)
    for scale in (1.0, 1000.0):                                          # 1000: exp would overflow unshifted
        scores, labels = scale * rng.normal(size=(6, 10)), rng.integers(0, 10, size=6)
        loss, dscores = softmax_cross_entropy(scores, labels)
        st = _t(scores, True)
        expected = F.cross_entropy(st, torch.tensor(labels))
        expected.backward()
        assert isinstance(loss, float) and loss == pytest.approx(expected.item(), rel=1e-12)
        np.testing.assert_allclose(dscores, st.grad.numpy(), atol=1e-12)
    assert np.allclose(softmax(scores).sum(axis=1), 1.0)
    numeric = numerical_gradient(lambda s: softmax_cross_entropy(s, labels)[0], scores[:, :] / 1000.0)
    assert rel_error(softmax_cross_entropy(scores / 1000.0, labels)[1], numeric) < 1e-7


def _torch_cnn_step(params, x, y, lr):
    p = {k: _t(v, True) for k, v in params.items()}
    h = F.max_pool2d(torch.relu(F.conv2d(_t(x), p["w1"], p["b1"], padding=1)), 2)
    h = F.max_pool2d(torch.relu(F.conv2d(h, p["w2"], p["b2"], padding=1)), 2)
    loss = F.cross_entropy(h.reshape(len(x), -1) @ p["w3"] + p["b3"], torch.tensor(y))
    loss.backward()
    return loss.item(), {k: (v - lr * v.grad).detach().numpy() for k, v in p.items()}


def test_one_sgd_step_matches_torch_with_the_same_weights():
    params = init_params((2, 8, 12), channels=(3, 4), classes=5, seed=1)
    params = {k: v + 0.1 * np.random.default_rng(2).normal(size=v.shape) for k, v in params.items()}
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(5, 2, 8, 12)), rng.integers(0, 5, size=5)
    before = {k: v.copy() for k, v in params.items()}
    loss, new = sgd_step(params, x, y, lr=0.5)
    expected_loss, expected = _torch_cnn_step(params, x, y, 0.5)
    assert loss == pytest.approx(expected_loss, rel=1e-12)
    for name in expected:
        np.testing.assert_allclose(new[name], expected[name], atol=1e-12)
        assert np.array_equal(params[name], before[name])               # the step returns new arrays


def test_cnn_gradients_match_numerical_gradients():
    params = init_params((1, 4, 4), channels=(2, 2), classes=3, seed=4)
    params["w3"] *= 30                                                  # make the last layer matter
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(2, 1, 4, 4)), np.array([0, 2])
    _, grads = loss_and_grads(params, x, y)
    for name in ("w1", "b1", "w2", "b3"):
        def loss_of(value, name=name):
            return loss_and_grads({**params, name: value}, x, y)[0]
        assert rel_error(grads[name], numerical_gradient(loss_of, params[name].copy())) < 1e-6, name


def test_the_cnn_starts_near_ln_10_and_learns_a_tiny_set():
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(10, 1, 8, 8)), np.arange(10)
    net = NumpyCNN((1, 8, 8), channels=(4, 8), seed=0)
    assert abs(net.loss(x, y) - np.log(10)) < 0.05
    for _ in range(150):
        net.step(x, y, lr=0.5)
    assert net.accuracy(x, y) == 1.0
    with pytest.raises(ValueError, match="divisible by 4"):
        init_params((1, 10, 10))
