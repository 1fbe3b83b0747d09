"""Checks for chapter 08 (batch normalization).

References are PyTorch in float64: ``F.batch_norm`` in training mode (forward, and autograd for the backward
pass, itself compared with centred numerical gradients on the first cases), ``nn.BatchNorm2d`` fed a known
sequence of batches (``momentum=None``: the cumulative average, i.e. the seed's inference statistics; a number:
PyTorch's running averages), ``F.batch_norm`` in evaluation mode, and ``F.conv2d`` followed by evaluation-mode
batch normalization and ``torch.nn.utils.fusion.fuse_conv_bn_weights`` for the fold.

Hints for known mistakes (eps outside the square root, statistics over the wrong axes, the unbiased variance
where the 1/m one belongs or the reverse, momentum on the old value, gamma and beta swapped, the backward pass
without the paths through the batch mean and variance, a fold without the conv bias or the mean, ...) are
computed only once an answer is found wrong. The ``@reference`` functions at the end are the workbook's
answers (``utils.layers.batchnorm``), which demonstrations use while an exercise is unanswered.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch.nn.utils.fusion import fuse_conv_bn_weights

from utils.gradcheck import numerical_gradient_array, rel_error
from utils.layers import batchnorm as bn

from .compare import array_variants, assert_array_matches, call, require_callable, require_float, unpack_results
from .core import implemented_by, reference, register

NUMERICAL_CASES = 2   # the first backward cases also compare autograd with numerical gradients


def _t(a, grad: bool = False) -> torch.Tensor:
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


VARIANT_HINTS = {
    "integer": "here the input holds integers: convert first (np.asarray(x, dtype=float)) and never allocate "
               "the result with np.zeros_like(x). ",
    "float32": "this input is float32 (a C-ordered float64 array of the same case passed). ",
    "non-contiguous": "this input is a strided view (a C-ordered float64 array of the same case passed). ",
    "Fortran order": "this input is in Fortran order (a C-ordered float64 array of the same case passed). ",
}


def _matches(got, expected, *, case, what, hint, mistakes=None, variant="float64"):
    assert_array_matches(got, expected, case=case, what=what, hint=VARIANT_HINTS.get(variant, "") + hint,
                         known_mistakes=mistakes)


def _normalize(x, gamma, beta, eps, axes, *, ddof=0, eps_outside=False, swap=False):
    """Training-mode batch normalization over ``axes`` with planted mistakes (for hints)."""
    x = np.asarray(x, dtype=np.float64)
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True, ddof=ddof)
    with np.errstate(divide="ignore", invalid="ignore"):   # eps = 0 on a constant component: not finite, skipped
        x_hat = (x - mean) / (np.sqrt(var) + eps if eps_outside else np.sqrt(var + eps))
    g, b = (beta, gamma) if swap else (gamma, beta)
    shape = (1, -1) if x.ndim == 2 else (1, -1, 1, 1)
    return np.reshape(g, shape) * x_hat + np.reshape(b, shape)


def _try(fn):
    try:
        return fn()
    except (ValueError, ZeroDivisionError, FloatingPointError, IndexError):
        return None


def _forward_mistakes(x, gamma, beta, eps):
    axes = (0,) if x.ndim == 2 else (0, 2, 3)
    m = {
        "eps goes inside the square root: (x - mu) / sqrt(var + eps), not (x - mu) / (sqrt(var) + eps).":
            _normalize(x, gamma, beta, eps, axes, eps_outside=True),
        "normalize with the 1/m variance of the batch (np.var's default, ddof=0), not the unbiased 1/(m-1) one.":
            _try(lambda: _normalize(x, gamma, beta, eps, axes, ddof=1)),
        "gamma scales and beta shifts: y = gamma * x_hat + beta (you swapped them).":
            _normalize(x, gamma, beta, eps, axes, swap=True),
        "you forgot eps: sqrt(var + eps), with the eps given.": _try(lambda: _normalize(x, gamma, beta, 0.0, axes)),
        "you forgot gamma and beta: the output is gamma * x_hat + beta, not x_hat.":
            _normalize(x, np.ones_like(gamma), np.zeros_like(beta), eps, axes),
    }
    if x.ndim == 2:
        m["the statistics of feature d run over the batch (axis 0, N values), not over the features of one "
          "example (axis 1)."] = _normalize(x, gamma, beta, eps, (1,)) if x.shape[1] > 1 else None
        m["each feature gets its own mean and variance (axis=0), not one for the whole array."] = \
            _normalize(x, gamma, beta, eps, (0, 1))
    else:
        per_channel = ("the statistics are per channel, over the batch and every position: "
                       "x.mean(axis=(0, 2, 3)), m = N*H*W values. ")
        m[per_channel + "You computed them per pixel (over N only)."] = \
            _try(lambda: _normalize(x, gamma, beta, eps, (0,))) if x.shape[0] > 1 else None
        m[per_channel + "You pooled the channels together (over every axis)."] = \
            _normalize(x, gamma, beta, eps, (0, 1, 2, 3))
        m[per_channel + "You averaged over the channels and positions of each image (axis=(1, 2, 3))."] = \
            _normalize(x, gamma, beta, eps, (1, 2, 3))
        m[per_channel + "You left out the batch axis (axis=(2, 3): one image at a time)."] = \
            _normalize(x, gamma, beta, eps, (2, 3))
        m[per_channel + "You averaged over the batch and the channels (axis=(0, 1)), per pixel."] = \
            _normalize(x, gamma, beta, eps, (0, 1))
    return m


# ============================================================================================= forward (N, D)
def _dense_cases(seed: int):
    """(x, gamma, beta, eps): features with different means and scales, negative gamma, a constant feature."""
    rng = np.random.default_rng(seed)
    configs = [((2, 3), 0.5), ((2, 1), 1e-5), ((3, 4), 1e-3), ((5, 2), 1.0), ((8, 7), 0.1), ((16, 5), 1e-5),
               ((4, 6), 2.0)]
    for (N, D), eps in configs:
        x = rng.normal(size=(N, D)) * rng.uniform(0.3, 3, size=D) + rng.normal(scale=4, size=D)
        gamma, beta = rng.normal(size=D) + 0.5, rng.normal(size=D)
        yield x, gamma, beta, eps
    x = rng.normal(size=(4, 3))
    x[:, 1] = 2.5                                      # a constant feature: x_hat = 0, y = beta
    yield x, np.array([1.5, -2.0, 0.7]), np.array([0.2, 0.9, -1.1]), 1e-5


def _forward_check(fn, cases, what_x):
    count = 0
    for index, (x, gamma, beta, eps) in enumerate(cases):
        for label, xv in (array_variants(x) if index in (1, 4) else [("float64", x)]):
            case = f"x {x.shape} ({label}), eps={eps:g}"
            got = call(fn, xv, gamma, beta, eps, case=case) if eps != 1e-5 else call(fn, xv, gamma, beta, case=case)
            require_float(got, case=case, what="y")
            expected = F.batch_norm(_t(xv), None, None, _t(gamma), _t(beta), training=True, eps=eps).numpy()
            _matches(got, expected, case=case, what="y", variant=label,
                     hint=f"mu and sigma^2 (the 1/m variance) of each component over {what_x}; "
                          "y = gamma * (x - mu) / sqrt(sigma^2 + eps) + beta.",
                     mistakes=lambda: _forward_mistakes(np.asarray(xv, dtype=np.float64), gamma, beta, eps))
            count += 1
    return count


implemented_by("bn.forward", "utils.layers.batchnorm.batchnorm_forward", "utils.layers.batchnorm.batchnorm_eval")


@register("bn.forward")
def check_forward(answer) -> str:
    fn = require_callable(answer, "batchnorm_forward(x, gamma, beta, eps=1e-5)")
    count = _forward_check(fn, _dense_cases(80), "the batch (axis 0)")
    return f"{count} cases against F.batch_norm (training mode, float64)"


# ============================================================================================= forward (N, C, H, W)
def _conv_cases(seed: int):
    rng = np.random.default_rng(seed)
    configs = [((2, 1, 1, 1), 1e-5), ((2, 3, 2, 2), 0.5), ((1, 2, 3, 4), 1e-3), ((4, 3, 5, 2), 1.0),
               ((3, 4, 2, 5), 0.1), ((2, 2, 4, 3), 1e-5), ((5, 1, 3, 3), 2.0)]
    for (N, C, H, W), eps in configs:
        x = rng.normal(size=(N, C, H, W)) * rng.uniform(0.3, 3, size=(1, C, 1, 1)) \
            + rng.normal(scale=4, size=(1, C, 1, 1)) + rng.normal(scale=1.5, size=(1, 1, H, W))
        gamma, beta = rng.normal(size=C) + 0.5, rng.normal(size=C)
        yield x, gamma, beta, eps


implemented_by("bn.forward_conv", "utils.layers.batchnorm.batchnorm_forward",
               "utils.layers.batchnorm.batchnorm_eval")


@register("bn.forward_conv")
def check_forward_conv(answer) -> str:
    fn = require_callable(answer, "batchnorm2d_forward(x, gamma, beta, eps=1e-5)")
    count = _forward_check(fn, _conv_cases(81), "N*H*W values (axes 0, 2, 3)")
    return f"{count} cases against F.batch_norm on (N, C, H, W) (training mode, float64)"


# ============================================================================================= backward
def _torch_bn_grads(dout, x, gamma, beta, eps):
    xt, gt, bt = _t(x, True), _t(gamma, True), _t(beta, True)
    F.batch_norm(xt, None, None, gt, bt, training=True, eps=eps).backward(_t(dout))
    return xt.grad.numpy(), gt.grad.numpy(), bt.grad.numpy()


def _backward_parts(dout, x, gamma, eps, ddof=0):
    x = np.asarray(x, dtype=np.float64)
    m = x.shape[0]
    mean = x.mean(axis=0)
    inv = 1.0 / np.sqrt(x.var(axis=0, ddof=ddof) + eps)
    x_hat = (x - mean) * inv
    direct = gamma * inv * dout
    through_mu = -gamma * inv * dout.sum(axis=0) / m
    through_var = -gamma * inv * x_hat * (dout * x_hat).sum(axis=0) / m
    return direct, through_mu, through_var, x_hat


def _dx_mistakes(dout, x, gamma, eps):
    direct, mu, var, _ = _backward_parts(dout, x, gamma, eps)
    m = {"dx has three parts: x_i reaches y directly, through mu_B and through sigma_B^2 (both depend on every x "
         "in the batch). You kept only the direct one, gamma * dout / sqrt(var + eps).": direct,
         "the path through mu_B is missing: it adds -gamma / (m sqrt(var + eps)) * sum_i dout_i to every dx.":
             direct + var,
         "the path through sigma_B^2 is missing: it adds -gamma x_hat_i / (m sqrt(var + eps)) * sum_j dout_j "
         "x_hat_j.": direct + mu,
         "the forward pass divides by sqrt(var + eps): keep eps inside the square root in the backward pass too.":
             sum(_backward_parts(dout, x, gamma, 0.0)[:3]) if eps > 1e-4 else None}
    if x.shape[0] > 1:
        m["use the 1/m variance of the forward pass, not the unbiased one."] = \
            sum(_backward_parts(dout, x, gamma, eps, ddof=1)[:3])
    return m


def _backward_cases(seed: int):
    rng = np.random.default_rng(seed)
    for (N, D), eps in [((3, 2), 0.5), ((2, 1), 1e-5), ((2, 3), 1e-3), ((6, 4), 1.0), ((10, 3), 1e-5),
                        ((5, 7), 0.1)]:
        x = rng.normal(size=(N, D)) * rng.uniform(0.5, 2, size=D) + rng.normal(scale=3, size=D)
        yield x, rng.normal(size=D) - 0.2, rng.normal(size=D), eps, rng.normal(size=(N, D))


implemented_by("bn.backward", "utils.checks.ch08_batch_normalization._torch_bn_grads",
               "utils.layers.batchnorm.batchnorm_backward")


@register("bn.backward")
def check_backward(answer) -> str:
    fn = require_callable(answer, "batchnorm_backward(dout, x, gamma, eps=1e-5)")
    count = 0
    for index, (x, gamma, beta, eps, dout) in enumerate(_backward_cases(82)):
        for label, xv in (array_variants(x) if index in (1, 3) else [("float64", x)]):
            case = f"x {x.shape} ({label}), eps={eps:g}"
            got = unpack_results(call(fn, dout, xv, gamma, eps, case=case), ("dx", "dgamma", "dbeta"),
                                 case=case)
            dx_ref, dgamma_ref, dbeta_ref = _torch_bn_grads(dout, xv, gamma, beta, eps)
            if index < NUMERICAL_CASES and label == "float64":
                numeric = numerical_gradient_array(
                    lambda z: bn.batchnorm_forward(z, gamma, beta, eps)[0], np.array(x, dtype=np.float64), dout)
                if rel_error(dx_ref, numeric) > 1e-5:   # pragma: no cover - the reference would be wrong
                    raise RuntimeError(f"autograd and numerical gradients of dx disagree on {case}")
            for value in got:
                require_float(value, case=case, what="each gradient")
            x_hat = _backward_parts(dout, xv, gamma, eps)[3]
            _matches(got[2], dbeta_ref, case=case, what="dbeta", variant=label,
                     hint="dbeta = sum over the batch of dout, shape (D,).",
                     mistakes={"sum dbeta over the batch; do not average it.": dout.mean(axis=0)})
            _matches(got[1], dgamma_ref, case=case, what="dgamma", variant=label,
                     hint="dgamma = sum over the batch of dout * x_hat, shape (D,).",
                     mistakes=lambda: {"dgamma multiplies dout by the normalized x_hat, not by x itself.":
                                       (dout * np.asarray(xv, dtype=float)).sum(axis=0),
                                       "x_hat is normalized with the 1/m variance of the forward pass, not the "
                                       "unbiased one.": _try(lambda: (dout * _backward_parts(dout, xv, gamma, eps,
                                                                                           ddof=1)[3]).sum(axis=0)),
                                       "the forward pass divides by sqrt(var + eps): keep eps inside the square "
                                       "root in the backward pass too.":
                                           (dout * _backward_parts(dout, xv, gamma, 0.0)[3]).sum(axis=0),
                                       "sum dgamma over the batch; do not average it.": (dout * x_hat).mean(axis=0)})
            _matches(got[0], dx_ref, case=case, what="dx", variant=label,
                     hint="dx = gamma / (m sqrt(var + eps)) * (m dout - sum(dout) - x_hat * sum(dout * x_hat)), "
                          "sums over the batch.",
                     mistakes=lambda: _dx_mistakes(dout, xv, gamma, eps))
            count += 1
    return f"{count} cases against autograd, the first {NUMERICAL_CASES} also against numerical gradients"


# ============================================================================================= inference statistics
def _batch_sequences(seed: int):
    """(batches, momentum): lists of equally shaped (N, C, H, W) batches; m = 2 first (a factor of 2)."""
    rng = np.random.default_rng(seed)
    for count, shape, momentum in [(4, (2, 1, 1, 1), 0.1), (3, (2, 3, 1, 1), 0.5), (5, (1, 2, 3, 4), 0.1),
                                   (3, (4, 3, 2, 5), 0.3), (6, (3, 2, 2, 2), 0.1), (2, (2, 4, 3, 1), 1.0)]:
        C = shape[1]
        batches = rng.normal(size=(count,) + shape) * rng.uniform(0.5, 3, size=(1, 1, C, 1, 1)) \
            + rng.normal(scale=3, size=(1, 1, C, 1, 1)) + rng.normal(size=(count, 1, C, 1, 1))
        yield batches, momentum


def _variant_batches(batches):
    """array_variants of the stacked batches, each as a list of batches."""
    return [(label, list(v)) for label, v in array_variants(batches)]


def _torch_running(batches, momentum):
    layer = torch.nn.BatchNorm2d(batches[0].shape[1], momentum=momentum).double()
    with torch.no_grad():
        for x in batches:
            layer(_t(x))
    return layer.running_mean.numpy().copy(), layer.running_var.numpy().copy()


def _stats(batches, ddof=0, axes=(0, 2, 3)):
    means = np.array([np.asarray(x, dtype=float).mean(axis=axes) for x in batches])
    variances = np.array([np.asarray(x, dtype=float).var(axis=axes, ddof=ddof) for x in batches])
    return means, variances


def _population_mistakes(batches):
    N, C, H, W = batches[0].shape
    m = N * H * W
    means, biased = _stats(batches)
    pooled = np.concatenate([np.asarray(x, dtype=float) for x in batches])
    out = {"the variance estimate needs the factor m/(m-1) (here m = N*H*W = %d): the mean of the 1/m batch "
           "variances is biased low by (m-1)/m." % m: biased.mean(axis=0)}
    if H * W > 1 and N > 1:
        out["m counts every value a channel's statistics were computed from, m = N*H*W, not only the batch size N."] = \
            biased.mean(axis=0) * N / (N - 1)
    out["average the statistics of each batch (E[sigma_B^2] over the minibatches); the variance of all batches "
        "pooled together also counts how much the batch means differ."] = pooled.var(axis=(0, 2, 3), ddof=1)
    return out


implemented_by("bn.population_stats", "utils.checks.ch08_batch_normalization._stats")


@register("bn.population_stats")
def check_population_stats(answer) -> str:
    fn = require_callable(answer, "population_statistics(batches)")
    count = 0
    for index, (batches, _) in enumerate(_batch_sequences(83)):
        for label, listed in (_variant_batches(batches) if index in (1, 3) else [("float64", list(batches))]):
            case = f"{len(listed)} batches of shape {batches.shape[1:]} ({label}), m = N*H*W = " \
                   f"{batches.shape[1] * batches.shape[3] * batches.shape[4]}"
            got = unpack_results(call(fn, listed, case=case), ("mu_bar", "var_bar"), case=case)
            mean_ref, var_ref = _torch_running(listed, None)   # momentum=None: the average over the batches
            _matches(got[0], mean_ref, case=case, what="mu_bar", variant=label,
                     hint="mu_bar[c] = the mean over the batches of mu_B[c], the mean over axes (0, 2, 3).",
                     mistakes={"per channel: average over axes (0, 2, 3) of each batch, shape (C,).":
                               _try(lambda: np.mean([np.asarray(x, dtype=float).mean(axis=0) for x in listed],
                                                    axis=0))})
            _matches(got[1], var_ref, case=case, what="var_bar", variant=label,
                     hint="var_bar = m/(m-1) * (the mean over the batches of sigma_B^2), m = N*H*W.",
                     mistakes=lambda: _population_mistakes(listed))
            count += 1
    return f"{count} sequences of batches against nn.BatchNorm2d(momentum=None) (float64)"


def _running_mistakes(batches, momentum):
    means, biased = _stats(batches)
    N, C, H, W = batches[0].shape
    m = N * H * W
    unbiased = biased * m / (m - 1)

    def ema(values, start, weight_new):
        value = np.full(C, float(start)) if start is not None else values[0]
        for v in (values if start is not None else values[1:]):
            value = (1 - weight_new) * value + weight_new * v
        return value

    return {
        "momentum weighs the NEW batch in PyTorch: running = (1 - momentum) * running + momentum * batch value "
        "(you put momentum on the old value).": (ema(means, 0.0, 1 - momentum), ema(unbiased, 1.0, 1 - momentum)),
        "the running variance is updated with the unbiased batch variance, m/(m-1) * sigma_B^2 (m = N*H*W); "
        "only the normalization itself uses the 1/m one.": (ema(means, 0.0, momentum), ema(biased, 1.0, momentum)),
        "the running statistics start at mean 0 and variance 1 (nn.BatchNorm2d's initial values), before the "
        "first batch.": (ema(means, None, momentum), ema(unbiased, None, momentum)),
        "the running variance starts at 1, not 0.": (ema(means, 0.0, momentum), ema(unbiased, 0.0, momentum)),
    }


implemented_by("bn.running_stats", "utils.checks.ch08_batch_normalization._torch_running",
               "utils.checks.ch08_batch_normalization._stats", "utils.layers.batchnorm.update_running_stats")


@register("bn.running_stats")
def check_running_stats(answer) -> str:
    fn = require_callable(answer, "running_statistics(batches, momentum=0.1)")
    count = 0
    for index, (batches, momentum) in enumerate(_batch_sequences(84)):
        for label, listed in (_variant_batches(batches) if index in (1, 3) else [("float64", list(batches))]):
            case = f"{len(listed)} batches of shape {batches.shape[1:]} ({label}), momentum={momentum}"
            got = unpack_results(call(fn, listed, momentum, case=case) if index else call(fn, listed, case=case),
                                 ("running_mean", "running_var"), case=case)
            mean_ref, var_ref = _torch_running(listed, momentum)
            mistakes = _running_mistakes(listed, momentum)
            _matches(got[0], mean_ref, case=case, what="running_mean", variant=label,
                     hint="start at 0; after each batch: running_mean = (1 - momentum) * running_mean + "
                          "momentum * mu_B.",
                     mistakes={k: v[0] for k, v in mistakes.items()})
            _matches(got[1], var_ref, case=case, what="running_var", variant=label,
                     hint="start at 1; after each batch: running_var = (1 - momentum) * running_var + momentum * "
                          "m/(m-1) * sigma_B^2.",
                     mistakes={k: v[1] for k, v in mistakes.items()})
            count += 1
    return f"{count} sequences of batches against nn.BatchNorm2d's running statistics (float64)"


# ============================================================================================= evaluation mode
def _eval_cases(seed: int):
    rng = np.random.default_rng(seed)
    for shape, eps in [((2, 3), 1e-5), ((4, 2), 0.5), ((3, 3, 2, 4), 1.0), ((2, 4, 3, 3), 1e-3),
                       ((1, 2, 5, 2), 0.1), ((5, 1), 2.0), ((2, 2, 1, 3), 1e-5)]:
        C = shape[1]
        x = rng.normal(size=shape) * 2 + 1
        mean, var = rng.normal(size=C), rng.uniform(0.05, 3, size=C)
        yield x, mean, var, rng.normal(size=C) - 0.2, rng.normal(size=C), eps


def _eval_mistakes(x, mean, var, gamma, beta, eps):
    x = np.asarray(x, dtype=np.float64)
    shape = (1, -1) if x.ndim == 2 else (1, -1, 1, 1)
    r = lambda v: np.reshape(v, shape)  # noqa: E731
    out = {
        "eps goes inside the square root: gamma (x - mean) / sqrt(var + eps) + beta.":
            r(gamma) * (x - r(mean)) / (np.sqrt(r(var)) + eps) + r(beta),
        "gamma scales and beta shifts (you swapped them).": r(beta) * (x - r(mean)) / np.sqrt(r(var) + eps) + r(gamma),
        "divide by the standard deviation sqrt(var + eps), not by the variance.":
            r(gamma) * (x - r(mean)) / (r(var) + eps) + r(beta),
        "evaluation mode uses the mean and var given (the running statistics), not the statistics of this batch.":
            _try(lambda: _normalize(x, gamma, beta, eps, (0,) if x.ndim == 2 else (0, 2, 3))),
    }
    return out


implemented_by("bn.eval", "utils.layers.batchnorm.batchnorm_eval")


@register("bn.eval")
def check_eval(answer) -> str:
    fn = require_callable(answer, "batchnorm_eval(x, mean, var, gamma, beta, eps=1e-5)")
    count = 0
    for index, (x, mean, var, gamma, beta, eps) in enumerate(_eval_cases(85)):
        for label, xv in (array_variants(x) if index in (1, 3) else [("float64", x)]):
            case = f"x {x.shape} ({label}), eps={eps:g}"
            got = call(fn, xv, mean, var, gamma, beta, eps, case=case) if eps != 1e-5 else \
                call(fn, xv, mean, var, gamma, beta, case=case)
            require_float(got, case=case, what="y")
            expected = F.batch_norm(_t(xv), _t(mean), _t(var), _t(gamma), _t(beta), training=False, eps=eps).numpy()
            _matches(got, expected, case=case, what="y", variant=label,
                     hint="y = gamma / sqrt(var + eps) * (x - mean) + beta, one value of each per component (axis 1).",
                     mistakes=lambda: _eval_mistakes(xv, mean, var, gamma, beta, eps))
            count += 1
    return f"{count} cases against F.batch_norm (evaluation mode, float64)"


# ============================================================================================= fold into a conv
def _fold_cases(seed: int):
    rng = np.random.default_rng(seed)
    for ws, xs, eps, pad in [((2, 1, 3, 3), (1, 1, 6, 6), 1e-5, 1), ((3, 2, 3, 2), (2, 2, 5, 7), 0.5, 0),
                             ((4, 3, 1, 1), (2, 3, 4, 3), 1e-3, 0), ((3, 3, 2, 3), (1, 3, 6, 5), 1.0, 1),
                             ((5, 2, 3, 3), (2, 2, 7, 4), 0.1, 1), ((1, 4, 2, 2), (3, 4, 3, 5), 1e-5, 0)]:
        K = ws[0]
        gamma = rng.normal(size=K)
        gamma[0] = -abs(gamma[0]) - 0.5                   # a negative gamma in every case
        yield (rng.normal(size=ws), rng.normal(size=K) + 0.5, gamma, rng.normal(size=K), rng.normal(size=K) * 2,
               rng.uniform(0.1, 3, size=K), eps, rng.normal(size=xs), pad)


def _fold_mistakes(w, b, gamma, beta, mean, var, eps):
    w = np.asarray(w, dtype=np.float64)
    scale = gamma / np.sqrt(var + eps)
    right_w = w * scale[:, None, None, None]
    out = {
        "the fold must keep the conv bias: b' = (b - mean) * gamma / sqrt(var + eps) + beta.":
            (right_w, beta - mean * scale),
        "the fold forgot the running mean: b' = (b - mean) * gamma / sqrt(var + eps) + beta.": (right_w, b * scale + beta),
        "scale the conv bias too: b' = (b - mean) * scale + beta, not b + beta - mean * scale.":
            (right_w, b + beta - mean * scale),
        "eps goes inside the square root: scale = gamma / sqrt(var + eps).":
            (w * (gamma / (np.sqrt(var) + eps))[:, None, None, None], (b - mean) * gamma / (np.sqrt(var) + eps) + beta),
        "divide by the standard deviation sqrt(var + eps), not by the variance.":
            (w * (gamma / (var + eps))[:, None, None, None], (b - mean) * gamma / (var + eps) + beta),
    }
    if w.shape[0] == w.shape[1]:
        out["the scale of output channel k multiplies filter w[k] (axis 0 of w), not input channel k (axis 1)."] = \
            (w * scale[None, :, None, None], (b - mean) * scale + beta)
    return out


implemented_by("bn.fold", "utils.layers.batchnorm.fold_into_conv")


@register("bn.fold")
def check_fold(answer) -> str:
    fn = require_callable(answer, "fold_into_conv(w, b, gamma, beta, mean, var, eps=1e-5)")
    count = 0
    for index, (w, b, gamma, beta, mean, var, eps, x, pad) in enumerate(_fold_cases(86)):
        for label, wv in (array_variants(w) if index in (1, 3) else [("float64", w)]):
            case = f"w {w.shape} ({label}), K={w.shape[0]}, gamma[0]={gamma[0]:.2f}, eps={eps:g}"
            args = (wv, b, gamma, beta, mean, var)
            got = unpack_results(call(fn, *args, eps, case=case) if eps != 1e-5 else call(fn, *args, case=case),
                                 ("w_folded", "b_folded"), case=case)
            for value in got:
                require_float(value, case=case, what="w_folded and b_folded")
            w_ref, b_ref = (t.detach().numpy() for t in fuse_conv_bn_weights(
                _t(wv), _t(b), _t(mean), _t(var), eps, _t(gamma), _t(beta)))
            mistakes = _fold_mistakes(wv, b, gamma, beta, mean, var, eps)
            # first the property that matters: the folded conv computes conv + BN (eval) on an input
            expected_y = F.batch_norm(F.conv2d(_t(x), _t(wv), _t(b), padding=pad), _t(mean), _t(var), _t(gamma),
                                      _t(beta), training=False, eps=eps).numpy()
            got_w, got_b = (np.asarray(v.detach().numpy() if isinstance(v, torch.Tensor) else v, dtype=np.float64)
                            for v in got)
            if got_w.shape == w.shape and got_b.shape == b.shape:
                y = F.conv2d(_t(x), _t(got_w), _t(got_b), padding=pad).numpy()
                _matches(y, expected_y, case=case + f", conv on x {x.shape} with padding {pad}",
                         what="conv(x, w_folded, b_folded)", variant=label,
                         hint="conv(x, w', b') must equal BN_eval(conv(x, w, b)): w'[k] = w[k] * s_k and "
                              "b'_k = (b_k - mean_k) s_k + beta_k with s_k = gamma_k / sqrt(var_k + eps).",
                         mistakes=lambda: {k: F.conv2d(_t(x), _t(v[0]), _t(v[1]), padding=pad).numpy()
                                           for k, v in mistakes.items()})
            _matches(got[0], w_ref, case=case, what="w_folded", variant=label,
                     hint="w'[k] = w[k] * gamma_k / sqrt(var_k + eps), shape (K, C, F_h, F_w).",
                     mistakes={k: v[0] for k, v in mistakes.items()})
            _matches(got[1], b_ref, case=case, what="b_folded", variant=label,
                     hint="b'_k = (b_k - mean_k) * gamma_k / sqrt(var_k + eps) + beta_k, shape (K,).",
                     mistakes={k: v[1] for k, v in mistakes.items()})
            count += 1
    return f"{count} cases against fuse_conv_bn_weights and conv + BN in evaluation mode (float64)"


# ============================================================================================= references
@reference("bn.forward")
def batchnorm_forward(x, gamma, beta, eps=1e-5):
    return bn.batchnorm_forward(x, gamma, beta, eps)[0]


@reference("bn.forward_conv")
def batchnorm2d_forward(x, gamma, beta, eps=1e-5):
    return bn.batchnorm_forward(x, gamma, beta, eps)[0]


@reference("bn.backward")
def batchnorm_backward(dout, x, gamma, eps=1e-5):
    _, cache = bn.batchnorm_forward(x, gamma, np.zeros(np.shape(x)[1]), eps)
    return bn.batchnorm_backward(dout, cache)


@reference("bn.population_stats")
def population_statistics(batches):
    means, variances = _stats(batches)
    N, C, H, W = np.shape(batches[0])
    m = N * H * W
    return means.mean(axis=0), variances.mean(axis=0) * m / (m - 1)


@reference("bn.running_stats")
def running_statistics(batches, momentum=0.1):
    C = np.shape(batches[0])[1]
    mean, var = np.zeros(C), np.ones(C)
    for x in batches:
        mean, var = bn.update_running_stats(mean, var, x, momentum)
    return mean, var


@reference("bn.eval")
def batchnorm_eval(x, mean, var, gamma, beta, eps=1e-5):
    return bn.batchnorm_eval(x, mean, var, gamma, beta, eps)


@reference("bn.fold")
def fold_into_conv(w, b, gamma, beta, mean, var, eps=1e-5):
    return bn.fold_into_conv(w, b, gamma, beta, mean, var, eps)
