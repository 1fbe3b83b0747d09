"""Mutation tests of the chapter 03 checks: the solutions pass, "not implemented" is recognised, and every
planted bug is rejected (most with the hint written for it)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from utils.checks import FAILED, NOT_ATTEMPTED, PASSED, run_check
from utils.layers import conv_forward_fast, conv_forward_naive, im2col
from utils.shapes import same_padding
from tests.checks.mutants import partly_written

NP_MODE = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _not_implemented(*args, **kwargs):
    raise NotImplementedError()


# ----------------------------------------------------------------------------- solutions
def output_size(n, kernel, stride=1, pad=0, dilation=1):
    return (n + 2 * pad - dilation * (kernel - 1) - 1) // stride + 1


def pad2d(x, pad, mode):
    top, bottom, left, right = pad
    return np.pad(np.asarray(x, dtype=float), ((top, bottom), (left, right)), mode=NP_MODE[mode])


def conv2d(x, w, b, stride=1, pad=0, dilation=1):
    return conv_forward_naive(x, w, b, stride, pad, dilation)[0]


def conv2d_fast(x, w, b, stride=1, pad=0, dilation=1):
    return conv_forward_fast(x, w, b, stride, pad, dilation)[0]


def strided_from_full(full, stride):
    return full[:, :, ::stride, ::stride]


SOLUTIONS = {
    "pad.output_size": output_size, "pad.pad": pad2d, "pad.conv2d": conv2d, "pad.conv_fast": conv2d_fast,
    "pad.strided_from_full": strided_from_full, "pad.same_padding": same_padding, "pad.im2col": im2col,
}


@pytest.mark.parametrize("exercise_id", sorted(SOLUTIONS))
def test_solution_passes(exercise_id):
    result = run_check(exercise_id, SOLUTIONS[exercise_id])
    assert result.status == PASSED, result.message


@pytest.mark.parametrize("exercise_id", sorted(SOLUTIONS))
def test_not_implemented_is_not_attempted(exercise_id):
    assert run_check(exercise_id, _not_implemented).status == NOT_ATTEMPTED
    assert run_check(exercise_id, ...).status == NOT_ATTEMPTED


# ----------------------------------------------------------------------------- mutants
def _conv_with(x, w, b, stride=1, pad=0, dilation=1):
    return conv_forward_fast(x, w, b, stride, pad, dilation)[0]


def conv_stride_on_input(x, w, b, stride=1, pad=0, dilation=1):
    return _conv_with(x[:, :, ::stride, ::stride], w, b, 1, pad, dilation)


def conv_dilation_as_stride(x, w, b, stride=1, pad=0, dilation=1):
    return _conv_with(x, w, b, stride * dilation, pad, 1)


def conv_pad_one_side(x, w, b, stride=1, pad=0, dilation=1):
    xp = np.pad(x, ((0, 0), (0, 0), (pad, 0), (pad, 0)))
    return _conv_with(xp, w, b, stride, 0, dilation)


def conv_off_by_one(x, w, b, stride=1, pad=0, dilation=1):
    return _conv_with(x, w, b, stride, pad, dilation)[:, :, :-1, :-1]


def conv_flipped(x, w, b, stride=1, pad=0, dilation=1):
    return _conv_with(x, w[:, :, ::-1, ::-1].copy(), b, stride, pad, dilation)


def conv_no_bias(x, w, b, stride=1, pad=0, dilation=1):
    return _conv_with(x, w, np.zeros_like(b), stride, pad, dilation)


def conv_ceil_size(x, w, b, stride=1, pad=0, dilation=1):
    # computes ceil-many outputs by zero-padding the bottom/right so one more window fits
    H, W = x.shape[2:]
    span = dilation * (np.array(w.shape[2:]) - 1) + 1
    extra = [(-(H + 2 * pad - span[0])) % stride, (-(W + 2 * pad - span[1])) % stride]
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad + extra[0]), (pad, pad + extra[1])))
    return _conv_with(xp, w, b, stride, 0, dilation)


def conv_int_dtype(x, w, b, stride=1, pad=0, dilation=1):
    return np.round(_conv_with(x, w, b, stride, pad, dilation)).astype(np.int64)


def conv_channels_last(x, w, b, stride=1, pad=0, dilation=1):
    return _conv_with(x, w, b, stride, pad, dilation).transpose(0, 2, 3, 1)


def conv_first_channel(x, w, b, stride=1, pad=0, dilation=1):
    return _conv_with(x[:, :1], w[:, :1], b, stride, pad, dilation)


def conv_dilated_start(x, w, b, stride=1, pad=0, dilation=1):
    # the window start moves by S*D (dilation applied to the window start as well as to the taps)
    return _conv_with(x, w, b, stride * dilation, pad, dilation)


def conv_span_d_times_k(x, w, b, stride=1, pad=0, dilation=1):
    # the loop version with span D*Fh: the same taps, but fewer windows fit
    out = _conv_with(x, w, b, stride, pad, dilation)
    Fh, Fw = w.shape[2:]
    h2 = (x.shape[2] + 2 * pad - dilation * Fh) // stride + 1
    w2 = (x.shape[3] + 2 * pad - dilation * Fw) // stride + 1
    return out[:, :, :h2, :w2]


def _conv_padded(before, after):
    def conv(x, w, b, stride=1, pad=0, dilation=1):
        xp = np.pad(x, ((0, 0), (0, 0), (before * pad, after * pad), (before * pad, after * pad)))
        return _conv_with(xp, w, b, stride, 0, dilation)
    return conv


def conv_square(x, w, b, stride=1, pad=0, dilation=1):
    # computes W' = H' (assumes a square input): extra columns are zeros, missing ones are cut off
    out = _conv_with(x, w, b, stride, pad, dilation)
    H_out, W_out = out.shape[2:]
    square = np.zeros(out.shape[:2] + (H_out, H_out))
    square[..., :min(H_out, W_out)] = out[..., :min(H_out, W_out)]
    return square


def _fast_with(cols_order="cpq", weights="reshape", swap="transpose"):
    def conv(x, w, b, stride=1, pad=0, dilation=1):
        N, _, H, W = x.shape
        K, C, Fh, Fw = w.shape
        cols = im2col(x, (Fh, Fw), stride, pad, dilation)
        if cols_order == "pqc":
            cols = cols.reshape(C, Fh, Fw, -1).transpose(1, 2, 0, 3).reshape(C * Fh * Fw, -1)
        w_mat = w.reshape(K, -1) if weights == "reshape" else w.reshape(C * Fh * Fw, K).T
        H_out = (H + 2 * pad - dilation * (Fh - 1) - 1) // stride + 1
        W_out = (W + 2 * pad - dilation * (Fw - 1) - 1) // stride + 1
        out = w_mat @ cols + b[:, None]
        if swap == "none":
            return out.reshape(K, N, H_out, W_out)
        if swap == "reshape":
            return out.reshape(N, K, H_out, W_out)
        return out.reshape(K, N, H_out, W_out).transpose(1, 0, 2, 3)
    return conv


CONV_MUTANTS = {
    "only the first channel": (conv_first_channel, "only the first channel"),
    "dilation applied to the window start": (conv_dilated_start, "not S*D"),
    "span D*F_h": (conv_span_d_times_k, "not D*F_h"),
    "padding 2P before, 0 after": (_conv_padded(2, 0), "you padded"),
    "padding 2P before, P after": (_conv_padded(2, 1), "you padded"),
    "padding P before, 2P after": (_conv_padded(1, 2), "you padded"),
    "assumes a square input": (conv_square, "your result is square"),
    "im2col rows (p, q, c)": (_fast_with(cols_order="pqc"), "ordered differently"),
    "weights reshaped (C*Fh*Fw, K).T": (_fast_with(weights="mixed"), "w.reshape(C*F_h*F_w, K)"),
    "no (K, N) swap": (_fast_with(swap="none"), "swap the first two axes"),
    "reshape instead of swap": (_fast_with(swap="reshape"), "mixes filters and images"),
    "returns a list": (lambda *args: _conv_with(*args).tolist(), "Python list"),
    "stride applied to the input": (conv_stride_on_input, "applied the stride to the input"),
    "dilation treated as stride": (conv_dilation_as_stride, "does not move the window"),
    "padding on one side only": (conv_pad_one_side, "padded only the top and left"),
    "off-by-one output size": (conv_off_by_one, "off by one"),
    "flipped kernel": (conv_flipped, "no kernel flip"),
    "bias forgotten": (conv_no_bias, "bias is missing"),
    "ceil instead of floor": (conv_ceil_size, "expected shape"),
    "integer result": (conv_int_dtype, "dtype int64"),
    "channels last": (conv_channels_last, "expected shape"),
}


@pytest.mark.parametrize("exercise_id", ["pad.conv2d", "pad.conv_fast"])
@pytest.mark.parametrize("name", sorted(CONV_MUTANTS))
def test_conv_mutants_rejected(exercise_id, name):
    mutant, hint = CONV_MUTANTS[name]
    result = run_check(exercise_id, mutant)
    assert result.status == FAILED, name
    assert hint in result.message, result.message


SIZE_MUTANTS = {
    "ceil instead of floor": (lambda n, k, s=1, p=0, d=1: math.ceil((n + 2 * p - d * (k - 1) - 1) / s) + 1, "floor, not ceil"),
    "missing + 1": (lambda n, k, s=1, p=0, d=1: (n + 2 * p - d * (k - 1) - 1) // s, "one short"),
    "dilation ignored": (lambda n, k, s=1, p=0, d=1: (n + 2 * p - k) // s + 1, "D*(F - 1) + 1 positions"),
    "pad on one side": (lambda n, k, s=1, p=0, d=1: (n + p - d * (k - 1) - 1) // s + 1, "both sides"),
    "span D*k": (lambda n, k, s=1, p=0, d=1: (n + 2 * p - d * k) // s + 1, "not D*F."),
    "true division": (lambda n, k, s=1, p=0, d=1: (n + 2 * p - d * (k - 1) - 1) / s + 1, ""),
    "stride ignored": (lambda n, k, s=1, p=0, d=1: n + 2 * p - d * (k - 1), ""),
}


@pytest.mark.parametrize("name", sorted(SIZE_MUTANTS))
def test_output_size_mutants_rejected(name):
    mutant, hint = SIZE_MUTANTS[name]
    result = run_check("pad.output_size", mutant)
    assert result.status == FAILED, name
    assert hint in result.message, result.message


PAD_MUTANTS = {
    "numpy symmetric for reflect": (
        lambda x, pad, mode: pad2d(x, pad, mode) if mode != "reflect" else
        np.pad(x, ((pad[0], pad[1]), (pad[2], pad[3])), mode="symmetric"), "numpy's 'symmetric'"),
    "replicate and reflect swapped": (
        lambda x, pad, mode: pad2d(x, pad, {"reflect": "replicate", "replicate": "reflect"}.get(mode, mode)),
        "that is 'replicate'"),
    "replicate as symmetric": (
        lambda x, pad, mode: np.pad(x, ((pad[0], pad[1]), (pad[2], pad[3])), mode="symmetric") if mode == "replicate"
        else pad2d(x, pad, mode), "'replicate' copies only the edge pixel"),
    "one side only": (lambda x, pad, mode: pad2d(x, (pad[0], 0, pad[2], 0), mode), "expected shape"),
    "sides swapped": (lambda x, pad, mode: pad2d(x, (pad[1], pad[0], pad[3], pad[2]), mode), "swapped"),
    "circular from the near side": (
        lambda x, pad, mode: np.concatenate([
            (y := np.concatenate([x[:pad[0]], x, x[x.shape[0] - pad[1]:]], 0))[:, :pad[2]], y,
            y[:, y.shape[1] - pad[3]:]], 1) if mode == "circular" else pad2d(x, pad, mode), "wraps around"),
    "zeros as edge": (lambda x, pad, mode: pad2d(x, pad, "replicate" if mode == "zeros" else mode), "constant 0"),
    "integer result": (lambda x, pad, mode: pad2d(x, pad, mode).astype(int), "dtype"),
    "no float conversion": (
        lambda x, pad, mode: np.pad(x, ((pad[0], pad[1]), (pad[2], pad[3])), mode=NP_MODE[mode]), "floating-point"),
    "returns a list": (lambda x, pad, mode: pad2d(x, pad, mode).tolist(), "Python list"),
}


@pytest.mark.parametrize("name", sorted(PAD_MUTANTS))
def test_pad_mutants_rejected(name):
    mutant, hint = PAD_MUTANTS[name]
    result = run_check("pad.pad", mutant)
    assert result.status == FAILED, name
    assert hint in result.message, result.message


STRIDE_MUTANTS = {
    "starts at S - 1": (lambda full, s: full[:, :, s - 1::s, s - 1::s], "start at output 0"),
    "rows only": (lambda full, s: full[:, :, ::s, :], "both spatial axes"),
    "wrong axes": (lambda full, s: full[::s, ::s], "spatial axes"),
    "drops the incomplete tail": (lambda full, s: full[:, :, :(full.shape[2] // s) * s:s, :(full.shape[3] // s) * s:s],
                                  "keep the positions"),
    "integer division of the values": (lambda full, s: full[:, :, ::s, ::s] / s, ""),
    "returns a list": (lambda full, s: full[:, :, ::s, ::s].tolist(), "Python list"),
}


@pytest.mark.parametrize("name", sorted(STRIDE_MUTANTS))
def test_strided_mutants_rejected(name):
    mutant, hint = STRIDE_MUTANTS[name]
    result = run_check("pad.strided_from_full", mutant)
    assert result.status == FAILED, name
    assert hint in result.message, result.message


def _span(k, d):
    return d * (k - 1) + 1


SAME_MUTANTS = {
    "dilation ignored": (lambda k, d=1: ((k - 1) // 2, (k - 1) - (k - 1) // 2), "dilation widens"),
    "extra on the wrong side": (lambda k, d=1: ((_span(k, d) - 1) - (_span(k, d) - 1) // 2, (_span(k, d) - 1) // 2),
                                "extra row goes after"),
    "total = span": (lambda k, d=1: (_span(k, d) // 2, _span(k, d) - _span(k, d) // 2), "total padding is span - 1"),
    "half as float": (lambda k, d=1: ((_span(k, d) - 1) / 2, (_span(k, d) - 1) / 2), "float"),
    "whole floats": (lambda k, d=1: (float((_span(k, d) - 1) // 2), float(_span(k, d) - 1 - (_span(k, d) - 1) // 2)),
                     "return two ints"),
    "halves as floats, not whole": (lambda k, d=1: ((_span(k, d) - 1) / 2 + 0.5 * (k == 1), 0.0), "not a whole"),
    "single int": (lambda k, d=1: (_span(k, d) - 1) // 2, "expected a pair"),
}


@pytest.mark.parametrize("name", sorted(SAME_MUTANTS))
def test_same_padding_mutants_rejected(name):
    mutant, hint = SAME_MUTANTS[name]
    result = run_check("pad.same_padding", mutant)
    assert result.status == FAILED, name
    assert hint in result.message, result.message


def _im2col_rows(x, kernel, stride=1, pad=0, dilation=1):
    return im2col(x, kernel, stride, pad, dilation).T


def _im2col_stride_on_input(x, kernel, stride=1, pad=0, dilation=1):
    return im2col(x[:, :, ::stride, ::stride], kernel, 1, pad, dilation)


def _im2col_no_dilation(x, kernel, stride=1, pad=0, dilation=1):
    return im2col(x, kernel, stride, pad, 1)


def _im2col_positions_first(x, kernel, stride=1, pad=0, dilation=1):
    cols = im2col(x, kernel, stride, pad, dilation)
    n = x.shape[0]
    return cols.reshape(cols.shape[0], n, -1).transpose(0, 2, 1).reshape(cols.shape[0], -1)


def _im2col_no_pad(x, kernel, stride=1, pad=0, dilation=1):
    return im2col(x, kernel, stride, 0, dilation)


def _im2col_pqc(x, kernel, stride=1, pad=0, dilation=1):
    cols = im2col(x, kernel, stride, pad, dilation)
    return cols.reshape(x.shape[1], kernel[0], kernel[1], -1).transpose(1, 2, 0, 3).reshape(cols.shape)


def _im2col_first_channel(x, kernel, stride=1, pad=0, dilation=1):
    return im2col(x[:, :1], kernel, stride, pad, dilation)


def _im2col_span_d_times_k(x, kernel, stride=1, pad=0, dilation=1):
    from numpy.lib.stride_tricks import sliding_window_view
    Fh, Fw = kernel
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = sliding_window_view(xp, (dilation * Fh, dilation * Fw), axis=(2, 3))
    windows = windows[:, :, ::stride, ::stride, ::dilation, ::dilation]
    N, C, H_out, W_out = windows.shape[:4]
    return windows.transpose(1, 4, 5, 0, 2, 3).reshape(C * Fh * Fw, N * H_out * W_out)


def _im2col_square(x, kernel, stride=1, pad=0, dilation=1):
    # assumes W == H: crops or zero-pads the input to a square before building the columns
    N, C, H, W = x.shape
    square = np.zeros((N, C, H, H))
    square[..., :min(H, W)] = x[..., :min(H, W)]
    return im2col(square, kernel, stride, pad, dilation)


IM2COL_MUTANTS = {
    "rows ordered (p, q, c)": (_im2col_pqc, "order the rows (c, p, q)"),
    "only the first channel": (_im2col_first_channel, "only the first channel"),
    "span D*F_h": (_im2col_span_d_times_k, "not D*F_h"),
    "assumes a square input": (_im2col_square, "not square"),
    "returns a list": (lambda *args: im2col(*args).tolist(), "Python list"),
    "transposed": (_im2col_rows, "transpose"),
    "stride on the input": (_im2col_stride_on_input, "applied the stride to the input"),
    "dilation ignored": (_im2col_no_dilation, "D apart"),
    "positions before images": (_im2col_positions_first, "order the columns"),
    "padding ignored": (_im2col_no_pad, "expected shape"),
}


@pytest.mark.parametrize("name", sorted(IM2COL_MUTANTS))
def test_im2col_mutants_rejected(name):
    mutant, hint = IM2COL_MUTANTS[name]
    result = run_check("pad.im2col", mutant)
    assert result.status == FAILED, name
    assert hint in result.message, result.message


# ----------------------------------------------------------------------------- dtypes, memory layouts, partly written
def _loop_conv(x, w, b, stride=1, pad=0, dilation=1, out_dtype=None):
    """The position loop of the exercise; out_dtype="input" allocates the output with x's dtype."""
    N, C, H, W = x.shape
    K, _, Fh, Fw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    span_h, span_w = dilation * (Fh - 1) + 1, dilation * (Fw - 1) + 1
    shape = (N, K, (H + 2 * pad - span_h) // stride + 1, (W + 2 * pad - span_w) // stride + 1)
    out = np.zeros(shape, dtype=x.dtype) if out_dtype == "input" else np.zeros(shape)
    for i in range(shape[2]):
        for j in range(shape[3]):
            window = xp[:, :, i * stride:i * stride + span_h:dilation, j * stride:j * stride + span_w:dilation]
            out[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out


def _windows_from_shape(a, window_shape, itemsize=None):
    """Every stride-1 window of the last two axes by as_strided, with strides computed from the *shape* as if
    ``a`` were C-contiguous (and, with ``itemsize=8``, float64): right only for such arrays."""
    item = a.itemsize if itemsize is None else itemsize
    *lead, H, W = a.shape
    fh, fw = window_shape
    strides = []
    size = item
    for n in reversed(a.shape):
        strides.insert(0, size)
        size *= n
    shape = (*lead, H - fh + 1, W - fw + 1, fh, fw)
    return np.lib.stride_tricks.as_strided(a, shape, tuple(strides) + tuple(strides[-2:]))


def _strided_im2col(itemsize=None):
    def im2col_strided(x, kernel, stride=1, pad=0, dilation=1):
        Fh, Fw = kernel
        xp = x if pad == 0 else np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
        span = (dilation * (Fh - 1) + 1, dilation * (Fw - 1) + 1)
        windows = _windows_from_shape(xp, span, itemsize)[:, :, ::stride, ::stride, ::dilation, ::dilation]
        N, C, H_out, W_out = windows.shape[:4]
        return windows.transpose(1, 4, 5, 0, 2, 3).reshape(C * Fh * Fw, N * H_out * W_out)
    return im2col_strided


def _strided_conv(itemsize=None):
    cols_of = _strided_im2col(itemsize)

    def conv_strided(x, w, b, stride=1, pad=0, dilation=1):
        N = x.shape[0]
        K, C, Fh, Fw = w.shape
        cols = cols_of(x, (Fh, Fw), stride, pad, dilation)
        H_out = (x.shape[2] + 2 * pad - dilation * (Fh - 1) - 1) // stride + 1
        W_out = (x.shape[3] + 2 * pad - dilation * (Fw - 1) - 1) // stride + 1
        return (w.reshape(K, -1) @ cols + b[:, None]).reshape(K, N, H_out, W_out).transpose(1, 0, 2, 3)
    return conv_strided


def _strided_subsample(itemsize=None):
    def strided(full, stride):
        return _windows_from_shape(full, (1, 1), itemsize)[:, :, ::stride, ::stride, 0, 0]
    return strided


def _pad_into_input_dtype(x, pad, mode):
    # allocates the padded image with x's dtype, then fills it: an integer image stays integer
    out = np.zeros((x.shape[0] + pad[0] + pad[1], x.shape[1] + pad[2] + pad[3]), dtype=x.dtype)
    out[...] = pad2d(x, pad, mode)
    return out


LAYOUT_MUTANTS = {   # exercise id, wrong answer, the variant (case label) that must expose it, hint
    "conv2d: output allocated with x.dtype": ("pad.conv2d", lambda *a: _loop_conv(*a, out_dtype="input"),
                                             "(integer)", "np.zeros_like of an integer array"),
    "conv_fast: output allocated with x.dtype": ("pad.conv_fast", lambda *a: _loop_conv(*a, out_dtype="input"),
                                                "(integer)", "expected a floating-point array"),
    "conv2d: as_strided assuming 8-byte items": ("pad.conv2d", _strided_conv(itemsize=8), "(float32)", "4 bytes, not 8"),
    "conv2d: as_strided assuming C order": ("pad.conv2d", _strided_conv(), "(non-contiguous)", "strides computed from its shape"),
    "conv_fast: as_strided assuming C order": ("pad.conv_fast", _strided_conv(), "(non-contiguous)", "strides computed from its shape"),
    "im2col: as_strided assuming 8-byte items": ("pad.im2col", _strided_im2col(itemsize=8), "(float32)", "4 bytes, not 8"),
    "im2col: as_strided assuming C order": ("pad.im2col", _strided_im2col(), "(non-contiguous)", "strides computed from its shape"),
    "strided: as_strided assuming 8-byte items": ("pad.strided_from_full", _strided_subsample(itemsize=8),
                                                  "(float32", "4 bytes, not 8"),
    "strided: as_strided assuming C order": ("pad.strided_from_full", _strided_subsample(), "(non-contiguous", "strides computed from its shape"),
    "pad: output allocated with x.dtype": ("pad.pad", _pad_into_input_dtype, "(integer)", "floating-point"),
}


@pytest.mark.parametrize("name", sorted(LAYOUT_MUTANTS))
def test_dtype_and_layout_mutants_rejected(name):
    exercise_id, mutant, variant, hint = LAYOUT_MUTANTS[name]
    result = run_check(exercise_id, mutant)
    assert result.status == FAILED, name
    assert variant in result.message.splitlines()[0], result.message
    assert hint in result.message, result.message


def test_the_layout_mutants_are_right_on_plain_float64():
    """The as_strided answers fail only because of the variants (not a bug of the planted answer itself)."""
    rng = np.random.default_rng(0)
    x, w, b = rng.normal(size=(2, 3, 7, 9)), rng.normal(size=(4, 3, 3, 2)), rng.normal(size=4)
    assert np.allclose(_strided_conv(itemsize=8)(x, w, b, 2, 0, 2), conv2d(x, w, b, 2, 0, 2))
    assert np.allclose(_strided_im2col()(x, (3, 2), 1, 0, 1), im2col(x, (3, 2), 1, 0, 1))
    assert np.allclose(_strided_subsample(itemsize=8)(x, 3), strided_from_full(x, 3))
    assert np.allclose(_loop_conv(x, w, b, 2, 1, 1), conv2d(x, w, b, 2, 1, 1))
    assert np.allclose(_pad_into_input_dtype(x[0, 0], (1, 2, 0, 1), "reflect"), pad2d(x[0, 0], (1, 2, 0, 1), "reflect"))


PARTLY_WRITTEN = {
    "pad.output_size": partly_written(output_size, lambda n, k, s=1, p=0, d=1: d > 1),
    "pad.pad": partly_written(pad2d, lambda x, pad, mode: mode == "circular"),
    "pad.conv2d": partly_written(conv2d, lambda x, w, b, s=1, p=0, d=1: w.shape[2] != w.shape[3]),
    "pad.conv_fast": partly_written(conv2d_fast, lambda x, w, b, s=1, p=0, d=1: d > 1),
    "pad.strided_from_full": partly_written(strided_from_full, lambda full, s: s > 2),
    "pad.same_padding": partly_written(same_padding, lambda k, d=1: k % 2 == 0),
    "pad.im2col": partly_written(im2col, lambda x, kernel, s=1, p=0, d=1: p > 0),
}


@pytest.mark.parametrize("exercise_id", sorted(PARTLY_WRITTEN))
def test_a_partly_written_answer_fails(exercise_id):
    result = run_check(exercise_id, PARTLY_WRITTEN[exercise_id])
    assert result.status == FAILED, result.message
    assert "partly written" in result.message and "failed on case" in result.message


# ----------------------------------------------------------------------------- one integer rule for sizes
@pytest.mark.parametrize("kind", ["numpy int64", "torch integer"])
def test_integer_scalars_count_as_ints(kind):
    import torch

    as_int = np.int64 if kind == "numpy int64" else torch.tensor
    assert run_check("pad.output_size", lambda *args: as_int(output_size(*args))).status == PASSED
    result = run_check("pad.same_padding", lambda k, d=1: tuple(as_int(v) for v in same_padding(k, d)))
    assert result.status == PASSED, result.message


FLOAT_SIZES = {
    "output size as a whole float": ("pad.output_size", lambda *args: float(output_size(*args)), "should be an int"),
    "output size as np.float64": ("pad.output_size", lambda *args: np.float64(output_size(*args)),
                                  "return an int (floor division //)"),
    "output size as a bool": ("pad.output_size", lambda *args: output_size(*args) > 0, "should be an int"),
    "same padding as np.float64": ("pad.same_padding", lambda k, d=1: tuple(np.float64(v) for v in same_padding(k, d)),
                                   "return two ints"),
}


@pytest.mark.parametrize("name", sorted(FLOAT_SIZES))
def test_sizes_that_are_not_ints_are_rejected(name):
    exercise_id, mutant, hint = FLOAT_SIZES[name]
    result = run_check(exercise_id, mutant)
    assert result.status == FAILED, name
    assert hint in result.message, result.message


def test_utils_shapes_follows_the_same_integer_rule():
    """The workbook's own size functions (the references of pad.output_size and pad.same_padding) accept NumPy
    and torch integer scalars and refuse floats and bools, like the checks."""
    import torch

    from utils.shapes import conv_output_size

    assert conv_output_size(np.int64(31), torch.tensor(3), stride=np.int32(2), pad=1) == 16
    assert type(conv_output_size(np.int64(31), 3)) is int
    assert same_padding(np.int64(4)) == (1, 2) and type(same_padding(np.int64(4))[0]) is int
    for bad in (31.0, np.float64(31), True, np.bool_(True), torch.tensor(31.0)):
        with pytest.raises(TypeError):
            conv_output_size(bad, 3)


# ----------------------------------------------------------------------------- references for demonstrations
@pytest.mark.parametrize("exercise_id", sorted(SOLUTIONS))
def test_the_registered_reference_passes_its_check(exercise_id):
    from utils.checks import get_reference

    result = run_check(exercise_id, get_reference(exercise_id))
    assert result.status == PASSED, result.message


def test_a_demonstration_uses_the_reference_until_the_answer_passes(capsys):
    from utils.checks import get_reference, yours_or_reference

    assert yours_or_reference("pad.conv2d", _not_implemented, "conv2d") is get_reference("pad.conv2d")
    assert "not written yet" in capsys.readouterr().out
    assert yours_or_reference("pad.conv2d", conv_flipped, "conv2d") is get_reference("pad.conv2d")
    assert "does not pass its check" in capsys.readouterr().out
    assert yours_or_reference("pad.conv2d", conv2d) is conv2d
    assert "using your conv2d" in capsys.readouterr().out
