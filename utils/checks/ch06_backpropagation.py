"""Checks for chapter 06 (backpropagation through convolution and pooling, and a NumPy CNN).

Every expected gradient comes from PyTorch autograd in float64 (``F.conv2d``, ``F.max_pool2d``,
``F.avg_pool2d``, ``torch.relu``, ``F.cross_entropy``, and the whole small CNN with copied weights). On the
first cases of each differentiable layer it is also compared with centred numerical gradients
(``utils.gradcheck``), so the reference itself is proven, not assumed. Max pooling sends the gradient of a
window to its *first* maximum in row-major order, the convention of ``np.argmax`` and of PyTorch's CPU
kernel; cases with ties check it.

Hints for known mistakes (``=`` instead of ``+=`` where windows overlap, a forgotten stride, a missing or
doubled kernel flip, ...) are computed only once an answer is found wrong. Messages use the workbook's
notation: N, C, K, H', W', F_h x F_w, S, P, D.

The ``@reference`` functions at the end are the workbook's own answers (``utils.layers``, ``utils.numpy_cnn``),
which demonstrations use while the student's answer is missing or does not pass its check.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from utils.gradcheck import numerical_gradient_array, rel_error
from utils.layers import (avg_pool_backward_fast, avg_pool_forward_fast, conv_backward_fast, max_pool_backward_fast,
                          max_pool_forward_fast, relu_backward as _relu_backward_ref,
                          softmax_cross_entropy as _softmax_ce_ref)
from utils.numpy_cnn import PARAM_NAMES, sgd_step as _sgd_step_ref

from .compare import (array_variants, assert_array_matches, call, require_callable, require_float, to_array,
                      unpack_results)
from .core import CheckFailed, implemented_by, may_use, reference, register


def _t(a, grad: bool = False) -> torch.Tensor:
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def _pair(v) -> tuple[int, int]:
    return (int(v[0]), int(v[1])) if isinstance(v, (tuple, list)) else (int(v), int(v))


def _try(fn):
    """The result of a mistake generator, or None where that mistake does not fit this case."""
    try:
        return fn()
    except (ValueError, IndexError, RuntimeError):
        return None


def _matches(got, expected, *, case, what, hint, mistakes=None, variant="float64"):
    assert_array_matches(got, expected, case=case, what=what, known_mistakes=mistakes,
                         hint=_variant_hint(variant, hint))


def _variant_hint(label: str, hint: str) -> str:
    if label == "integer":
        return ("the same case passed with float input; here x holds integers, and a gradient allocated with "
                "np.zeros_like(x) (or dtype=x.dtype) is an integer array that cuts off fractions: use "
                "np.zeros(x.shape). " + hint)
    if label in ("non-contiguous", "Fortran order", "float32"):
        return f"the same case passed on a C-ordered float64 array; this input is {label}. " + hint
    return hint


def _numerical_agrees(analytic: np.ndarray, forward, x: np.ndarray, dout: np.ndarray, what: str, case: str):
    """The autograd reference against centred differences (float64): a guard on the reference itself."""
    numeric = numerical_gradient_array(forward, np.array(x, dtype=np.float64), dout)
    error = rel_error(analytic, numeric)
    if error > 1e-5:   # pragma: no cover - would mean the reference is wrong, not the student
        raise RuntimeError(f"autograd and numerical gradients of {what} disagree on {case}: {error:.2e}")
    return numeric


# ============================================================================================= convolution
CONV_CONFIGS = [   # x shape, w shape, S, P, D
    ((1, 1, 5, 5), (1, 1, 3, 3), 1, 0, 1),          # the worked example: every window overlaps its neighbours
    ((1, 1, 7, 7), (1, 1, 3, 3), 2, 0, 1),          # stride 2, windows still overlap by one
    ((2, 3, 7, 9), (4, 3, 3, 3), 2, 1, 1),          # batch, channels, padding, non-square
    ((3, 2, 10, 8), (2, 2, 3, 2), 1, 2, 2),         # dilation, non-square kernel
    ((2, 2, 11, 7), (3, 2, 2, 3), 3, 1, 1),
    ((2, 3, 9, 12), (2, 3, 5, 5), 2, 2, 1),
    ((1, 2, 12, 10), (3, 2, 3, 3), 2, 2, 3),
    ((2, 2, 8, 9), (2, 2, 3, 3), 2, 1, 1),          # S does not divide: the last row and column are never read
    ((4, 1, 6, 6), (2, 1, 1, 1), 2, 0, 1),          # 1x1 kernel: no overlap at all
    ((2, 2, 13, 11), (2, 2, 4, 3), 3, 0, 2),
]
NUMERICAL_CASES = 3        # the first cases are also compared with numerical gradients


def _torch_conv_grads(dout, x, w, b, s, p, d):
    xt, wt, bt = _t(x, True), _t(w, True), _t(b, True)
    F.conv2d(xt, wt, bt, stride=s, padding=p, dilation=d).backward(_t(dout))
    return xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()


def _conv_out_shape(xs, ws, s, p, d):
    return (xs[0], ws[0], (xs[2] + 2 * p - d * (ws[2] - 1) - 1) // s + 1, (xs[3] + 2 * p - d * (ws[3] - 1) - 1) // s + 1)


def _loop_grads(dout, x, w, s, p, d, *, assign=False, stride_dx=True, stride_dw=True, flip=False, dilate=True,
                crop=True):
    """A position-loop backward pass with planted mistakes (for hints): windows visited in order (i, j)."""
    x = np.asarray(x, dtype=np.float64)
    N, C, H, W = x.shape
    K, _, Fh, Fw = w.shape
    Ho, Wo = dout.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w, dtype=np.float64)
    wk = w[:, :, ::-1, ::-1] if flip else w
    dd = d if dilate else 1
    for i in range(Ho):
        for j in range(Wo):
            for use_stride, target in ((stride_dx, "dx"), (stride_dw, "dw")):
                top, left = (i * s, j * s) if use_stride else (i, j)
                rows, cols = slice(top, top + dd * (Fh - 1) + 1, dd), slice(left, left + dd * (Fw - 1) + 1, dd)
                g = dout[:, :, i, j]                                          # (N, K)
                if target == "dx":
                    contribution = np.tensordot(g, wk, axes=(1, 0))           # (N, C, F_h, F_w)
                    if assign:
                        dxp[:, :, rows, cols] = contribution
                    else:
                        dxp[:, :, rows, cols] += contribution
                else:
                    contribution = np.tensordot(g, xp[:, :, rows, cols], axes=(0, 0))   # (K, C, F_h, F_w)
                    dw = contribution if assign else dw + contribution
    dx = dxp[:, :, p:p + H, p:p + W] if crop else dxp
    return dx, dw


def _tap_assign_dx(dout, x, w, s, p, d):
    """A tap-loop dx with `=`: each tap (p, q) overwrites what the earlier taps wrote where windows overlap."""
    N, C, H, W = np.shape(x)
    K, _, Fh, Fw = w.shape
    Ho, Wo = dout.shape[2:]
    dxp = np.zeros((N, C, H + 2 * p, W + 2 * p))
    for a in range(Fh):
        for c in range(Fw):
            dxp[:, :, a * d:a * d + s * (Ho - 1) + 1:s, c * d:c * d + s * (Wo - 1) + 1:s] = \
                np.einsum("nkij,kc->ncij", dout, w[:, :, a, c])
    return dxp[:, :, p:p + H, p:p + W]


def _dx_mistakes(dout, x, w, s, p, d):
    m = {}
    overlap = "windows overlap here, so an input pixel receives gradient from several windows (or taps): " \
              "accumulate with +=, never =."
    m[overlap] = _loop_grads(dout, x, w, s, p, d, assign=True)[0]
    m[overlap + " "] = _try(lambda: _tap_assign_dx(dout, x, w, s, p, d))   # the same mistake in a tap loop
    if s > 1:
        m["the stride is missing in dx: window (i, j) starts at row i*S and column j*S of the padded input, so "
          "its gradient goes back there."] = _try(lambda: _loop_grads(dout, x, w, s, p, d, stride_dx=False)[0])
    m["no kernel flip in the loop version: the window's gradient is dout[n, k, i, j] * w[k] laid on the window, "
      "tap (p, q) on tap (p, q). (The flip appears only when dx is written as a convolution of dout.)"] = \
        _loop_grads(dout, x, w, s, p, d, flip=True)[0]
    if d > 1:
        m["the dilation is missing in dx: tap (p, q) of a window sits at (i*S + p*D, j*S + q*D)."] = \
            _try(lambda: _loop_grads(dout, x, w, s, p, d, dilate=False)[0])
    if p > 0:
        m["crop the padding: the gradient of the padded input has P extra rows and columns on every side, which "
          "belong to no real pixel (dx = dxp[:, :, P:P+H, P:P+W])."] = _loop_grads(dout, x, w, s, p, d, crop=False)[0]
    K = w.shape[0]
    if K > 1:
        m["sum over all K filters: every filter that read a pixel sends gradient back to it."] = \
            _loop_grads(dout[:, :1], x, w[:1], s, p, d)[0]
    return m


def _dw_mistakes(dout, x, w, s, p, d):
    m = {}
    m["dW sums the contributions of every window (the weights are shared): dw += ..., not dw = ..."] = \
        _loop_grads(dout, x, w, s, p, d, assign=True)[1]
    if s > 1:
        m["the stride is missing in dW: window (i, j) read the input from row i*S and column j*S, so dW[k, c, p, q] "
          "= sum dout[n, k, i, j] * xp[n, c, i*S + p*D, j*S + q*D]."] = \
            _try(lambda: _loop_grads(dout, x, w, s, p, d, stride_dw=False)[1])
    if d > 1:
        m["the dilation is missing in dW: tap (p, q) read xp[n, c, i*S + p*D, j*S + q*D]."] = \
            _try(lambda: _loop_grads(dout, x, w, s, p, d, dilate=False)[1])
    N = x.shape[0]
    if N > 1:
        m["sum dW over the whole batch, not only the first image."] = _loop_grads(dout[:1], x[:1], w, s, p, d)[1]
        m["sum dW over the batch; do not average it (the mean of the loss is already in dout)."] = \
            _loop_grads(dout, x, w, s, p, d)[1] / N
    m["dW is a correlation of the input with dout, not a convolution: no flip."] = \
        _loop_grads(dout, x, w, s, p, d)[1][:, :, ::-1, ::-1]
    return m


def _db_mistakes(dout):
    N = dout.shape[0]
    m = {"db[k] = sum of dout[:, k] over the batch AND all positions: dout.sum(axis=(0, 2, 3)).":
         dout.sum(axis=(2, 3))}
    if N > 1:
        m["sum db over the whole batch (axis 0 too), not only the first image."] = dout[0].sum(axis=(1, 2))
        m["sum db over the batch; do not average it."] = dout.sum(axis=(0, 2, 3)) / N
    m["db sums over the positions too: dout.sum(axis=(0, 2, 3)), shape (K,)."] = dout.sum(axis=0)
    return m


def _conv_cases(seed: int):
    """(label, dout, x, w, b, S, P, D): every configuration in float64, then x as float32, integer,
    non-contiguous and Fortran order on three of them."""
    rng = np.random.default_rng(seed)
    cases = []
    for xs, ws, s, p, d in CONV_CONFIGS:
        x, w, b = rng.normal(size=xs), rng.normal(size=ws), rng.normal(size=ws[0])
        cases.append((x, w, b, s, p, d, rng.normal(size=_conv_out_shape(xs, ws, s, p, d))))
    for x, w, b, s, p, d, dout in cases:
        yield "float64", dout, x, w, b, s, p, d
    for x, w, b, s, p, d, dout in (cases[2], cases[3], cases[7]):
        for label, variant in array_variants(x)[1:]:
            yield label, dout, variant, w, b, s, p, d


implemented_by("backprop.conv_backward", "utils.checks.ch06_backpropagation._torch_conv_grads",
               "utils.layers.convolution.conv_backward_naive", "utils.layers.convolution.conv_backward_fast")


@register("backprop.conv_backward")
def check_conv_backward(answer) -> str:
    fn = require_callable(answer, "conv_backward(dout, x, w, stride, pad, dilation)")
    count = 0
    for index, (label, dout, x, w, b, s, p, d) in enumerate(_conv_cases(60)):
        case = f"x {x.shape} ({label}), w {w.shape}, stride S={s}, pad P={p}, dilation D={d}"
        got = unpack_results(call(fn, dout, x, w, s, p, d, case=case), ("dx", "dw", "db"), case=case)
        dx_ref, dw_ref, db_ref = _torch_conv_grads(dout, x, w, b, s, p, d)
        if index < NUMERICAL_CASES:
            _numerical_agrees(dx_ref, lambda z: F.conv2d(_t(z), _t(w), _t(b), stride=s, padding=p,
                                                        dilation=d).numpy(), x, dout, "dx", case)
            _numerical_agrees(dw_ref, lambda z: F.conv2d(_t(x), _t(z), _t(b), stride=s, padding=p,
                                                        dilation=d).numpy(), w, dout, "dw", case)
        for value in got:
            require_float(value, case=case, what="each gradient")
        _matches(got[2], db_ref, case=case, what="db", variant=label,
                 hint="db[k] = sum_{n, i, j} dout[n, k, i, j]: one number per filter.",
                 mistakes=lambda: _db_mistakes(dout))
        _matches(got[1], dw_ref, case=case, what="dw", variant=label,
                 hint="dW[k, c, p, q] = sum_{n, i, j} dout[n, k, i, j] * xp[n, c, i*S + p*D, j*S + q*D] "
                      "(xp: x zero-padded by P); shape (K, C, F_h, F_w).",
                 mistakes=lambda: _dw_mistakes(dout, x, w, s, p, d))
        _matches(got[0], dx_ref, case=case, what="dx", variant=label,
                 hint="for every window (i, j): dxp[n, :, i*S + p*D, j*S + q*D] += dout[n, k, i, j] * w[k, :, p, q], "
                      "then crop the padding; shape (N, C, H, W).",
                 mistakes=lambda: _dx_mistakes(dout, x, w, s, p, d))
        count += 1
    return f"{count} cases against autograd, the first {NUMERICAL_CASES} also against numerical gradients"


# ============================================================================================= transposed conv
def _dilate(dout, s):
    N, K, Ho, Wo = dout.shape
    out = np.zeros((N, K, (Ho - 1) * s + 1, (Wo - 1) * s + 1))
    out[:, :, ::s, ::s] = dout
    return out


def _transposed(dout, w, x_shape, s, p, d, *, flip=True, dilate=True, full_pad=None, kernel_dilation=True,
                crop=True, fill_unread=True):
    """dx by the recipe (dilate dout by S, pad by D(F-1), correlate with the flipped, channel-swapped kernel,
    crop P), with planted mistakes for hints. Uses torch's conv2d for the correlation."""
    N, C, H, W = x_shape
    K, _, Fh, Fw = w.shape
    dd = _dilate(dout, s) if dilate else np.asarray(dout, dtype=np.float64)
    ph, pw = (d * (Fh - 1), d * (Fw - 1)) if full_pad is None else full_pad
    wt = w.transpose(1, 0, 2, 3)
    if flip:
        wt = wt[:, :, ::-1, ::-1]
    full = F.conv2d(_t(dd), _t(wt.copy()), padding=(ph, pw), dilation=d if kernel_dilation else 1).numpy()
    if fill_unread:   # rows and columns that no window read: zero gradient
        rh, rw = H + 2 * p - full.shape[2], W + 2 * p - full.shape[3]
        full = np.pad(full, ((0, 0), (0, 0), (0, max(rh, 0)), (0, max(rw, 0))))
    return full[:, :, p:p + H, p:p + W] if crop else full


def _transposed_mistakes(dout, w, x_shape, s, p, d):
    m = {}
    m["the kernel must be flipped exactly once (rows and columns: w[:, :, ::-1, ::-1]): dx is a *convolution* "
      "of dout with w, i.e. a correlation with the flipped kernel. Flipping not at all and flipping twice "
      "give this same wrong result."] = _try(lambda: _transposed(dout, w, x_shape, s, p, d, flip=False))
    if s > 1:
        m["dilate dout by the stride first: put S - 1 zeros between neighbouring entries (dout_dilated[:, :, ::S, "
          "::S] = dout), because output i came from input rows starting at i*S."] = \
            _try(lambda: _transposed(dout, w, x_shape, s, p, d, dilate=False))
    if p > 0:
        m["crop the padding: remove P rows and columns on every side of the full result."] = \
            _try(lambda: _transposed(dout, w, x_shape, s, p, d, crop=False))
    if d > 1:
        m["a dilated kernel spans D(F - 1) + 1 pixels: the full convolution pads dout by D(F - 1), not F - 1."] = \
            _try(lambda: _transposed(dout, w, x_shape, s, p, d, full_pad=(w.shape[2] - 1, w.shape[3] - 1)))
        m["the correlation with the flipped kernel must keep the dilation D of the forward pass."] = \
            _try(lambda: _transposed(dout, w, x_shape, s, p, d, kernel_dilation=False,
                                     full_pad=(w.shape[2] - 1, w.shape[3] - 1)))
    m["rows and columns of x that no window read (when S does not divide n + 2P - D(F-1) - 1) get zero gradient: "
      "pad the full result with zeros at the bottom and right up to H + 2P, W + 2P before cropping."] = \
        _try(lambda: _transposed(dout, w, x_shape, s, p, d, fill_unread=False))
    return m


implemented_by("backprop.conv_transpose", builds_on=("backprop.conv_backward",))
may_use("backprop.conv_transpose", "utils.layers.conv_forward_fast")


@register("backprop.conv_transpose")
def check_conv_transpose(answer) -> str:
    fn = require_callable(answer, "dx_by_transposed_conv(dout, w, x_shape, stride, pad, dilation)")
    rng = np.random.default_rng(61)
    count = 0
    for index, (xs, ws, s, p, d) in enumerate(CONV_CONFIGS):
        x, w, b = rng.normal(size=xs), rng.normal(size=ws), rng.normal(size=ws[0])
        dout = rng.normal(size=_conv_out_shape(xs, ws, s, p, d))
        case = f"x_shape {xs}, w {ws}, stride S={s}, pad P={p}, dilation D={d}"
        got = call(fn, dout, w, xs, s, p, d, case=case)
        require_float(got, case=case, what="dx")
        expected = _torch_conv_grads(dout, x, w, b, s, p, d)[0]
        if index < NUMERICAL_CASES:
            _numerical_agrees(expected, lambda z: F.conv2d(_t(z), _t(w), stride=s, padding=p, dilation=d).numpy(),
                              x, dout, "dx", case)
        _matches(got, expected, case=case, what="dx",
                 hint="dilate dout by S, pad it by D(F-1) on every side, correlate with the flipped kernel whose "
                      "channel axes are swapped (w.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1]) at dilation D, fill the "
                      "unread rows/columns with zeros, crop P; shape x_shape.",
                 mistakes=lambda: _transposed_mistakes(dout, w, xs, s, p, d))
        count += 1
    return f"{count} cases against autograd, the first {NUMERICAL_CASES} also against numerical gradients"


# ============================================================================================= pooling
POOL_CONFIGS = [   # x shape, kernel_size, stride, padding
    ((1, 1, 4, 4), 2, None, 0),                 # tiling windows (S = F): the easy case
    ((1, 1, 5, 5), 3, 1, 0),                    # overlapping 3x3, stride 1: every inner pixel is in 9 windows
    ((2, 3, 7, 9), 3, 2, 1),                    # AlexNet's overlapping 3x3, stride 2, with padding
    ((2, 2, 6, 7), 2, 1, 0),
    ((3, 2, 8, 6), (2, 3), (1, 2), (1, 0)),     # non-square window, stride and padding
    ((1, 3, 10, 7), (3, 2), None, (1, 1)),
    ((2, 2, 9, 8), 4, 3, 2),
    ((2, 1, 5, 8), 2, 3, 0),                    # S > F: some pixels are in no window
]


def _pool_cases(seed: int, ties: bool):
    """(label, x, k, s, p, dout, about): distinct values (no ties), then many ties (values in {0, 1, 2}) for
    max pooling, then x in every dtype and memory layout on two configurations."""
    rng = np.random.default_rng(seed)
    cases = []
    for xs, k, s, p in POOL_CONFIGS:
        x = rng.permutation(int(np.prod(xs))).reshape(xs) / 10.0 - 2.0
        cases.append(("float64", x, k, s, p, "distinct values"))
    if ties:
        for xs, k, s, p in POOL_CONFIGS:
            cases.append(("float64", rng.integers(0, 3, size=xs).astype(float), k, s, p, "ties"))
        cases.append(("float64", np.ones((1, 2, 5, 6)), 3, 1, 1, "every value equal"))
    for base in (cases[2], cases[4]):
        for label, variant in array_variants(base[1])[1:]:
            cases.append((label, variant, *base[2:5], base[5]))
    for label, x, k, s, p, about in cases:
        shape = _torch_pool(F.max_pool2d, x, k, s, p).shape
        yield label, x, k, s, p, rng.normal(size=shape), about


def _torch_pool(pool, x, k, s, p, dout=None, **kw):
    xt = _t(x, grad=dout is not None)
    out = pool(xt, k, s, p, **kw)
    if dout is None:
        return out.detach().numpy()
    out.backward(_t(dout))
    return xt.grad.numpy()


def _pool_case(x, k, s, p, label, about):
    return f"x {x.shape} ({label}, {about}), kernel_size={k}, stride={s}, padding={p}"


def _loop_pool_backward(dout, x, k, s, p, *, how="max", assign=False, ties="first", use_stride=True, crop=True,
                        divisor=None):
    """A position-loop pooling backward pass with planted mistakes (for hints)."""
    x = np.asarray(x, dtype=np.float64)
    (Fh, Fw), (Ph, Pw) = _pair(k), _pair(p)
    Sh, Sw = (Fh, Fw) if s is None else _pair(s)
    if not use_stride:
        Sh, Sw = 1, 1
    N, C, H, W = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (Ph, Ph), (Pw, Pw)), constant_values=-np.inf if how == "max" else 0.0)
    dxp = np.zeros_like(xp)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            rows, cols = slice(i * Sh, i * Sh + Fh), slice(j * Sw, j * Sw + Fw)
            window = xp[:, :, rows, cols]
            g = dout[:, :, i, j][:, :, None, None]
            if how == "max":
                flat = window.reshape(N, C, -1)
                best = flat.max(axis=2, keepdims=True)
                winners = flat == best
                if ties == "first":
                    mask = np.zeros_like(flat)
                    np.put_along_axis(mask, flat.argmax(axis=2)[..., None], 1.0, axis=2)
                elif ties == "last":
                    mask = np.zeros_like(flat)
                    last = flat.shape[2] - 1 - flat[:, :, ::-1].argmax(axis=2)
                    np.put_along_axis(mask, last[..., None], 1.0, axis=2)
                elif ties == "all":
                    mask = winners.astype(float)
                elif ties == "split":
                    mask = winners / winners.sum(axis=2, keepdims=True)
                else:   # "window": every pixel of the window, as if the maximum were a sum
                    mask = np.ones_like(flat)
                contribution = g * mask.reshape(window.shape)
            else:
                contribution = np.broadcast_to(g / (divisor(i, j) if divisor else 1.0), window.shape)
            if assign:
                dxp[:, :, rows, cols] = contribution
            else:
                dxp[:, :, rows, cols] += contribution
    return dxp[:, :, Ph:Ph + H, Pw:Pw + W] if crop else dxp


def _max_mistakes(dout, x, k, s, p):
    args = (dout, x, k, s, p)
    m = {
        "overlapping windows must accumulate: a pixel that is the maximum of several windows gets the sum of "
        "their gradients (dx[...] += ..., never =).": _loop_pool_backward(*args, assign=True),
        "on a tie only the first maximum (in row-major order, as np.argmax finds it) gets the gradient; you sent "
        "it to every tied maximum, which multiplies the gradient by the number of ties.":
            _loop_pool_backward(*args, ties="all"),
        "on a tie the workbook (like np.argmax and PyTorch on the CPU) picks the *first* maximum in row-major "
        "order; you picked the last one.": _loop_pool_backward(*args, ties="last"),
        "on a tie the workbook gives the whole gradient to the first maximum (row-major order), not shares of it "
        "to every tied one.": _loop_pool_backward(*args, ties="split"),
        "only the maximum of each window receives gradient; the other pixels did not affect the output.":
            _loop_pool_backward(*args, ties="window"),
        "you used windows at stride 1: window (i, j) starts at row i*S_h and column j*S_w.":
            _try(lambda: _loop_pool_backward(*args, use_stride=False)),
    }
    if max(_pair(p)) > 0:
        m["crop the padding: dx has the input's shape (N, C, H, W)."] = _loop_pool_backward(*args, crop=False)
    return m


def _max_dx_from_input(x, k, s, p):
    return lambda z: _torch_pool(F.max_pool2d, z, k, s, p)


implemented_by("backprop.max_pool_backward", "utils.checks.ch06_backpropagation._torch_pool",
               "utils.layers.pooling.max_pool_backward_naive", "utils.layers.pooling.max_pool_backward_fast")


@register("backprop.max_pool_backward")
def check_max_pool_backward(answer) -> str:
    fn = require_callable(answer, "max_pool_backward(dout, x, kernel_size, stride, padding)")
    count = numeric = 0
    for label, x, k, s, p, dout, about in _pool_cases(62, ties=True):
        case = _pool_case(x, k, s, p, label, about)
        got = call(fn, dout, x, k, s, p, case=case)
        require_float(got, case=case, what="dx")
        expected = _torch_pool(F.max_pool2d, x, k, s, p, dout)
        if about == "distinct values" and label == "float64" and numeric < NUMERICAL_CASES:
            _numerical_agrees(expected, _max_dx_from_input(x, k, s, p), x, dout, "max pooling", case)
            numeric += 1
        _matches(got, expected, case=case, what="dx", variant=label,
                 hint="dx[n, c, r, q] += dout[n, c, i, j] for the first maximum (r, q) of window (i, j) "
                      "(np.argmax of the flattened window, row-major); padding never wins; shape (N, C, H, W).",
                 mistakes=lambda: _max_mistakes(dout, x, k, s, p))
        count += 1
    return f"{count} cases against autograd, ties included, {numeric} also against numerical gradients"


def _avg_mistakes(dout, x, k, s, p):
    (Fh, Fw), (Ph, Pw) = _pair(k), _pair(p)
    Sh, Sw = (Fh, Fw) if s is None else _pair(s)
    H, W = x.shape[2:]
    args = (dout, x, k, s, p)

    def real_pixels(i, j):
        rows = min(i * Sh - Ph + Fh, H) - max(i * Sh - Ph, 0)
        cols = min(j * Sw - Pw + Fw, W) - max(j * Sw - Pw, 0)
        return rows * cols

    m = {
        "overlapping windows must accumulate: a pixel in several windows gets the sum of their shares (+=).":
            _loop_pool_backward(*args, how="avg", assign=True, divisor=lambda i, j: Fh * Fw),
        "each output is the mean of F_h*F_w pixels, so each pixel gets dout / (F_h*F_w), not dout.":
            _loop_pool_backward(*args, how="avg"),
        "divide by the number of pixels in the window, F_h*F_w (you divided by one side only).":
            _loop_pool_backward(*args, how="avg", divisor=lambda i, j: Fh),
        "you used windows at stride 1: window (i, j) starts at row i*S_h and column j*S_w.":
            _try(lambda: _loop_pool_backward(*args, how="avg", use_stride=False, divisor=lambda i, j: Fh * Fw)),
        "this exercise follows count_include_pad=True (PyTorch's default): every window divides by F_h*F_w, "
        "padding included, not by its number of real pixels.":
            _loop_pool_backward(*args, how="avg", divisor=real_pixels),
    }
    if max(Ph, Pw) > 0:
        m["crop the padding: dx has the input's shape (N, C, H, W)."] = \
            _loop_pool_backward(*args, how="avg", crop=False, divisor=lambda i, j: Fh * Fw)
    return m


implemented_by("backprop.avg_pool_backward", "utils.checks.ch06_backpropagation._torch_pool",
               "utils.layers.pooling.avg_pool_backward_naive", "utils.layers.pooling.avg_pool_backward_fast")


@register("backprop.avg_pool_backward")
def check_avg_pool_backward(answer) -> str:
    fn = require_callable(answer, "avg_pool_backward(dout, x_shape, kernel_size, stride, padding)")
    count = numeric = 0
    for label, x, k, s, p, dout, about in _pool_cases(63, ties=False):
        if label != "float64":
            continue   # the answer sees only x's shape: the dtype and layout variants of x tell nothing here
        case = f"x_shape {x.shape}, kernel_size={k}, stride={s}, padding={p}"
        got = call(fn, dout, tuple(x.shape), k, s, p, case=case)
        require_float(got, case=case, what="dx")
        expected = _torch_pool(F.avg_pool2d, x, k, s, p, dout)
        if numeric < NUMERICAL_CASES:
            _numerical_agrees(expected, lambda z: _torch_pool(F.avg_pool2d, z, k, s, p), x, dout, "average pooling",
                              case)
            numeric += 1
        _matches(got, expected, case=case, what="dx",
                 hint="every pixel of window (i, j) gets dout[n, c, i, j] / (F_h*F_w), added up over the windows "
                      "that contain it, padding cropped; shape x_shape.",
                 mistakes=lambda: _avg_mistakes(dout, x, k, s, p))
        count += 1
    return f"{count} cases against autograd, {numeric} also against numerical gradients"


# ============================================================================================= ReLU
def _relu_cases():
    rng = np.random.default_rng(64)
    yield "float64", np.array([[-2.0, -0.5, 0.0, 0.5, 2.0]]), "the worked example, with x == 0"
    for shape in [(2, 3, 4, 5), (7, 10), (1, 1, 6, 3)]:
        x = rng.normal(size=shape)
        x.flat[::4] = 0.0                                            # exact zeros: the kink
        for label, variant in array_variants(x):
            yield label, variant, "a quarter of the entries exactly 0"


implemented_by("backprop.relu_backward", "utils.layers.activations.relu_backward")


@register("backprop.relu_backward")
def check_relu_backward(answer) -> str:
    fn = require_callable(answer, "relu_backward(dout, x)")
    rng = np.random.default_rng(65)
    count = 0
    for label, x, about in _relu_cases():
        dout = rng.normal(size=x.shape) + 0.1
        case = f"x {x.shape} ({label}, {about})"
        got = call(fn, dout, x, case=case)
        require_float(got, case=case, what="dx")
        xt = _t(x, True)
        torch.relu(xt).backward(_t(dout))
        xf = np.asarray(x, dtype=np.float64)
        _matches(got, xt.grad.numpy(), case=case, what="dx", variant=label,
                 hint="dx = dout where x > 0, else 0 (shape of x).",
                 mistakes=lambda: {
                     "at x == 0 ReLU has no derivative; the workbook and PyTorch pass no gradient there: use x > 0, "
                     "not x >= 0.": dout * (xf >= 0),
                     "multiply the mask by dout: dx = dout * (x > 0), not the mask alone.": (xf > 0).astype(float),
                     "the mask comes from the layer's input x, not from dout.": dout * (dout > 0),
                 })
        count += 1
    return f"{count} cases, exact zeros included"


# ============================================================================================= softmax + CE
def _ce_cases():
    rng = np.random.default_rng(66)
    yield "the worked example", np.array([[2.0, 1.0, 0.1]]), np.array([0])
    yield "random", rng.normal(size=(4, 10)), rng.integers(0, 10, size=4)
    yield "random", rng.normal(size=(16, 10)), rng.integers(0, 10, size=16)
    yield "random, 3 classes", 3 * rng.normal(size=(7, 3)), rng.integers(0, 3, size=7)
    yield "scores near 1000 (exp overflows unless the row maximum is subtracted)", \
        1000 + 5 * rng.normal(size=(5, 10)), rng.integers(0, 10, size=5)
    yield "scores of size 30 (a confident net)", 30 * rng.normal(size=(6, 10)), rng.integers(0, 10, size=6)
    yield "float32", rng.normal(size=(8, 10)).astype(np.float32), rng.integers(0, 10, size=8)


implemented_by("backprop.softmax_ce", "utils.layers.losses.softmax")


@register("backprop.softmax_ce")
def check_softmax_ce(answer) -> str:
    fn = require_callable(answer, "softmax_cross_entropy(scores, labels)")
    count = 0
    for about, scores, labels in _ce_cases():
        N = scores.shape[0]
        case = f"scores {scores.shape} ({about}), labels {labels.tolist()}"
        loss, dscores = unpack_results(call(fn, scores, labels, case=case), ("loss", "dscores"), case=case)
        st = _t(scores, True)
        expected_loss = F.cross_entropy(st, torch.from_numpy(labels))
        expected_loss.backward()
        expected = st.grad.numpy()
        if count < NUMERICAL_CASES:
            _numerical_agrees(expected, lambda z: F.cross_entropy(_t(z), torch.from_numpy(labels)).numpy(),
                              scores, np.array(1.0), "softmax cross-entropy", case)
        value = to_array(loss, case=case, what="the loss")
        if value.size != 1:
            raise CheckFailed(f"failed on case {case}:\n  the loss should be one number, got shape {value.shape}"
                              "\n  hint: the loss is the mean over the batch of -log p[n, y_n].")
        sum_hint = "the loss is the *mean* over the batch, not the sum: divide by N." if N > 1 else ""
        for name, result in (("the loss", value), ("dscores", dscores)):
            if not np.all(np.isfinite(to_array(result, case=case, what=name))):
                raise CheckFailed(f"failed on case {case}:\n  {name} holds inf or nan\n  hint: subtract the row "
                                  "maximum from the scores before exp (it cancels in the softmax), so that exp never "
                                  "overflows: shifted = scores - scores.max(axis=1, keepdims=True).")
        p = np.exp(scores - scores.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        _matches(value.reshape(()), np.asarray(expected_loss.item()), case=case, what="the loss",
                 hint="loss = -(1/N) sum_n log softmax(scores[n])[y_n]; compute log-softmax as shifted - "
                      "log(sum(exp(shifted))) with shifted = scores - row max, so nothing overflows.",
                 mistakes=lambda: {sum_hint: np.asarray(expected_loss.item() * N)} if sum_hint else {})
        onehot = np.eye(scores.shape[1])[labels]
        _matches(dscores, expected, case=case, what="dscores",
                 hint="dscores = (softmax(scores) - onehot(labels)) / N; subtract the row maximum before exp.",
                 mistakes=lambda: {
                     "the loss is the mean over the N examples, so its gradient carries a factor 1/N: "
                     "dscores = (p - onehot) / N.": p - onehot,
                     "subtract 1 at the correct class: dscores = (p - onehot(labels)) / N.": p / N,
                     "the sign is reversed: dscores = (p - onehot) / N (raising the correct score lowers the loss).":
                         (onehot - p) / N,
                 })
        count += 1
    return f"{count} cases against autograd, large scores included"


# ============================================================================================= one SGD step
SGD_CASES = [   # image shape (C, H, W), channels (K1, K2), classes, N, lr
    ((1, 8, 8), (2, 3), 10, 4, 0.1),
    ((2, 12, 8), (3, 4), 5, 3, 0.5),
    ((1, 16, 12), (4, 2), 10, 6, 0.05),
]


def _sgd_inputs(seed: int):
    rng = np.random.default_rng(seed)
    for (C, H, W), (K1, K2), M, N, lr in SGD_CASES:
        params = {"w1": rng.normal(0, 0.5, (K1, C, 3, 3)), "b1": rng.normal(0, 0.1, K1),
                  "w2": rng.normal(0, 0.5, (K2, K1, 3, 3)), "b2": rng.normal(0, 0.1, K2),
                  "w3": rng.normal(0, 0.5, (K2 * (H // 4) * (W // 4), M)), "b3": rng.normal(0, 0.1, M)}
        yield params, rng.normal(size=(N, C, H, W)), rng.integers(0, M, size=N), lr


def _torch_step(params, x, y, lr, reduction="mean"):
    p = {k: _t(v, True) for k, v in params.items()}
    h = F.max_pool2d(torch.relu(F.conv2d(_t(x), p["w1"], p["b1"], padding=1)), 2)
    h = F.max_pool2d(torch.relu(F.conv2d(h, p["w2"], p["b2"], padding=1)), 2)
    loss = F.cross_entropy(h.reshape(len(x), -1) @ p["w3"] + p["b3"], torch.from_numpy(y), reduction=reduction)
    loss.backward()
    return loss.item(), {k: (v - lr * v.grad).detach().numpy() for k, v in p.items()}


implemented_by("backprop.sgd_step", "utils.checks.ch06_backpropagation._torch_step",
               "utils.numpy_cnn.loss_and_grads", "utils.numpy_cnn.forward", "utils.numpy_cnn.NumpyCNN",
               "utils.layers.dense.dense_backward",
               builds_on=("backprop.conv_backward", "backprop.max_pool_backward", "backprop.relu_backward",
                          "backprop.softmax_ce"))
may_use("backprop.sgd_step", "utils.layers.conv_forward_fast", "utils.layers.max_pool_forward_fast")


@register("backprop.sgd_step")
def check_sgd_step(answer) -> str:
    fn = require_callable(answer, "sgd_step(params, x, y, lr)")
    count = 0
    for params, x, y, lr in _sgd_inputs(67):
        case = (f"x {x.shape}, w1 {params['w1'].shape}, w2 {params['w2'].shape}, w3 {params['w3'].shape}, "
                f"lr={lr}")
        loss, new = unpack_results(call(fn, params, x, y, lr, case=case), ("loss", "new_params"), case=case)
        expected_loss, expected = _torch_step(params, x, y, lr)
        if not isinstance(new, dict) or set(new) != set(PARAM_NAMES):
            got_keys = sorted(new) if isinstance(new, dict) else type(new).__name__
            raise CheckFailed(f"failed on case {case}:\n  new_params should be a dict with the keys "
                              f"{list(PARAM_NAMES)}, got {got_keys}")
        value = to_array(loss, case=case, what="the loss")
        if value.size != 1:
            raise CheckFailed(f"failed on case {case}:\n  the loss should be one number, got shape {value.shape}")
        _matches(value.reshape(()), np.asarray(expected_loss), case=f"{case}, comparing the loss (before the step)",
                 what="the loss",
                 hint="return the mean cross-entropy of this minibatch computed with the parameters you were given.")
        for name in PARAM_NAMES:
            def mistakes(name=name):
                summed = _torch_step(params, x, y, lr, reduction="sum")[1]
                return {
                    "the parameters did not change: new = old - lr * gradient.": params[name],
                    "that is a step uphill: subtract lr * gradient (gradient *descent*).":
                        2 * params[name] - expected[name],
                    "the step is N times too large: the loss is the mean over the batch, so dscores carries 1/N.":
                        summed[name],
                }
            _matches(new[name], expected[name], case=f"{case}, comparing new_params['{name}']", what=name,
                     hint=f"new {name} = {name} - lr * dL/d{name}, the gradient of the mean loss through "
                          "conv-ReLU-pool-conv-ReLU-pool-dense-softmax (compare each layer's backward pass with its "
                          "check above).",
                     mistakes=mistakes)
        count += 1
    return f"{count} steps against torch with the same weights, every parameter compared"


# ============================================================================================= references
def _conv_cache(x, w, stride, pad, dilation):
    return {"x": np.asarray(x, dtype=np.float64), "w": np.asarray(w, dtype=np.float64),
            "stride": _pair(stride), "pad": _pair(pad), "dilation": _pair(dilation)}


@reference("backprop.conv_backward")
def conv_backward(dout, x, w, stride=1, pad=0, dilation=1):
    return conv_backward_fast(np.asarray(dout, dtype=np.float64), _conv_cache(x, w, stride, pad, dilation))


@reference("backprop.conv_transpose")
def dx_by_transposed_conv(dout, w, x_shape, stride=1, pad=0, dilation=1):
    dx, _, _ = conv_backward_fast(np.asarray(dout, dtype=np.float64),
                                  _conv_cache(np.zeros(x_shape), w, stride, pad, dilation))
    return dx


@reference("backprop.max_pool_backward")
def max_pool_backward(dout, x, kernel_size, stride=None, padding=0):
    _, cache = max_pool_forward_fast(np.asarray(x, dtype=np.float64), kernel_size, stride, padding)
    return max_pool_backward_fast(np.asarray(dout, dtype=np.float64), cache)


@reference("backprop.avg_pool_backward")
def avg_pool_backward(dout, x_shape, kernel_size, stride=None, padding=0):
    _, cache = avg_pool_forward_fast(np.zeros(x_shape), kernel_size, stride, padding)
    return avg_pool_backward_fast(np.asarray(dout, dtype=np.float64), cache)


@reference("backprop.relu_backward")
def relu_backward(dout, x):
    return _relu_backward_ref(np.asarray(dout, dtype=np.float64), x)


reference("backprop.softmax_ce")(_softmax_ce_ref)
reference("backprop.sgd_step")(_sgd_step_ref)
