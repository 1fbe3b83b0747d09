"""Unit tests of utils.layers.batchnorm against PyTorch in float64 (F.batch_norm, nn.BatchNorm1d/2d running
statistics, autograd, torch.nn.utils.fusion.fuse_conv_bn_weights) and numerical gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.nn.utils.fusion import fuse_conv_bn_weights

from utils.gradcheck import numerical_gradient_array, rel_error
from utils.layers import (batchnorm_backward, batchnorm_eval, batchnorm_forward, conv_forward_fast, fold_into_conv,
                          update_running_stats)

SHAPES = [(2, 3), (5, 4), (7, 1), (2, 3, 4, 5), (3, 2, 3, 1), (1, 2, 3, 4)]


def _t(a, grad=False):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def _params(shape, rng):
    C = shape[1]
    return 2 * rng.normal(size=shape) + 1, rng.normal(size=C) - 0.3, rng.normal(size=C)


@pytest.mark.parametrize("shape", SHAPES)
def test_forward_and_backward_match_autograd(shape):
    rng = np.random.default_rng(sum(shape))
    x, gamma, beta = _params(shape, rng)
    out, cache = batchnorm_forward(x, gamma, beta, 1e-3)
    xt, gt, bt = _t(x, True), _t(gamma, True), _t(beta, True)
    yt = F.batch_norm(xt, None, None, gt, bt, training=True, eps=1e-3)
    np.testing.assert_allclose(out, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(cache["mean"], x.mean(axis=(0,) if x.ndim == 2 else (0, 2, 3)))
    dout = rng.normal(size=shape)
    yt.backward(_t(dout))
    dx, dgamma, dbeta = batchnorm_backward(dout, cache)
    for mine, theirs in ((dx, xt.grad), (dgamma, gt.grad), (dbeta, bt.grad)):
        np.testing.assert_allclose(mine, theirs.numpy(), rtol=1e-8, atol=1e-10)


def test_backward_matches_numerical_gradients():
    rng = np.random.default_rng(3)
    x, gamma, beta = _params((4, 2, 3, 2), rng)
    dout = rng.normal(size=x.shape)
    _, cache = batchnorm_forward(x, gamma, beta)
    dx, dgamma, _ = batchnorm_backward(dout, cache)
    assert rel_error(dx, numerical_gradient_array(lambda z: batchnorm_forward(z, gamma, beta)[0], x, dout)) < 1e-6
    assert rel_error(dgamma, numerical_gradient_array(lambda g: batchnorm_forward(x, g, beta)[0], gamma, dout)) < 1e-6


def test_a_batch_of_one_gives_beta():
    out, _ = batchnorm_forward(np.array([[3.0, -1.0]]), np.array([2.0, 5.0]), np.array([0.5, -0.5]))
    np.testing.assert_allclose(out, [[0.5, -0.5]])


@pytest.mark.parametrize("shape", SHAPES[:5])
def test_eval_matches_torch(shape):
    rng = np.random.default_rng(7)
    x, gamma, beta = _params(shape, rng)
    mean, var = rng.normal(size=shape[1]), rng.random(shape[1]) + 0.1
    expected = F.batch_norm(_t(x), _t(mean), _t(var), _t(gamma), _t(beta), training=False, eps=1e-2).numpy()
    np.testing.assert_allclose(batchnorm_eval(x, mean, var, gamma, beta, 1e-2), expected, rtol=1e-10)


@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
@pytest.mark.parametrize("shape", [(2, 3), (4, 2, 3, 5)])
def test_running_statistics_match_torch(momentum, shape):
    rng = np.random.default_rng(11)
    layer = (torch.nn.BatchNorm1d if len(shape) == 2 else torch.nn.BatchNorm2d)(shape[1], momentum=momentum).double()
    mean, var = np.zeros(shape[1]), np.ones(shape[1])
    for seen in range(4):
        x = rng.normal(size=shape) * 3 + 2
        layer(_t(x))
        mean, var = update_running_stats(mean, var, x, momentum, seen)
    np.testing.assert_allclose(mean, layer.running_mean.numpy(), rtol=1e-10)
    np.testing.assert_allclose(var, layer.running_var.numpy(), rtol=1e-10)


def test_running_statistics_need_two_values():
    with pytest.raises(ValueError):
        update_running_stats(np.zeros(2), np.ones(2), np.ones((1, 2)))


@pytest.mark.parametrize("with_bias", [True, False])
def test_fold_matches_fuse_and_conv_then_bn(with_bias):
    rng = np.random.default_rng(5)
    w, x = rng.normal(size=(3, 2, 3, 2)), rng.normal(size=(2, 2, 6, 5))
    b = rng.normal(size=3) if with_bias else None
    gamma, beta = np.array([1.5, -0.7, 0.3]), rng.normal(size=3)
    mean, var = rng.normal(size=3), rng.random(3) + 0.2
    wf, bf = fold_into_conv(w, b, gamma, beta, mean, var, 1e-3)
    tw, tb = fuse_conv_bn_weights(_t(w), None if b is None else _t(b), _t(mean), _t(var), 1e-3, _t(gamma), _t(beta))
    np.testing.assert_allclose(wf, tw.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(bf, tb.detach().numpy(), rtol=1e-10)
    conv, _ = conv_forward_fast(x, w, np.zeros(3) if b is None else b, 1, 1, 1)
    folded, _ = conv_forward_fast(x, wf, bf, 1, 1, 1)
    np.testing.assert_allclose(folded, batchnorm_eval(conv, mean, var, gamma, beta, 1e-3), rtol=1e-9, atol=1e-12)
