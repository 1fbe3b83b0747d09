"""Unit tests of utils.layers.convolution and utils.shapes: naive == fast == torch, gradients by
finite differences and by autograd."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from utils.gradcheck import numerical_gradient_array, rel_error
from utils.layers import conv_backward_fast, conv_backward_naive, conv_forward_fast, conv_forward_naive, im2col
from utils.shapes import conv_output_size, same_padding

# (N, C, H, W), (K, HH, WW), stride, pad, dilation
CONFIGS = [
    ((1, 1, 5, 5), (1, 3, 3), 1, 0, 1),
    ((2, 3, 7, 9), (4, 3, 3), 2, 1, 1),
    ((3, 2, 8, 6), (2, 2, 3), 1, 2, 1),
    ((2, 2, 9, 11), (3, 3, 2), 3, 1, 2),
    ((1, 3, 10, 7), (2, 3, 3), (2, 1), (1, 0), (1, 2)),
    ((2, 1, 6, 6), (1, 1, 1), 2, 0, 1),
    ((2, 2, 5, 8), (3, 5, 3), 1, 2, 1),
]


def _pair(v):
    return v if isinstance(v, tuple) else (v, v)


def _case(config, seed=0):
    xs, (f, hh, ww), s, p, d = config
    rng = np.random.default_rng(seed)
    x = rng.normal(size=xs)
    w = rng.normal(size=(f, xs[1], hh, ww))
    b = rng.normal(size=f)
    return x, w, b, s, p, d


def _torch_forward(x, w, b, s, p, d):
    return F.conv2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), stride=s, padding=p,
                    dilation=d).numpy()


@pytest.mark.parametrize("config", CONFIGS)
def test_forward_naive_fast_torch_agree(config):
    x, w, b, s, p, d = _case(config)
    expected = _torch_forward(x, w, b, s, p, d)
    naive, _ = conv_forward_naive(x, w, b, s, p, d)
    fast, _ = conv_forward_fast(x, w, b, s, p, d)
    assert naive.shape == fast.shape == expected.shape
    np.testing.assert_allclose(naive, expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(fast, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("config", CONFIGS)
def test_backward_matches_autograd(config):
    x, w, b, s, p, d = _case(config, seed=1)
    out, cache = conv_forward_fast(x, w, b, s, p, d)
    dout = np.random.default_rng(2).normal(size=out.shape)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    F.conv2d(tx, tw, tb, stride=s, padding=p, dilation=d).backward(torch.from_numpy(dout))
    for grads in (conv_backward_fast(dout, cache), conv_backward_naive(dout, cache)):
        for got, ref in zip(grads, (tx.grad, tw.grad, tb.grad)):
            assert got.shape == ref.shape
            np.testing.assert_allclose(got, ref.numpy(), rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("config", CONFIGS[:4])
def test_backward_matches_numerical_gradient(config):
    x, w, b, s, p, d = _case(config, seed=3)
    out, cache = conv_forward_fast(x, w, b, s, p, d)
    dout = np.random.default_rng(4).normal(size=out.shape)
    dx, dw, db = conv_backward_fast(dout, cache)
    assert rel_error(dx, numerical_gradient_array(lambda z: conv_forward_fast(z, w, b, s, p, d)[0], x.copy(), dout)) < 1e-6
    assert rel_error(dw, numerical_gradient_array(lambda z: conv_forward_fast(x, z, b, s, p, d)[0], w.copy(), dout)) < 1e-6
    assert rel_error(db, numerical_gradient_array(lambda z: conv_forward_fast(x, w, z, s, p, d)[0], b.copy(), dout)) < 1e-6


def test_backward_from_naive_cache():
    x, w, b, s, p, d = _case(CONFIGS[3], seed=5)
    out, cache = conv_forward_naive(x, w, b, s, p, d)
    dout = np.ones_like(out)
    _, fast_cache = conv_forward_fast(x, w, b, s, p, d)
    for got, ref in zip(conv_backward_fast(dout, cache), conv_backward_fast(dout, fast_cache)):
        np.testing.assert_allclose(got, ref)


def test_uncovered_rows_get_zero_gradient():
    # H = 8, kernel 3, stride 2, no padding: windows start at rows 0, 2, 4; row 7 is never read
    x = np.ones((1, 1, 8, 8))
    w = np.ones((1, 1, 3, 3))
    out, cache = conv_forward_fast(x, w, np.zeros(1), stride=2)
    assert out.shape == (1, 1, 3, 3)
    dx, _, _ = conv_backward_fast(np.ones_like(out), cache)
    assert np.all(dx[0, 0, 7, :] == 0) and np.all(dx[0, 0, :, 7] == 0)
    assert np.all(dx[0, 0, :7, :7] > 0)


def test_im2col_matches_unfold():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(2, 3, 7, 9))
    cols = im2col(x, (2, 3), stride=2, pad=1, dilation=(1, 2))
    ref = F.unfold(torch.from_numpy(x), (2, 3), dilation=(1, 2), padding=1, stride=2)
    np.testing.assert_array_equal(cols, ref.permute(1, 0, 2).reshape(3 * 2 * 3, -1).numpy())


def test_shapes_validated():
    x, w, b = np.zeros((1, 2, 5, 5)), np.zeros((3, 2, 3, 3)), np.zeros(3)
    with pytest.raises(ValueError, match="channels"):
        conv_forward_fast(np.zeros((1, 3, 5, 5)), w, b)
    with pytest.raises(ValueError, match=r"\(K,\)"):
        conv_forward_fast(x, w, np.zeros(2))
    with pytest.raises(ValueError, match="N, C, H, W"):
        conv_forward_naive(np.zeros((2, 5, 5)), w, b)
    with pytest.raises(ValueError, match="does not fit"):
        conv_forward_fast(x, w, b, dilation=3)
    assert conv_forward_fast(x.astype(np.float32), w.astype(np.float32), b.astype(np.float32))[0].dtype == np.float32


def test_conv_output_size_matches_torch():
    rng = np.random.default_rng(7)
    for _ in range(300):
        n, k, s, p, d = (int(v) for v in (rng.integers(1, 30), rng.integers(1, 6), rng.integers(1, 4),
                                          rng.integers(0, 3), rng.integers(1, 4)))
        if d * (k - 1) + 1 > n + 2 * p:
            with pytest.raises(ValueError):
                conv_output_size(n, k, s, p, d)
            continue
        expected = F.conv1d(torch.zeros(1, 1, n), torch.zeros(1, 1, k), stride=s, padding=p, dilation=d).shape[-1]
        assert conv_output_size(n, k, s, p, d) == expected
    with pytest.raises(TypeError):
        conv_output_size(5.0, 3)


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("k,d", [(1, 1), (2, 1), (3, 1), (4, 1), (5, 2), (2, 3), (4, 2)])
def test_same_padding_matches_torch(k, d):
    before, after = same_padding(k, d)
    x = torch.arange(9.0, dtype=torch.float64).reshape(1, 1, 9)
    w = torch.randn(1, 1, k, dtype=torch.float64)
    expected = F.conv1d(x, w, padding="same", dilation=d)
    got = F.conv1d(F.pad(x, (before, after)), w, dilation=d)
    torch.testing.assert_close(got, expected)
