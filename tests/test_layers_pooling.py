"""Unit tests of utils.layers.pooling: naive == fast == torch (float64) for max and average pooling, and the
caches hold what a backward pass needs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from utils.layers import (avg_pool_forward_fast, avg_pool_forward_naive, max_pool_forward_fast,
                          max_pool_forward_naive, pool_geometry)

# (N, C, H, W), kernel_size, stride, padding
CONFIGS = [
    ((1, 1, 4, 4), 2, None, 0),
    ((2, 3, 7, 9), 2, 2, 1),
    ((2, 2, 9, 11), 3, 2, 1),            # overlapping (AlexNet's 3x3, stride 2)
    ((3, 2, 8, 6), (2, 3), (1, 2), (1, 0)),
    ((1, 3, 10, 7), (3, 2), None, (1, 1)),
    ((2, 1, 6, 6), 1, 1, 0),
    ((2, 2, 5, 8), 4, 3, 2),
    ((1, 2, 13, 5), (5, 3), (3, 1), (2, 1)),
]
MAX = [max_pool_forward_naive, max_pool_forward_fast]
AVG = [avg_pool_forward_naive, avg_pool_forward_fast]


def _x(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape) - 0.5     # mostly negative near the border too


def _torch(fn, x, k, s, p, **kwargs):
    return fn(torch.from_numpy(np.asarray(x, dtype=np.float64)), k, s, p, **kwargs).numpy()


@pytest.mark.parametrize("layer", MAX, ids=lambda f: f.__name__)
@pytest.mark.parametrize("config", CONFIGS)
def test_max_pool_matches_torch(layer, config):
    shape, k, s, p = config
    x = _x(shape)
    out, cache = layer(x, k, s, p)
    np.testing.assert_allclose(out, _torch(F.max_pool2d, x, k, s, p), rtol=0, atol=0)
    assert cache["x"] is not None and cache["argmax"].shape == out.shape + (2,)


@pytest.mark.parametrize("layer", AVG, ids=lambda f: f.__name__)
@pytest.mark.parametrize("include", [True, False])
@pytest.mark.parametrize("config", CONFIGS)
def test_avg_pool_matches_torch(layer, include, config):
    shape, k, s, p = config
    x = _x(shape, seed=1)
    out, cache = layer(x, k, s, p, count_include_pad=include)
    np.testing.assert_allclose(out, _torch(F.avg_pool2d, x, k, s, p, count_include_pad=include), rtol=1e-12,
                               atol=1e-12)
    assert cache["divisor"].shape == out.shape[2:] and cache["count_include_pad"] is include


@pytest.mark.parametrize("config", CONFIGS)
def test_argmax_points_at_the_maximum(config):
    shape, k, s, p = config
    x = _x(shape, seed=2)
    out, cache = max_pool_forward_fast(x, k, s, p)
    naive_cache = max_pool_forward_naive(x, k, s, p)[1]
    np.testing.assert_array_equal(cache["argmax"], naive_cache["argmax"])
    rows, cols = cache["argmax"][..., 0], cache["argmax"][..., 1]
    n, c = np.indices(out.shape)[:2]
    assert rows.min() >= 0 and cols.min() >= 0          # a maximum is never a padded pixel
    np.testing.assert_array_equal(x[n, c, rows, cols], out)
    # the same positions as torch's indices (flat index into each (H, W) plane)
    _, indices = F.max_pool2d(torch.from_numpy(x), k, s, p, return_indices=True)
    np.testing.assert_array_equal(rows * shape[3] + cols, indices.numpy())


@pytest.mark.parametrize("layer", MAX + AVG, ids=lambda f: f.__name__)
def test_integer_input_gives_float_output(layer):
    x = np.arange(2 * 3 * 6 * 5).reshape(2, 3, 6, 5) % 7
    out, _ = layer(x, 2, 2, 1)
    assert out.dtype == np.float64
    torch_fn = F.max_pool2d if "max" in layer.__name__ else F.avg_pool2d
    np.testing.assert_allclose(out, _torch(torch_fn, x, 2, 2, 1))


@pytest.mark.parametrize("layer", MAX + AVG, ids=lambda f: f.__name__)
def test_layouts_and_float32(layer):
    x = _x((2, 2, 7, 6), seed=3)
    expected = layer(x, 3, 2, 1)[0]
    wide = np.zeros((2, 2, 7, 12))
    wide[..., ::2] = x
    np.testing.assert_allclose(layer(wide[..., ::2], 3, 2, 1)[0], expected)
    np.testing.assert_allclose(layer(np.asfortranarray(x), 3, 2, 1)[0], expected)
    single = layer(x.astype(np.float32), 3, 2, 1)[0]
    assert single.dtype == np.float32
    np.testing.assert_allclose(single, expected, rtol=1e-6, atol=1e-6)


def test_input_is_not_changed():
    x = _x((2, 2, 6, 6))
    before = x.copy()
    for layer in MAX + AVG:
        layer(x, 2, 2, 1)
    np.testing.assert_array_equal(x, before)


def test_geometry():
    assert pool_geometry((1, 1, 28, 28), 2) == ((2, 2), (2, 2), (0, 0), (14, 14))
    assert pool_geometry((1, 1, 55, 55), 3, 2) == ((3, 3), (2, 2), (0, 0), (27, 27))     # AlexNet
    assert pool_geometry((1, 1, 7, 10), (3, 2), (2, 1), (1, 0)) == ((3, 2), (2, 1), (1, 0), (4, 9))
    with pytest.raises(ValueError, match="at most half"):
        pool_geometry((1, 1, 8, 8), 2, 2, 2)
    with pytest.raises(ValueError, match="does not fit"):
        pool_geometry((1, 1, 2, 8), 5, 1, 1)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        pool_geometry((8, 8), 2)
