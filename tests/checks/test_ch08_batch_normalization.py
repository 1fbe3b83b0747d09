"""Mutation tests of the chapter 08 checks: the solutions pass, "not implemented" is recognised, a partly written
answer fails, and every planted bug is rejected with the hint written for it (eps outside the square root,
statistics per pixel or over the channels, the unbiased variance in the normalization or the biased one at test
time, momentum on the old value, gamma and beta swapped, the backward pass without the paths through mu_B and
sigma_B^2, a fold without the conv bias or the mean, ...)."""

from __future__ import annotations

import numpy as np
import pytest

from utils.checks import FAILED, NOT_ATTEMPTED, PASSED, get_reference, run_check
from tests.checks.mutants import partly_written


def _not_implemented(*args, **kwargs):
    raise NotImplementedError()


# ----------------------------------------------------------------------------- solutions (as a student writes them)
def _bn(x, gamma, beta, eps=1e-5, *, axes=None, ddof=0, eps_outside=False, swap=False, no_eps=False, affine=True):
    x = np.asarray(x, dtype=float)
    if axes is None:
        axes = (0,) if x.ndim == 2 else (0, 2, 3)
    mu = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True, ddof=ddof)
    e = 0.0 if no_eps else eps
    x_hat = (x - mu) / (np.sqrt(var) + e if eps_outside else np.sqrt(var + e))
    shape = (1, -1) if x.ndim == 2 else (1, -1, 1, 1)
    g, b = (beta, gamma) if swap else (gamma, beta)
    if not affine:
        return x_hat
    return np.reshape(g, shape) * x_hat + np.reshape(b, shape)


def batchnorm_forward(x, gamma, beta, eps=1e-5):
    return _bn(x, gamma, beta, eps)


def batchnorm2d_forward(x, gamma, beta, eps=1e-5):
    x = np.asarray(x, dtype=float)
    mu = x.mean(axis=(0, 2, 3), keepdims=True)
    var = ((x - mu) ** 2).mean(axis=(0, 2, 3), keepdims=True)
    return gamma[None, :, None, None] * (x - mu) / np.sqrt(var + eps) + beta[None, :, None, None]


def _backward(dout, x, gamma, eps=1e-5, *, paths=("mu", "var"), x_in_dgamma=False, dbeta_mean=False, ddof=0):
    x = np.asarray(x, dtype=float)
    m = x.shape[0]
    inv = 1 / np.sqrt(x.var(axis=0, ddof=ddof) + eps)
    x_hat = (x - x.mean(axis=0)) * inv
    dbeta = dout.mean(axis=0) if dbeta_mean else dout.sum(axis=0)
    dgamma = (dout * (x if x_in_dgamma else x_hat)).sum(axis=0)
    dx = gamma * inv * dout
    if "mu" in paths:
        dx = dx - gamma * inv * dout.sum(axis=0) / m
    if "var" in paths:
        dx = dx - gamma * inv * x_hat * (dout * x_hat).sum(axis=0) / m
    return dx, dgamma, dbeta


def batchnorm_backward(dout, x, gamma, eps=1e-5):
    return _backward(dout, x, gamma, eps)


def _per_batch(batches, ddof=0, axes=(0, 2, 3)):
    means = np.array([np.asarray(x, dtype=float).mean(axis=axes) for x in batches])
    variances = np.array([np.asarray(x, dtype=float).var(axis=axes, ddof=ddof) for x in batches])
    return means, variances


def _population(batches, *, factor="m", pooled=False):
    N, C, H, W = np.shape(batches[0])
    m = N * H * W
    means, variances = _per_batch(batches)
    if pooled:
        return means.mean(axis=0), np.concatenate([np.asarray(x, float) for x in batches]).var(axis=(0, 2, 3), ddof=1)
    correction = {"m": m / (m - 1), "none": 1.0, "N": N / (N - 1) if N > 1 else m / (m - 1)}[factor]
    return means.mean(axis=0), variances.mean(axis=0) * correction


def population_statistics(batches):
    return _population(batches)


def _running(batches, momentum=0.1, *, on_old=False, ddof=1, start_var=1.0, from_first=False):
    C = np.shape(batches[0])[1]
    mean, var = np.zeros(C), np.full(C, start_var)
    for index, x in enumerate(batches):
        x = np.asarray(x, dtype=float)
        batch_mean, batch_var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3), ddof=ddof)
        if from_first and index == 0:
            mean, var = batch_mean, batch_var
            continue
        new = 1 - momentum if on_old else momentum
        mean, var = (1 - new) * mean + new * batch_mean, (1 - new) * var + new * batch_var
    return mean, var


def running_statistics(batches, momentum=0.1):
    return _running(batches, momentum)


def _eval(x, mean, var, gamma, beta, eps=1e-5, *, eps_outside=False, swap=False, no_sqrt=False, batch_stats=False):
    x = np.asarray(x, dtype=float)
    shape = (1, -1) if x.ndim == 2 else (1, -1, 1, 1)
    if batch_stats:
        axes = (0,) if x.ndim == 2 else (0, 2, 3)
        mean, var = x.mean(axis=axes), x.var(axis=axes)
    r = lambda v: np.reshape(v, shape)  # noqa: E731
    std = r(var) + eps if no_sqrt else (np.sqrt(r(var)) + eps if eps_outside else np.sqrt(r(var) + eps))
    g, b = (beta, gamma) if swap else (gamma, beta)
    return r(g) * (x - r(mean)) / std + r(b)


def batchnorm_eval(x, mean, var, gamma, beta, eps=1e-5):
    return _eval(x, mean, var, gamma, beta, eps)


def _fold(w, b, gamma, beta, mean, var, eps=1e-5, *, bias=True, use_mean=True, scale_bias=True, eps_outside=False,
          axis=0):
    w = np.asarray(w, dtype=float)
    scale = gamma / (np.sqrt(var) + eps if eps_outside else np.sqrt(var + eps))
    shape = [1, 1, 1, 1]
    shape[axis] = -1
    b0 = b if bias else 0.0
    mu = mean if use_mean else 0.0
    b_folded = (b0 - mu) * scale + beta if scale_bias else b0 + beta - mu * scale
    return w * scale.reshape(shape), b_folded


def fold_into_conv(w, b, gamma, beta, mean, var, eps=1e-5):
    return _fold(w, b, gamma, beta, mean, var, eps)


SOLUTIONS = {"bn.forward": batchnorm_forward, "bn.forward_conv": batchnorm2d_forward,
             "bn.backward": batchnorm_backward, "bn.population_stats": population_statistics,
             "bn.running_stats": running_statistics, "bn.eval": batchnorm_eval, "bn.fold": fold_into_conv}


@pytest.mark.parametrize("exercise_id", sorted(SOLUTIONS))
def test_solution_and_reference_pass(exercise_id):
    for answer in (SOLUTIONS[exercise_id], get_reference(exercise_id)):
        result = run_check(exercise_id, answer)
        assert result.status == PASSED, result.message


@pytest.mark.parametrize("exercise_id", sorted(SOLUTIONS))
def test_not_implemented_is_not_attempted(exercise_id):
    assert run_check(exercise_id, _not_implemented).status == NOT_ATTEMPTED


PARTLY = {
    "bn.forward": lambda x, *a, **k: np.shape(x)[0] > 4,
    "bn.forward_conv": lambda x, *a, **k: np.shape(x)[3] != np.shape(x)[2],
    "bn.backward": lambda dout, x, *a, **k: np.shape(x)[1] > 3,
    "bn.population_stats": lambda batches: np.shape(batches[0])[2] > 1,
    "bn.running_stats": lambda batches, momentum=0.1: momentum != 0.1,
    "bn.eval": lambda x, *a, **k: np.ndim(x) == 4,
    "bn.fold": lambda w, *a, **k: w.shape[0] > 3,
}


@pytest.mark.parametrize("exercise_id", sorted(PARTLY))
def test_partly_written_answer_fails(exercise_id):
    result = run_check(exercise_id, partly_written(SOLUTIONS[exercise_id], PARTLY[exercise_id]))
    assert result.status == FAILED and "only partly written" in result.message, result.message


def _fwd(**bug):
    return lambda x, gamma, beta, eps=1e-5: _bn(x, gamma, beta, eps, **bug)


def _int_dtype_forward(x, gamma, beta, eps=1e-5):
    out = np.zeros_like(x)
    out[...] = _bn(x, gamma, beta, eps)
    return out


def _memory_order_forward(x, gamma, beta, eps=1e-5):
    # reads the values in memory order: right for C order, scrambled for a Fortran-ordered input
    x = np.asarray(x)
    return _bn(np.reshape(x.ravel(order="K"), x.shape), gamma, beta, eps)


def _in_place_forward(x, gamma, beta, eps=1e-5):
    x -= x.mean(axis=0)
    return _bn(x, gamma, beta, eps)


MUTANTS = [
    # (exercise id, planted bug, text the verdict must contain)
    ("bn.forward", _fwd(eps_outside=True), "eps goes inside the square root"),
    ("bn.forward", _fwd(ddof=1), "1/m variance"),
    ("bn.forward", _fwd(swap=True), "you swapped them"),
    ("bn.forward", _fwd(no_eps=True), "you forgot eps"),
    ("bn.forward", _fwd(affine=False), "you forgot gamma and beta"),
    ("bn.forward", _fwd(axes=(1,)), "not over the features of one example"),
    ("bn.forward", _fwd(axes=(0, 1)), "not one for the whole array"),
    ("bn.forward", lambda x, g, b, eps=1e-5: _bn(x, g, b, 1e-5), "eps="),
    ("bn.forward", _int_dtype_forward, "integer"),
    ("bn.forward", _memory_order_forward, "Fortran order"),
    ("bn.forward", lambda x, g, b, eps=1e-5: list(_bn(x, g, b, eps)), "Python list"),
    ("bn.forward", _in_place_forward, "in place"),
    ("bn.forward_conv", _fwd(axes=(0,)), "per pixel"),
    ("bn.forward_conv", _fwd(axes=(0, 1, 2, 3)), "pooled the channels together"),
    ("bn.forward_conv", _fwd(axes=(1, 2, 3)), "channels and positions of each image"),
    ("bn.forward_conv", _fwd(axes=(2, 3)), "one image at a time"),
    ("bn.forward_conv", _fwd(axes=(0, 1)), "over the batch and the channels"),
    ("bn.forward_conv", _fwd(eps_outside=True), "eps goes inside the square root"),
    ("bn.forward_conv", _fwd(ddof=1), "1/m variance"),
    ("bn.forward_conv", _fwd(swap=True), "you swapped them"),
    ("bn.backward", lambda d, x, g, eps=1e-5: _backward(d, x, g, eps, paths=()), "You kept only the direct one"),
    ("bn.backward", lambda d, x, g, eps=1e-5: _backward(d, x, g, eps, paths=("var",)), "path through mu_B is missing"),
    ("bn.backward", lambda d, x, g, eps=1e-5: _backward(d, x, g, eps, paths=("mu",)),
     "path through sigma_B^2 is missing"),
    ("bn.backward", lambda d, x, g, eps=1e-5: _backward(d, x, g, 0.0), "keep eps inside the square root"),
    ("bn.backward", lambda d, x, g, eps=1e-5: _backward(d, x, g, eps, ddof=1), "not the unbiased one"),
    ("bn.backward", lambda d, x, g, eps=1e-5: _backward(d, x, g, eps, x_in_dgamma=True), "not by x itself"),
    ("bn.backward", lambda d, x, g, eps=1e-5: _backward(d, x, g, eps, dbeta_mean=True), "do not average it"),
    ("bn.backward", lambda d, x, g, eps=1e-5: _backward(d, x, g, eps)[:2], "expected a tuple (dx, dgamma, dbeta)"),
    ("bn.population_stats", lambda b: _population(b, factor="none"), "needs the factor m/(m-1)"),
    ("bn.population_stats", lambda b: _population(b, factor="N"), "not only the batch size N"),
    ("bn.population_stats", lambda b: _population(b, pooled=True), "pooled together"),
    ("bn.population_stats", lambda b: (np.mean([np.asarray(x, float).mean(axis=0) for x in b], axis=0),
                                       _population(b)[1]), "per channel"),
    ("bn.running_stats", lambda b, momentum=0.1: _running(b, momentum, on_old=True), "momentum on the old value"),
    ("bn.running_stats", lambda b, momentum=0.1: _running(b, momentum, ddof=0), "unbiased batch variance"),
    ("bn.running_stats", lambda b, momentum=0.1: _running(b, momentum, from_first=True), "start at mean 0"),
    ("bn.running_stats", lambda b, momentum=0.1: _running(b, momentum, start_var=0.0), "starts at 1, not 0"),
    ("bn.running_stats", lambda b, momentum=0.1: _running(b, 0.1), "momentum="),
    ("bn.eval", lambda x, mean, var, g, b, eps=1e-5: _eval(x, mean, var, g, b, eps, eps_outside=True), "eps goes inside the square root"),
    ("bn.eval", lambda x, mean, var, g, b, eps=1e-5: _eval(x, mean, var, g, b, eps, swap=True), "you swapped them"),
    ("bn.eval", lambda x, mean, var, g, b, eps=1e-5: _eval(x, mean, var, g, b, eps, no_sqrt=True), "not by the variance"),
    ("bn.eval", lambda x, mean, var, g, b, eps=1e-5: _eval(x, mean, var, g, b, eps, batch_stats=True), "not the statistics of this batch"),
    ("bn.eval", lambda x, mean, var, *a, eps=1e-5: _eval(x, mean, np.sqrt(var), *a, eps=eps), "failed on case"),
    ("bn.fold", lambda w, b, g, beta, mean, var, eps=1e-5: _fold(w, b, g, beta, mean, var, eps, bias=False), "must keep the conv bias"),
    ("bn.fold", lambda w, b, g, beta, mean, var, eps=1e-5: _fold(w, b, g, beta, mean, var, eps, use_mean=False), "forgot the running mean"),
    ("bn.fold", lambda w, b, g, beta, mean, var, eps=1e-5: _fold(w, b, g, beta, mean, var, eps, scale_bias=False), "scale the conv bias too"),
    ("bn.fold", lambda w, b, g, beta, mean, var, eps=1e-5: _fold(w, b, g, beta, mean, var, eps, eps_outside=True), "eps goes inside the square root"),
    ("bn.fold", lambda w, *a: _fold(w, *a, axis=1) if w.shape[0] == w.shape[1] else _fold(w, *a),
     "not input channel k"),
    ("bn.fold", lambda w, b, g, beta, mean, var, eps=1e-5: _fold(w, b, np.abs(g), beta, mean, var, eps),
     "failed on case"),
    ("bn.fold", lambda w, b, g, beta, mean, var, eps=1e-5: _fold(w, b, g, beta, mean, var, eps)[0], "expected a tuple (w_folded, b_folded)"),
]


@pytest.mark.parametrize("mutant", range(len(MUTANTS)), ids=lambda i: f"{MUTANTS[i][0]}-{i}")
def test_planted_bug_is_rejected_with_its_hint(mutant):
    exercise_id, answer, expected_text = MUTANTS[mutant]
    verdict = run_check(exercise_id, answer)
    assert (verdict.status, expected_text in verdict.message) == (FAILED, True), verdict.message


def test_messages_name_the_case_and_show_expected_and_got():
    message = run_check("bn.forward", _fwd(eps_outside=True)).message
    assert "failed on case x (" in message and "expected" in message and "got" in message


def test_a_batch_statistic_answer_for_eval_is_rejected_on_a_single_image():
    # with N = 1 in (N, D), the batch statistics make every output beta: evaluation must not depend on the batch
    result = run_check("bn.eval", lambda x, mean, var, g, b, eps=1e-5: _eval(x, mean, var, g, b, eps, batch_stats=True))
    assert result.status == FAILED


def test_torch_tensor_answers_are_accepted_even_when_they_require_grad():
    import torch

    as_tensor = lambda x, g, b, eps=1e-5: torch.tensor(_bn(x, g, b, eps))  # noqa: E731
    assert run_check("bn.forward", as_tensor).status == PASSED
    needs_grad = lambda x, g, b, eps=1e-5: torch.tensor(_bn(x, g, b, eps), requires_grad=True)  # noqa: E731
    assert run_check("bn.forward", needs_grad).status == PASSED


def test_every_planted_bug_listed_in_the_issue_has_a_mutant():
    hints = " ".join(text for _, _, text in MUTANTS)
    for phrase in ("1/m variance", "needs the factor m/(m-1)", "per pixel", "pooled the channels together",
                   "eps goes inside the square root", "momentum on the old value", "you swapped them",
                   "must keep the conv bias", "forgot the running mean", "You kept only the direct one"):
        assert phrase in hints, phrase
