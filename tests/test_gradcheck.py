"""Numerical gradients and rel_error."""

import numpy as np
import pytest

from utils.gradcheck import numerical_gradient, numerical_gradient_array, rel_error


def test_rel_error_is_zero_for_equal_and_large_for_different():
    a = np.array([1.0, -2.0, 3.0])
    assert rel_error(a, a) == 0.0
    assert rel_error(a, -a) == pytest.approx(1.0)
    assert rel_error(a, a * (1 + 1e-9)) < 1e-8


def test_rel_error_shape_mismatch():
    with pytest.raises(ValueError, match="one shape"):
        rel_error(np.zeros(2), np.zeros(3))


def test_numerical_gradient_of_a_quadratic():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(4, 4))
    x = rng.normal(size=4)
    grad = numerical_gradient(lambda v: float(v @ A @ v), x.copy())
    assert rel_error(grad, (A + A.T) @ x) < 1e-7


def test_numerical_gradient_restores_its_input():
    x = np.array([1.0, 2.0, 3.0])
    numerical_gradient(lambda v: float(np.sum(v ** 3)), x)
    assert x.tolist() == [1.0, 2.0, 3.0]


def test_numerical_gradient_array_matches_a_layer_backward():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 3))
    W = rng.normal(size=(3, 5))
    dout = rng.normal(size=(2, 5))
    dx = numerical_gradient_array(lambda z: z @ W, x, dout)
    assert rel_error(dx, dout @ W.T) < 1e-7


def test_float32_input_is_refused():
    with pytest.raises(TypeError, match="float64"):
        numerical_gradient(lambda v: float(v.sum()), np.zeros(3, dtype=np.float32))
