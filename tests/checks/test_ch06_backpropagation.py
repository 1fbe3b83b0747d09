"""Mutation tests of the chapter 06 checks: the solutions pass, "not implemented" is recognised, and every
planted bug is rejected with the hint written for it (``=`` instead of ``+=`` where windows overlap, the stride
forgotten in dx or dW, a missing or doubled kernel flip, the gradient sent to every tied maximum, db not
summed over the batch, the padding not cropped, a softmax gradient without 1/N, ...)."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from utils.checks import FAILED, NOT_ATTEMPTED, PASSED, get_reference, run_check, yours_or_reference
from utils.checks.ch06_backpropagation import _tap_assign_dx
from utils.layers import conv_forward_fast, max_pool_forward_fast
from tests.checks.mutants import assert_rejected, partly_written

PARAMS = ("w1", "b1", "w2", "b2", "w3", "b3")


def _not_implemented(*args, **kwargs):
    raise NotImplementedError()


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


# ----------------------------------------------------------------------------- solutions (as a student writes them)
def _conv_grads(dout, x, w, stride=1, pad=0, dilation=1, *, assign_dx=False, assign_dw=False, stride_dx=True,
                stride_dw=True, flip_dx=False, crop=True, db="sum", dw_batch="sum", dilate=True):
    """The position loop of the exercise; the keywords plant one bug each."""
    S, P = stride, pad
    D = dilation if dilate else 1
    N, C, H, W = x.shape
    K, _, Fh, Fw = w.shape
    Ho, Wo = dout.shape[2:]
    xp = np.pad(np.asarray(x, dtype=float), ((0, 0), (0, 0), (P, P), (P, P)))
    dxp, dw = np.zeros(xp.shape), np.zeros(w.shape)
    wk = w[:, :, ::-1, ::-1] if flip_dx else w
    images = slice(0, 1) if dw_batch == "first" else slice(None)
    for i in range(Ho):
        for j in range(Wo):
            t, l = (i * S, j * S) if stride_dx else (i, j)
            rows, cols = slice(t, t + D * (Fh - 1) + 1, D), slice(l, l + D * (Fw - 1) + 1, D)
            contribution = np.tensordot(dout[:, :, i, j], wk, axes=(1, 0))
            if assign_dx:
                dxp[:, :, rows, cols] = contribution
            else:
                dxp[:, :, rows, cols] += contribution
            t, l = (i * S, j * S) if stride_dw else (i, j)
            rows, cols = slice(t, t + D * (Fh - 1) + 1, D), slice(l, l + D * (Fw - 1) + 1, D)
            part = np.tensordot(dout[images, :, i, j], xp[images, :, rows, cols], axes=(0, 0))
            dw = part if assign_dw else dw + part
    if dw_batch == "mean":
        dw = dw / N
    db_value = {"sum": lambda: dout.sum(axis=(0, 2, 3)), "per image": lambda: dout.sum(axis=(2, 3)),
                "first": lambda: dout[0].sum(axis=(1, 2)), "mean": lambda: dout.sum(axis=(0, 2, 3)) / N,
                "positions only": lambda: dout.sum(axis=0)}[db]()
    return (dxp[:, :, P:P + H, P:P + W] if crop else dxp), dw, db_value


def conv_backward(dout, x, w, stride=1, pad=0, dilation=1):
    return _conv_grads(dout, x, w, stride, pad, dilation)


def _dx_transposed(dout, w, x_shape, stride=1, pad=0, dilation=1, *, flips=1, dilate=True, crop=True,
                   full_pad_dilated=True, fill=True, swap=True):
    S, P, D = stride, pad, dilation
    N, C, H, W = x_shape
    K, _, Fh, Fw = w.shape
    if dilate:
        dd = np.zeros((N, K, (dout.shape[2] - 1) * S + 1, (dout.shape[3] - 1) * S + 1))
        dd[:, :, ::S, ::S] = dout
    else:
        dd = dout
    wt = w.transpose(1, 0, 2, 3) if swap else w
    for _ in range(flips):
        wt = wt[:, :, ::-1, ::-1]
    full_pad = (D * (Fh - 1), D * (Fw - 1)) if full_pad_dilated else (Fh - 1, Fw - 1)
    full, _ = conv_forward_fast(dd, np.ascontiguousarray(wt), np.zeros(wt.shape[0]), 1, full_pad, D)
    if fill:
        dxp = np.zeros((N, C, H + 2 * P, W + 2 * P))
        dxp[:, :, :full.shape[2], :full.shape[3]] = full
    else:
        dxp = full
    return dxp[:, :, P:P + H, P:P + W] if crop else dxp


def dx_by_transposed_conv(dout, w, x_shape, stride=1, pad=0, dilation=1):
    return _dx_transposed(dout, w, x_shape, stride, pad, dilation)


def _max_back(dout, x, kernel_size, stride=None, padding=0, *, ties="first", assign=False, use_stride=True,
              crop=True):
    (Fh, Fw), (Ph, Pw) = _pair(kernel_size), _pair(padding)
    Sh, Sw = (Fh, Fw) if stride is None else _pair(stride)
    if not use_stride:
        Sh, Sw = 1, 1
    N, C, H, W = x.shape
    xp = np.pad(np.asarray(x, dtype=float), ((0, 0), (0, 0), (Ph, Ph), (Pw, Pw)), constant_values=-np.inf)
    dxp = np.zeros(xp.shape)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            rows, cols = slice(i * Sh, i * Sh + Fh), slice(j * Sw, j * Sw + Fw)
            window = xp[:, :, rows, cols].reshape(N, C, -1)
            if ties == "first":
                mask = np.arange(Fh * Fw) == window.argmax(axis=2)[..., None]
            elif ties == "last":
                mask = np.arange(Fh * Fw) == (Fh * Fw - 1 - window[:, :, ::-1].argmax(axis=2))[..., None]
            elif ties == "all":
                mask = window == window.max(axis=2, keepdims=True)
            else:   # "window": every input of the window gets the gradient
                mask = np.ones_like(window, dtype=bool)
            contribution = (dout[:, :, i, j, None] * mask).reshape(N, C, Fh, Fw)
            if assign:
                dxp[:, :, rows, cols] = contribution
            else:
                dxp[:, :, rows, cols] += contribution
    return dxp[:, :, Ph:Ph + H, Pw:Pw + W] if crop else dxp


def max_pool_backward(dout, x, kernel_size, stride=None, padding=0):
    return _max_back(dout, x, kernel_size, stride, padding)


def max_pool_backward_windows(dout, x, kernel_size, stride=None, padding=0):
    """The same answer vectorised with sliding_window_view and a loop over the window's taps."""
    (Fh, Fw), (Ph, Pw) = _pair(kernel_size), _pair(padding)
    Sh, Sw = (Fh, Fw) if stride is None else _pair(stride)
    N, C, H, W = x.shape
    Ho, Wo = dout.shape[2:]
    xp = np.pad(np.asarray(x, dtype=float), ((0, 0), (0, 0), (Ph, Ph), (Pw, Pw)), constant_values=-np.inf)
    first = sliding_window_view(xp, (Fh, Fw), axis=(2, 3))[:, :, ::Sh, ::Sw][:, :, :Ho, :Wo]
    first = first.reshape(N, C, Ho, Wo, -1).argmax(axis=-1)
    dxp = np.zeros(xp.shape)
    for p in range(Fh):
        for q in range(Fw):
            dxp[:, :, p:p + Sh * (Ho - 1) + 1:Sh, q:q + Sw * (Wo - 1) + 1:Sw] += dout * (first == p * Fw + q)
    return dxp[:, :, Ph:Ph + H, Pw:Pw + W]


def _avg_back(dout, x_shape, kernel_size, stride=None, padding=0, *, assign=False, divide="window",
              use_stride=True, crop=True):
    (Fh, Fw), (Ph, Pw) = _pair(kernel_size), _pair(padding)
    Sh, Sw = (Fh, Fw) if stride is None else _pair(stride)
    if not use_stride:
        Sh, Sw = 1, 1
    N, C, H, W = x_shape
    dxp = np.zeros((N, C, H + 2 * Ph, W + 2 * Pw))
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            rows, cols = slice(i * Sh, i * Sh + Fh), slice(j * Sw, j * Sw + Fw)
            if divide == "real":
                real = (min(i * Sh - Ph + Fh, H) - max(i * Sh - Ph, 0)) * (min(j * Sw - Pw + Fw, W) - max(j * Sw - Pw, 0))
            divisor = {"window": Fh * Fw, "none": 1, "side": Fh, "real": None}[divide] or real
            share = np.broadcast_to((dout[:, :, i, j] / divisor)[:, :, None, None], (N, C, Fh, Fw))
            if assign:
                dxp[:, :, rows, cols] = share
            else:
                dxp[:, :, rows, cols] += share
    return dxp[:, :, Ph:Ph + H, Pw:Pw + W] if crop else dxp


def avg_pool_backward(dout, x_shape, kernel_size, stride=None, padding=0):
    return _avg_back(dout, x_shape, kernel_size, stride, padding)


def relu_backward(dout, x):
    return dout * (x > 0)


def _softmax_ce(scores, labels, *, mean_grad=True, mean_loss=True, shift=True, minus_one=True, sign=1):
    scores = np.asarray(scores, dtype=float)
    N = scores.shape[0]
    shifted = scores - scores.max(axis=1, keepdims=True) if shift else scores
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        p = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
        log_p = np.log(p)
    losses = -log_p[np.arange(N), labels]
    loss = losses.mean() if mean_loss else losses.sum()
    grad = p.copy()
    if minus_one:
        grad[np.arange(N), labels] -= 1
    return float(loss), sign * grad / (N if mean_grad else 1)


def softmax_cross_entropy(scores, labels):
    return _softmax_ce(scores, labels)


def _sgd(params, x, y, lr, *, ce=softmax_cross_entropy, pool_back=max_pool_backward, relu_back=relu_backward,
         conv_back=conv_backward, update=lambda p, g, lr: p - lr * g, loss_after=False):
    w1, b1, w2, b2, w3, b3 = (params[k] for k in PARAMS)
    a1 = conv_forward_fast(x, w1, b1, 1, 1)[0]
    r1 = np.maximum(a1, 0)
    m1 = max_pool_forward_fast(r1, 2)[0]
    a2 = conv_forward_fast(m1, w2, b2, 1, 1)[0]
    r2 = np.maximum(a2, 0)
    m2 = max_pool_forward_fast(r2, 2)[0]
    flat = m2.reshape(len(x), -1)
    loss, d = ce(flat @ w3 + b3, y)
    grads = {"w3": flat.T @ d, "b3": d.sum(axis=0)}
    d_a2 = relu_back(pool_back((d @ w3.T).reshape(m2.shape), r2, 2), a2)
    d_m1, grads["w2"], grads["b2"] = conv_back(d_a2, m1, w2, 1, 1)
    _, grads["w1"], grads["b1"] = conv_back(relu_back(pool_back(d_m1, r1, 2), a1), x, w1, 1, 1)
    new = {k: update(params[k], grads[k], lr) for k in PARAMS}
    if loss_after:
        loss = _sgd(new, x, y, lr)[0]
    return loss, new


def sgd_step(params, x, y, lr):
    return _sgd(params, x, y, lr)


SOLUTIONS = {
    "backprop.conv_backward": conv_backward, "backprop.conv_transpose": dx_by_transposed_conv,
    "backprop.max_pool_backward": max_pool_backward, "backprop.avg_pool_backward": avg_pool_backward,
    "backprop.relu_backward": relu_backward, "backprop.softmax_ce": softmax_cross_entropy,
    "backprop.sgd_step": sgd_step,
}


@pytest.mark.parametrize("exercise_id", sorted(SOLUTIONS))
def test_solution_passes(exercise_id):
    result = run_check(exercise_id, SOLUTIONS[exercise_id])
    assert result.status == PASSED, result.message


def test_the_vectorised_max_pool_answer_passes_too():
    result = run_check("backprop.max_pool_backward", max_pool_backward_windows)
    assert result.status == PASSED, result.message


@pytest.mark.parametrize("exercise_id", sorted(SOLUTIONS))
def test_not_implemented_is_not_attempted(exercise_id):
    assert run_check(exercise_id, _not_implemented).status == NOT_ATTEMPTED
    assert run_check(exercise_id, ...).status == NOT_ATTEMPTED


@pytest.mark.parametrize("exercise_id", sorted(SOLUTIONS))
def test_the_registered_reference_passes_its_check(exercise_id):
    result = run_check(exercise_id, get_reference(exercise_id))
    assert result.status == PASSED, result.message


# ----------------------------------------------------------------------------- mutants: convolution
def _conv_mutant(**bug):
    return lambda dout, x, w, stride=1, pad=0, dilation=1: _conv_grads(dout, x, w, stride, pad, dilation, **bug)


def _tap_loop_assign(dout, x, w, stride=1, pad=0, dilation=1):
    """A tap loop (the fast way) with = in dx: tap (p, q) overwrites the earlier taps where windows overlap
    (the check's own generator of that mistake, so that its hint is the one under test)."""
    _, dw, db = conv_backward(dout, x, w, stride, pad, dilation)
    return _tap_assign_dx(dout, x, w, stride, pad, dilation), dw, db


def _dw_flipped(dout, x, w, stride=1, pad=0, dilation=1):
    dx, dw, db = conv_backward(dout, x, w, stride, pad, dilation)
    return dx, dw[:, :, ::-1, ::-1], db


def _dx_first_filter(dout, x, w, stride=1, pad=0, dilation=1):
    dx = _conv_grads(dout[:, :1], x, w[:1], stride, pad, dilation)[0]
    return (dx,) + conv_backward(dout, x, w, stride, pad, dilation)[1:]


CONV_MUTANTS = {
    "= instead of += in dx (overlapping windows)": (_conv_mutant(assign_dx=True), "accumulate with +="),
    "= instead of += in dx, tap loop": (_tap_loop_assign, "accumulate with +="),
    "= instead of += in dW": (_conv_mutant(assign_dw=True), "dw += ..., not dw = ..."),
    "stride forgotten in dx": (_conv_mutant(stride_dx=False), "the stride is missing in dx"),
    "stride forgotten in dW": (_conv_mutant(stride_dw=False), "the stride is missing in dW"),
    "flipped kernel in the loop's dx": (_conv_mutant(flip_dx=True), "no kernel flip in the loop version"),
    "dW flipped": (_dw_flipped, "not a convolution: no flip"),
    "dilation ignored": (_conv_mutant(dilate=False), "the dilation is missing in dW"),
    "padding not cropped from dx": (_conv_mutant(crop=False), "crop the padding"),
    "db not summed over the batch (per image)": (_conv_mutant(db="per image"), "over the batch AND all positions"),
    "db of the first image only": (_conv_mutant(db="first"), "not only the first image"),
    "db averaged over the batch": (_conv_mutant(db="mean"), "do not average it"),
    "db summed over the batch only": (_conv_mutant(db="positions only"), "db sums over the positions too"),
    "dW of the first image only": (_conv_mutant(dw_batch="first"), "sum dW over the whole batch"),
    "dW averaged over the batch": (_conv_mutant(dw_batch="mean"), "do not average it"),
    "dx from the first filter only": (_dx_first_filter, "sum over all K filters"),
    "returns two gradients": (lambda *a: conv_backward(*a)[:2], "expected a tuple (dx, dw, db)"),
    "integer dx for an integer x": (lambda dout, x, *a: (conv_backward(dout, x, *a)[0].astype(x.dtype),)
                                    + conv_backward(dout, x, *a)[1:], "floating-point"),
}


@pytest.mark.parametrize("name", sorted(CONV_MUTANTS))
def test_conv_backward_mutants_rejected(name):
    mutant, hint = CONV_MUTANTS[name]
    assert_rejected("backprop.conv_backward", mutant, hint)


def test_the_stride_bug_passes_a_check_that_compares_only_means():
    """Why the checks compare whole arrays: the forgotten stride in dW keeps the mean of dx, dW and db on the
    first strided case, so a check of means would let it through."""
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=(1, 1, 7, 7)), rng.normal(size=(1, 1, 3, 3))
    dout = rng.normal(size=(1, 1, 3, 3))
    good = conv_backward(dout, x, w, 2)
    bad = _conv_grads(dout, x, w, 2, stride_dx=False)
    assert np.isclose(good[0].sum(), bad[0].sum())                  # the same total gradient reaches x
    assert not np.allclose(good[0], bad[0])                         # but at the wrong pixels
    assert run_check("backprop.conv_backward", _conv_mutant(stride_dx=False)).status == FAILED


# ----------------------------------------------------------------------------- mutants: transposed convolution
def _transposed_mutant(**bug):
    return lambda dout, w, x_shape, stride=1, pad=0, dilation=1: _dx_transposed(dout, w, x_shape, stride, pad,
                                                                               dilation, **bug)


TRANSPOSED_MUTANTS = {
    "kernel not flipped": (_transposed_mutant(flips=0), "flipped exactly once"),
    "kernel flipped twice": (_transposed_mutant(flips=2), "flipped exactly once"),
    "dout not dilated by the stride": (_transposed_mutant(dilate=False), "dilate dout by the stride"),
    "padding not cropped": (_transposed_mutant(crop=False), "crop the padding"),
    "full padding F - 1 with dilation": (_transposed_mutant(full_pad_dilated=False), "pads dout by D(F - 1)"),
    "unread rows not filled": (_transposed_mutant(fill=False), "no window read"),
    "channel axes not swapped": (_transposed_mutant(swap=False), "your code raised"),
}


@pytest.mark.parametrize("name", sorted(TRANSPOSED_MUTANTS))
def test_conv_transpose_mutants_rejected(name):
    mutant, hint = TRANSPOSED_MUTANTS[name]
    assert_rejected("backprop.conv_transpose", mutant, hint)


# ----------------------------------------------------------------------------- mutants: pooling
def _max_mutant(**bug):
    return lambda dout, x, k, s=None, p=0: _max_back(dout, x, k, s, p, **bug)


MAX_MUTANTS = {
    "= instead of += (overlapping windows)": (_max_mutant(assign=True), "overlapping windows must accumulate"),
    "gradient to every tied maximum": (_max_mutant(ties="all"), "sent it to every tied maximum"),
    "last maximum on ties": (_max_mutant(ties="last"), "you picked the last one"),
    "gradient to every input of the window": (_max_mutant(ties="window"), "only the maximum of each window"),
    "stride ignored": (_max_mutant(use_stride=False), "windows at stride 1"),
    "padding not cropped": (_max_mutant(crop=False), "crop the padding"),
    "integer dx for an integer x": (lambda dout, x, *a: max_pool_backward(dout, x, *a).astype(x.dtype),
                                    "floating-point"),
}


@pytest.mark.parametrize("name", sorted(MAX_MUTANTS))
def test_max_pool_backward_mutants_rejected(name):
    mutant, hint = MAX_MUTANTS[name]
    assert_rejected("backprop.max_pool_backward", mutant, hint)


def test_split_ties_are_rejected_with_the_convention_named():
    def split(dout, x, k, s=None, p=0):
        every = _max_back(dout, x, k, s, p, ties="all")
        counts = _max_back(np.ones_like(dout), x, k, s, p, ties="all")
        firsts = _max_back(np.ones_like(dout), x, k, s, p)
        # where a pixel shares a tie, give it a part: a sketch of "split" that is right without ties
        return np.where(counts > firsts, every / np.maximum(counts, 1), every)
    assert_rejected("backprop.max_pool_backward", split, "first")


def test_the_overlap_bug_passes_on_tiling_windows_only():
    """Why the check uses 3x3 windows at stride 1: with S = F the windows do not overlap and = is harmless."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 3, 8, 8))
    dout = rng.normal(size=(2, 3, 4, 4))
    assert np.allclose(_max_back(dout, x, 2, 2, assign=True), max_pool_backward(dout, x, 2, 2))
    dout3 = rng.normal(size=(2, 3, 6, 6))
    assert not np.allclose(_max_back(dout3, x, 3, 1, assign=True), max_pool_backward(dout3, x, 3, 1))


def _avg_mutant(**bug):
    return lambda dout, shape, k, s=None, p=0: _avg_back(dout, shape, k, s, p, **bug)


AVG_MUTANTS = {
    "= instead of +=": (_avg_mutant(assign=True), "overlapping windows must accumulate"),
    "not divided by F_h*F_w": (_avg_mutant(divide="none"), "not dout"),
    "divided by F_h only": (_avg_mutant(divide="side"), "one side only"),
    "divided by the real pixels": (_avg_mutant(divide="real"), "count_include_pad=True"),
    "stride ignored": (_avg_mutant(use_stride=False), "windows at stride 1"),
    "padding not cropped": (_avg_mutant(crop=False), "crop the padding"),
}


@pytest.mark.parametrize("name", sorted(AVG_MUTANTS))
def test_avg_pool_backward_mutants_rejected(name):
    mutant, hint = AVG_MUTANTS[name]
    assert_rejected("backprop.avg_pool_backward", mutant, hint)


# ----------------------------------------------------------------------------- mutants: ReLU, softmax
def _relu_in_place(dout, x):
    dout[x <= 0] = 0
    return dout


RELU_MUTANTS = {
    "x >= 0": (lambda dout, x: dout * (x >= 0), "not x >= 0"),
    "the mask alone": (lambda dout, x: (x > 0).astype(float), "multiply the mask by dout"),
    "mask from dout": (lambda dout, x: dout * (dout > 0), "not from dout"),
    "changes dout in place": (_relu_in_place, "in place"),
    "integer mask for an integer x": (lambda dout, x: (dout * (x > 0)).astype(x.dtype), "floating-point"),
}


@pytest.mark.parametrize("name", sorted(RELU_MUTANTS))
def test_relu_backward_mutants_rejected(name):
    mutant, hint = RELU_MUTANTS[name]
    assert_rejected("backprop.relu_backward", mutant, hint)


def _ce_mutant(**bug):
    return lambda scores, labels: _softmax_ce(scores, labels, **bug)


CE_MUTANTS = {
    "gradient without 1/N": (_ce_mutant(mean_grad=False), "factor 1/N"),
    "summed loss": (_ce_mutant(mean_loss=False, mean_grad=False), "not the sum"),
    "no -1 at the label": (_ce_mutant(minus_one=False), "subtract 1 at the correct class"),
    "gradient sign reversed": (_ce_mutant(sign=-1), "the sign is reversed"),
    "no max subtraction (overflow)": (_ce_mutant(shift=False), "subtract the row maximum"),
    "loss as an array of per-example losses": (
        lambda s, l: (-np.log(np.exp(s - s.max(1, keepdims=True)) / np.exp(s - s.max(1, keepdims=True)).sum(
            1, keepdims=True))[np.arange(len(l)), l], softmax_cross_entropy(s, l)[1]), "one number"),
    "returns only the loss": (lambda s, l: softmax_cross_entropy(s, l)[0], "expected a tuple (loss, dscores)"),
}


@pytest.mark.parametrize("name", sorted(CE_MUTANTS))
def test_softmax_ce_mutants_rejected(name):
    mutant, hint = CE_MUTANTS[name]
    assert_rejected("backprop.softmax_ce", mutant, hint)


# ----------------------------------------------------------------------------- mutants: one SGD step
def _sgd_mutant(**bug):
    return lambda params, x, y, lr: _sgd(params, x, y, lr, **bug)


def _without_b3(params, x, y, lr):
    loss, new = sgd_step(params, x, y, lr)
    return loss, {k: v for k, v in new.items() if k != "b3"}


SGD_MUTANTS = {
    "no update": (_sgd_mutant(update=lambda p, g, lr: p), "did not change"),
    "gradient ascent": (_sgd_mutant(update=lambda p, g, lr: p + lr * g), "step uphill"),
    "softmax gradient without 1/N": (_sgd_mutant(ce=_ce_mutant(mean_grad=False)), "N times too large"),
    "= instead of += in the convolutions' dx": (_sgd_mutant(conv_back=_conv_mutant(assign_dx=True)),
                                                "new_params['w1']"),
    "max-pool gradient to every tied input": (_sgd_mutant(pool_back=_max_mutant(ties="window")), "new_params"),
    "ReLU mask x >= 0": (_sgd_mutant(relu_back=lambda d, x: d * (x >= -1e9)), "new_params"),
    "dW flipped": (_sgd_mutant(conv_back=_dw_flipped), "new_params['w"),
    "loss after the step": (_sgd_mutant(loss_after=True), "the loss (before the step)"),
    "a parameter missing": (_without_b3, "a dict with the keys"),
}


@pytest.mark.parametrize("name", sorted(SGD_MUTANTS))
def test_sgd_step_mutants_rejected(name):
    mutant, hint = SGD_MUTANTS[name]
    assert_rejected("backprop.sgd_step", mutant, hint)


# ----------------------------------------------------------------------------- partly written, demonstrations
PARTLY_WRITTEN = {
    "backprop.conv_backward": partly_written(conv_backward, lambda dout, x, w, s=1, p=0, d=1: d > 1),
    "backprop.conv_transpose": partly_written(dx_by_transposed_conv, lambda dout, w, xs, s=1, p=0, d=1: s > 2),
    "backprop.max_pool_backward": partly_written(max_pool_backward, lambda dout, x, k, s=None, p=0: p != 0),
    "backprop.avg_pool_backward": partly_written(avg_pool_backward, lambda dout, xs, k, s=None, p=0: p != 0),
    "backprop.relu_backward": partly_written(relu_backward, lambda dout, x: x.ndim == 2 and x.shape[0] > 1),
    "backprop.softmax_ce": partly_written(softmax_cross_entropy, lambda s, l: s.shape[0] > 10),
    "backprop.sgd_step": partly_written(sgd_step, lambda params, x, y, lr: x.shape[1] > 1),
}


@pytest.mark.parametrize("exercise_id", sorted(PARTLY_WRITTEN))
def test_a_partly_written_answer_fails(exercise_id):
    result = run_check(exercise_id, PARTLY_WRITTEN[exercise_id])
    assert result.status == FAILED, result.message
    assert "partly written" in result.message and "failed on case" in result.message


def test_a_demonstration_uses_the_reference_until_the_answer_passes(capsys):
    assert yours_or_reference("backprop.sgd_step", _not_implemented, "sgd_step") is get_reference("backprop.sgd_step")
    assert "not written yet" in capsys.readouterr().out
    wrong = _sgd_mutant(update=lambda p, g, lr: p + lr * g)
    assert yours_or_reference("backprop.sgd_step", wrong, "sgd_step") is get_reference("backprop.sgd_step")
    assert "does not pass its check" in capsys.readouterr().out
    assert yours_or_reference("backprop.sgd_step", sgd_step) is sgd_step
    assert "using your sgd_step" in capsys.readouterr().out
