"""utils.layers.dropout and utils.regularization: exact masks from the seed, the inverted-dropout scaling
PyTorch uses (p there is the probability of dropping), eval mode, gradients, and the max-norm projection."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from utils.gradcheck import numerical_gradient_array, rel_error
from utils.layers import (dropconnect_dense_forward, dropout_backward, dropout_forward, spatial_dropout_backward,
                          spatial_dropout_forward)
from utils.regularization import l2_gradient, max_norm


def test_dropout_mask_comes_from_the_seed_and_kept_values_are_scaled():
    x = np.random.default_rng(0).normal(size=(3, 4, 5))
    out, cache = dropout_forward(x, 0.7, True, np.random.default_rng(1))
    mask = np.random.default_rng(1).random(x.shape) < 0.7
    assert np.array_equal(cache["mask"], mask)
    assert np.allclose(out, x * mask / 0.7)


def test_dropout_matches_torch_conventions():
    keep = 0.6
    out, _ = dropout_forward(np.ones((300, 400)), keep, True, np.random.default_rng(2))
    torch.manual_seed(0)
    reference = F.dropout(torch.ones(300, 400, dtype=torch.float64), p=1 - keep, training=True).numpy()
    assert set(np.unique(out)) == set(np.unique(reference)) == {0.0, 1 / keep}
    assert abs(np.mean(out != 0) - keep) < 0.01 and abs(out.mean() - 1) < 0.02


def test_eval_mode_is_the_identity_and_draws_nothing():
    x = np.arange(12).reshape(3, 4)
    rng = np.random.default_rng(3)
    out, cache = dropout_forward(x, 0.5, False, rng)
    assert out.dtype == np.float64 and np.array_equal(out, x) and cache["mask"] is None
    assert rng.random() == np.random.default_rng(3).random()
    assert np.array_equal(dropout_backward(np.ones((3, 4)), cache), np.ones((3, 4)))


def test_dropout_backward_uses_the_forward_mask():
    x = np.random.default_rng(4).normal(size=(2, 3, 4))
    dout = np.random.default_rng(5).normal(size=x.shape)
    rng_state = np.random.default_rng(6)
    _, cache = dropout_forward(x, 0.5, True, rng_state)
    numeric = numerical_gradient_array(lambda v: v * cache["mask"] / 0.5, x.copy(), dout)
    assert rel_error(dropout_backward(dout, cache), numeric) < 1e-8


@pytest.mark.parametrize("keep", [1.5, 0.0, -0.1])
def test_keep_prob_outside_0_1_is_refused_naming_the_convention(keep):
    with pytest.raises(ValueError, match="probability of keeping"):
        dropout_forward(np.ones(3), keep, True, np.random.default_rng(0))


def test_spatial_dropout_keeps_or_drops_whole_channels_per_example():
    x = np.random.default_rng(7).normal(size=(4, 5, 3, 2))
    out, cache = spatial_dropout_forward(x, 0.5, True, np.random.default_rng(8))
    mask = np.random.default_rng(8).random((4, 5)) < 0.5
    assert np.array_equal(cache["mask"], mask)
    assert np.allclose(out, x * mask[:, :, None, None] / 0.5)
    dx = spatial_dropout_backward(np.ones_like(x), cache)
    assert np.allclose(dx, np.broadcast_to(mask[:, :, None, None] / 0.5, x.shape))
    torch.manual_seed(0)
    t = F.dropout2d(torch.ones(4, 5, 3, 2, dtype=torch.float64), p=0.5, training=True).numpy()
    assert all(len(np.unique(t[n, c])) == 1 for n in range(4) for c in range(5))   # whole channels in torch too


def test_dropconnect_draws_a_mask_per_example_and_keeps_the_expected_output():
    rng = np.random.default_rng(9)
    x, w, b = rng.normal(size=(3, 4)), rng.normal(size=(4, 2)), rng.normal(size=2)
    out, mask = dropconnect_dense_forward(x, w, b, 0.6, np.random.default_rng(10))
    assert mask.shape == (3, 4, 2)
    assert np.array_equal(mask, np.random.default_rng(10).random((3, 4, 2)) < 0.6)
    for n in range(3):
        assert np.allclose(out[n], x[n] @ (w * mask[n]) / 0.6 + b)
    many, _ = dropconnect_dense_forward(np.tile(x[0], (20000, 1)), w, b, 0.6, np.random.default_rng(11))
    assert np.allclose(many.mean(axis=0), x[0] @ w + b, atol=0.05 * (1 + np.abs(x[0] @ w + b).max()))


def test_l2_gradient_is_what_sgd_weight_decay_adds():
    rng = np.random.default_rng(12)
    w, dw = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    p = torch.nn.Parameter(torch.tensor(w))
    p.grad = torch.tensor(dw)
    torch.optim.SGD([p], lr=1.0, weight_decay=0.1).step()
    assert np.allclose(w - p.detach().numpy(), l2_gradient(dw, w, 0.1))


def test_max_norm_projects_each_units_incoming_weights():
    w = np.array([[3.0, 0.1], [4.0, 0.2], [0.0, 0.3]])      # columns: norm 5 and about 0.37
    projected = max_norm(w, 1.0)
    assert np.allclose(projected[:, 0], [0.6, 0.8, 0.0]) and np.allclose(projected[:, 1], w[:, 1])
    assert np.allclose(projected, torch.renorm(torch.tensor(w), 2, 1, 1.0).numpy())
    conv = np.random.default_rng(13).normal(size=(4, 3, 3, 2))
    assert np.allclose(max_norm(conv, 1.5), torch.renorm(torch.tensor(conv), 2, 0, 1.5).numpy())
    assert np.allclose(max_norm(np.zeros((2, 3)), 1.0), 0.0)
