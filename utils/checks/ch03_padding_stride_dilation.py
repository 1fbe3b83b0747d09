"""Checks for chapter 03 (padding, stride and dilation).

References are PyTorch in float64: ``F.conv1d``/``F.conv2d`` (output sizes, convolutions, and subsampling as a
1x1 convolution with a stride), ``F.pad`` (the four padding modes), ``F.unfold`` (im2col), and
``padding="same"`` for the same-padding rule. Every array input is also tried in each variant of
``array_variants`` (float32, integer, non-contiguous, Fortran order), the reference recomputed from it.

Messages use the workbook's notation: filter size F (F_h x F_w), stride S, padding P, dilation D, K filters,
n and n' for the input and output size along one axis.

The ``@reference`` functions at the end are the workbook's own answers, which demonstrations use while the
student's answer is missing or does not pass its check.
"""

from __future__ import annotations

import functools
import numbers
import warnings

import numpy as np
import torch
import torch.nn.functional as F

from utils.layers import conv_forward_fast, im2col as _im2col_reference
from utils.shapes import conv_output_size as _output_size_reference, same_padding as _same_padding_reference

from .compare import (array_variants, assert_array_matches, assert_equal, call, require_callable, require_float,
                      to_array)
from .core import CheckFailed, implemented_by, reference, register

MODES = ("zeros", "reflect", "replicate", "circular")


def _t(a) -> torch.Tensor:
    return torch.from_numpy(np.asarray(a, dtype=np.float64))


def _shape_hint(got, expected_shape, hint: str) -> str:
    """A result with square spatial axes where the expected ones are not: the answer assumed H == W."""
    shape = getattr(got, "shape", None)
    if shape is not None and len(shape) == len(expected_shape) and tuple(shape) != tuple(expected_shape):
        h, w = expected_shape[-2:]
        if h != w and shape[-2] == shape[-1]:
            return ("your result is square, but this input is not (H != W): compute the output height from H and "
                    "the output width from W. " + hint)
    return hint


def _variant_hint(label: str, hint: str) -> str:
    """The hint for a case that differs from one that passed only in the input's dtype or memory layout."""
    if label == "float32":
        return ("the same case in float64 passed; in float32 a number takes 4 bytes, not 8: strides computed "
                "for float64 (if you use as_strided) read the wrong memory. Use the array's own .strides, or "
                "sliding_window_view. " + hint)
    if label in ("non-contiguous", "Fortran order"):
        return (f"the same case passed on a C-ordered array; this input is {label}, so strides computed from "
                "its shape do not describe its memory. Use the array's own .strides, or sliding_window_view "
                "(or np.ascontiguousarray first). " + hint)
    return hint


# --------------------------------------------------------------------------------------------- output size
@functools.lru_cache(maxsize=None)
def _torch_size(n, k, s, p, d) -> int:
    return F.conv1d(torch.zeros(1, 1, n), torch.zeros(1, 1, k), stride=s, padding=p, dilation=d).shape[-1]


def _size_configs():
    yield 28, 5, 1, 0, 1     # valid: 24
    yield 28, 5, 1, 2, 1     # same: 28
    yield 7, 3, 2, 0, 1      # integer case of (n'-1)S + F = n + 2P
    yield 8, 3, 2, 0, 1      # not an integer: the last row is left out
    yield 31, 3, 2, 1, 1     # the benchmark layer: 16
    yield 10, 3, 1, 0, 2     # dilation 2: span 5 -> 6
    yield 32, 3, 3, 1, 1
    rng = np.random.default_rng(3)
    count = 0
    while count < 300:
        n, k, s, p, d = (int(v) for v in (rng.integers(1, 40), rng.integers(1, 8), rng.integers(1, 5),
                                          rng.integers(0, 4), rng.integers(1, 4)))
        if d * (k - 1) + 1 <= n + 2 * p:
            count += 1
            yield n, k, s, p, d


implemented_by("pad.output_size", "utils.checks.ch03_padding_stride_dilation._torch_size")


@register("pad.output_size")
def check_output_size(answer) -> str:
    fn = require_callable(answer, "conv_output_size(n, kernel, stride, pad, dilation)")
    count = 0
    for n, k, s, p, d in _size_configs():
        case = f"n={n}, kernel={k}, stride={s}, pad={p}, dilation={d}"
        got = call(fn, n, k, s, p, d, case=case)
        expected = _torch_size(n, k, s, p, d)
        span = d * (k - 1) + 1
        numerator = n + 2 * p - span
        wrong = {
            -(-numerator // s) + 1: "round down: a window that would stick out past the padded input is not computed "
                                    "(floor, not ceil).",
            numerator // s: "you are one short: count the first window too (the formula ends in + 1).",
            (n + 2 * p - k) // s + 1: "with dilation D a kernel of F taps spans D*(F - 1) + 1 positions, not F.",
            (n + p - span) // s + 1: "pad is added on both sides: the padded length is n + 2*pad.",
            (n + 2 * p - d * k) // s + 1: "the span of a dilated kernel is D*(F - 1) + 1, not D*F.",
            round(numerator / s) + 1: "use integer floor division: (n + 2P - span) // S + 1.",
        }
        integer = isinstance(got, numbers.Integral) and not isinstance(got, bool)
        if integer and got != expected:
            hint = wrong.get(int(got), "")
        elif isinstance(got, numbers.Real) and not isinstance(got, bool) and not integer:
            hint = "n' counts outputs: return an int (floor division //), not the float that / gives."
        else:
            hint = ""
        assert_equal(got, expected, case=case, what="the output size",
                     hint=hint or "n' = floor((n + 2P - D(F-1) - 1) / S) + 1")
        count += 1
    return f"{count} configurations"


# --------------------------------------------------------------------------------------------- padding
def _torch_pad(x, pad, mode):
    top, bottom, left, right = pad
    mode = "constant" if mode == "zeros" else mode
    return F.pad(_t(x)[None, None], (left, right, top, bottom), mode=mode)[0, 0].numpy()


def _np_pad(x, pad, mode):
    top, bottom, left, right = pad
    return np.pad(x, ((top, bottom), (left, right)), mode=mode)


def _pad_cases():
    """(label, x, pad): readable cases first, then random images in every dtype and memory layout."""
    yield "float64", np.array([[1.0, 2.0, 3.0]]), (0, 0, 2, 2)          # the [a, b, c] row of the text
    yield "float64", np.arange(12.0).reshape(3, 4), (1, 1, 1, 1)
    yield "float64", np.arange(20.0).reshape(4, 5), (2, 1, 0, 3)         # different on every side
    yield "integer", np.arange(1, 13).reshape(3, 4), (1, 2, 2, 1)        # an integer image: the result is float
    yield "uint8", np.array([[0, 255, 128], [64, 32, 16]], dtype=np.uint8), (1, 1, 1, 2)
    rng = np.random.default_rng(4)
    for shape, pad in [((5, 3), (1, 2, 2, 1)), ((6, 7), (3, 3, 3, 3)), ((2, 9), (1, 0, 4, 2)),
                       ((7, 4), (0, 2, 1, 1)), ((4, 4), (2, 2, 2, 2))]:
        for label, x in array_variants(rng.normal(size=shape)):
            yield label, x, pad


def _near_side_copy(x, pad):
    """A wrong 'circular': each border copies the pixels next to it instead of those at the far end."""
    top, bottom, left, right = pad
    y = np.concatenate([x[:top], x, x[x.shape[0] - bottom:]], axis=0)
    return np.concatenate([y[:, :left], y, y[:, y.shape[1] - right:]], axis=1)


implemented_by("pad.pad", "utils.checks.ch03_padding_stride_dilation._torch_pad")


@register("pad.pad")
def check_pad(answer) -> str:
    fn = require_callable(answer, "pad2d(x, pad, mode)")
    count = 0
    for mode in MODES:
        for label, x, pad in _pad_cases():
            case = f"x of shape {x.shape} ({label}), pad (top, bottom, left, right) = {pad}, mode={mode!r}"
            got = call(fn, x, pad, mode, case=case)
            require_float(got, case=case)
            expected = _torch_pad(x, pad, mode)
            top, bottom, left, right = pad
            mistakes = {}
            if mode == "reflect":
                mistakes["that is numpy's 'symmetric' (edge pixel repeated: [a,b,c] -> [b,a,a,b,c,c,b]). PyTorch's "
                          "'reflect' mirrors about the edge pixel without repeating it: [c,b,a,b,c,b,a]."] = \
                    _np_pad(x, pad, "symmetric")
                mistakes["that is 'replicate' (the edge pixel copied outwards); 'reflect' mirrors the pixels "
                          "next to the edge."] = _np_pad(x, pad, "edge")
            if mode == "replicate":
                mistakes["that is a reflection; 'replicate' copies the edge pixel itself outwards: "
                          "[a,b,c] -> [a,a,b,c,c]."] = _np_pad(x, pad, "reflect")
                mistakes["that is numpy's 'symmetric'; 'replicate' copies only the edge pixel: "
                          "[a,b,c] -> [a,a,a,b,c,c,c]."] = _np_pad(x, pad, "symmetric")
            if mode == "circular" and max(pad) > 0:
                mistakes["circular padding wraps around: the left padding comes from the *right* end of the row "
                          "(and the top from the bottom): [a,b,c] -> [b,c,a,b,c,a,b]."] = _near_side_copy(x, pad)
            if mode == "zeros":
                mistakes["'zeros' pads with the constant 0, not with the edge value."] = _np_pad(x, pad, "edge")
            if (top, left) != (bottom, right):
                numpy_mode = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}[mode]
                mistakes["top/bottom or left/right are swapped: pad = (top, bottom, left, right)."] = \
                    _np_pad(x, (bottom, top, right, left), numpy_mode)
            assert_array_matches(got, expected, case=case, known_mistakes=mistakes,
                                 hint=_variant_hint(label, "the result has shape (H + top + bottom, W + left + "
                                                           "right); compare with F.pad(x, (left, right, top, "
                                                           "bottom), mode=...) on this case."))
            count += 1
    return f"{count} cases, 4 modes, every dtype and memory layout"


# --------------------------------------------------------------------------------------------- convolution
def _torch_conv(x, w, b, s=1, p=0, d=1):
    return F.conv2d(_t(x), _t(w), _t(b), stride=s, padding=p, dilation=d).numpy()


def _conv_configs(large: bool = False):
    """(x shape, w shape, stride, pad, dilation): small readable ones first, then every combination."""
    yield (1, 1, 5, 5), (1, 1, 3, 3), 1, 0, 1
    yield (1, 1, 5, 6), (1, 1, 3, 3), 1, 1, 1
    yield (1, 1, 7, 7), (1, 1, 3, 3), 2, 0, 1
    yield (1, 1, 8, 9), (1, 1, 3, 3), 2, 1, 1       # stride does not divide: last row/column ignored
    yield (1, 1, 9, 9), (1, 1, 3, 3), 1, 0, 2
    yield (2, 3, 7, 9), (4, 3, 3, 3), 2, 1, 1
    yield (3, 2, 10, 8), (2, 2, 3, 2), 1, 2, 2
    yield (2, 2, 11, 7), (3, 2, 2, 3), 3, 1, 1
    yield (2, 3, 9, 12), (2, 3, 5, 5), 2, 2, 1
    yield (1, 2, 12, 10), (3, 2, 3, 3), 2, 2, 3
    yield (4, 1, 6, 6), (2, 1, 1, 1), 2, 0, 1
    yield (2, 2, 13, 11), (2, 2, 4, 3), 3, 0, 2
    if large:
        yield (8, 3, 31, 31), (25, 3, 3, 3), 2, 1, 1
        yield (4, 5, 28, 20), (6, 5, 5, 5), 1, 2, 1
        yield (3, 4, 33, 17), (5, 4, 3, 3), 2, 3, 3


def _conv_mistakes(x, w, b, s, p, d, expected):
    """The results of the known wrong convolutions on this case (computed only when the answer is wrong)."""
    m = {}
    if s > 1:
        xs = x[:, :, ::s, ::s]
        try:
            m["you applied the stride to the input (x[::S, ::S]) instead of moving the window S pixels at a time: "
              "output (i, j) reads input rows from i*S."] = _torch_conv(xs, w, b, 1, p, d)
        except RuntimeError:
            pass
    if d > 1:
        try:
            m["dilation spaces the kernel taps D apart inside one window; it does not move the window (that is "
              "the stride)."] = _torch_conv(x, w, b, s * d, p, 1)
        except RuntimeError:
            pass
        try:
            m["dilation spaces the taps: tap (p, q) reads xp[i*S + p*D, j*S + q*D]; you ignored D."] = \
                _torch_conv(x, w, b, s, p, 1)
        except RuntimeError:
            pass
    if p > 0:
        one_side = F.pad(_t(x), (p, 0, p, 0)).numpy()
        try:
            m["you padded only the top and left; pad P adds P rows/columns on every side."] = \
                _torch_conv(one_side, w, b, s, 0, d)
        except RuntimeError:
            pass
        try:
            m["the padding is missing: pad x with P zeros on every side first."] = _torch_conv(x, w, b, s, 0, d)
        except RuntimeError:
            pass
    K, C, Fh, Fw = w.shape
    if C > 1:
        m["you used only the first channel: sum over all C input channels (w[k, c] with x[:, c])."] = \
            _torch_conv(x[:, :1], w[:, :1], b, s, p, d)
    if d > 1:
        try:
            m["dilation spaces the taps inside a window; the windows still start S apart (row i*S), not S*D."] = \
                _torch_conv(x, w, b, s * d, p, d)
        except RuntimeError:
            pass
        Hp, Wp = x.shape[2] + 2 * p, x.shape[3] + 2 * p
        h2, w2 = (Hp - d * Fh) // s + 1, (Wp - d * Fw) // s + 1
        if h2 >= 1 and w2 >= 1 and (h2, w2) != expected.shape[2:]:
            m["a dilated kernel spans D*(F_h - 1) + 1 rows, not D*F_h: the last tap is at (F_h - 1)*D."] = \
                expected[:, :, :h2, :w2]
    if p > 0:
        for before, after in [(2 * p, 0), (0, 2 * p), (2 * p, p), (p, 2 * p), (2 * p, 2 * p)]:
            padded = F.pad(_t(x), (before, after, before, after)).numpy()
            try:
                m[f"you padded {before} before and {after} after; pad P = {p} on every side: "
                  "np.pad(x, ((0, 0), (0, 0), (P, P), (P, P)))."] = _torch_conv(padded, w, b, s, 0, d)
            except RuntimeError:
                pass
    # im2col with rows ordered (p, q, c) multiplied by w.reshape(K, -1), whose columns are ordered (c, p, q)
    w_pqc = w.reshape(K, Fh, Fw, C).transpose(0, 3, 1, 2)
    if not np.allclose(w_pqc, w):
        m["the rows of cols and the columns of w.reshape(K, -1) are ordered differently: order both (c, p, q), "
          "channel first."] = _torch_conv(x, w_pqc.copy(), b, s, p, d)
    w_mixed = w.reshape(C * Fh * Fw, K).T.reshape(w.shape)
    if not np.allclose(w_mixed, w):
        m["w.reshape(C*F_h*F_w, K) is not the transpose of w.reshape(K, C*F_h*F_w): reshape to (K, -1) (and use "
          ".T if you need (C*F_h*F_w, K))."] = _torch_conv(x, w_mixed.copy(), b, s, p, d)
    N = x.shape[0]
    m["the product has shape (K, N*H'*W'): reshape it to (K, N, H', W') and then swap the first two axes "
      "(.transpose(1, 0, 2, 3)) to get (N, K, H', W')."] = expected.transpose(1, 0, 2, 3)
    if N > 1 and K > 1:
        m["reshaping (K, N*H'*W') straight to (N, K, H', W') mixes filters and images: reshape to "
          "(K, N, H', W'), then .transpose(1, 0, 2, 3)."] = \
            expected.transpose(1, 0, 2, 3).reshape(expected.shape)
    m["no kernel flip in deep learning: out = sum w[k, c, p, q] * x[..., i*S + p*D, j*S + q*D]."] = \
        _torch_conv(x, w[:, :, ::-1, ::-1].copy(), b, s, p, d)
    m["the bias is missing: add b[k] to every output of filter k."] = _torch_conv(x, w, 0 * b, s, p, d)
    if expected.shape[2] > 1 and expected.shape[3] > 1:
        m["off by one: the last row and column of outputs are missing (n' = (n + 2P - span)//S + 1)."] = \
            expected[:, :, :-1, :-1]
    return m


def _conv_cases(large: bool):
    """(label, x, w, b, S, P, D): every configuration in float64 first (the logic), then the same configurations
    with x in the other dtypes and memory layouts (an integer image must still give a float result)."""
    rng = np.random.default_rng(5 if large else 6)
    cases = [(rng.normal(size=xs), rng.normal(size=ws), rng.normal(size=ws[0]), s, p, d)
             for xs, ws, s, p, d in _conv_configs(large)]
    for x, w, b, s, p, d in cases:
        yield "float64", x, w, b, s, p, d
    for x, w, b, s, p, d in cases:
        for label, variant in array_variants(x)[1:]:
            yield label, variant, w, b, s, p, d


def _check_conv(fn, large: bool) -> int:
    count = 0
    for label, x, w, b, s, p, d in _conv_cases(large):
        case = f"x {x.shape} ({label}), w {w.shape}, stride={s}, pad={p}, dilation={d}"
        got = call(fn, x, w, b, s, p, d, case=case)
        require_float(got, case=case)
        expected = _torch_conv(x, w, b, s, p, d)
        try:
            assert_array_matches(got, expected, case=case)
        except CheckFailed:   # wrong: find out which known mistake it is (too slow to compute for every case)
            hint = _shape_hint(got, expected.shape,
                               "out[n, k, i, j] = b[k] + sum_{c,p,q} w[k,c,p,q] * xp[n, c, i*S + p*D, j*S + q*D], "
                               "xp = x zero-padded by P on all four sides; output shape (N, K, H', W').")
            assert_array_matches(got, expected, case=case, known_mistakes=_conv_mistakes(x, w, b, s, p, d, expected),
                                 hint=_variant_hint(label, hint))
        count += 1
    return count


implemented_by("pad.conv2d", "utils.checks.ch03_padding_stride_dilation._torch_conv",
               "utils.layers.convolution.conv_forward_naive", "utils.layers.convolution.conv_forward_fast",
               "utils.layers.convolution.im2col", builds_on=("pad.conv_fast",))


@register("pad.conv2d")
def check_conv2d(answer) -> str:
    fn = require_callable(answer, "conv2d(x, w, b, stride, pad, dilation)")
    return f"{_check_conv(fn, large=False)} cases, every dtype and memory layout of x"


implemented_by("pad.conv_fast", builds_on=("pad.conv2d", "pad.im2col"))


@register("pad.conv_fast")
def check_conv_fast(answer) -> str:
    fn = require_callable(answer, "conv2d_fast(x, w, b, stride, pad, dilation)")
    return f"{_check_conv(fn, large=True)} cases, every dtype and memory layout of x"


# --------------------------------------------------------------------------------------------- stride
def _torch_subsample(full, s):
    """full[:, :, ::S, ::S] computed independently: a 1x1 convolution with weight 1 and stride S."""
    N, K, H, W = full.shape
    one = torch.ones(1, 1, 1, 1, dtype=torch.float64)
    out = F.conv2d(_t(full).reshape(N * K, 1, H, W), one, stride=s)
    return out.reshape(N, K, *out.shape[2:]).numpy()


def _strided_cases():
    """(label, full, stride, description): full is the stride-1 output of a torch convolution; first in float64,
    compared with torch run at the stride, then in every other dtype and memory layout."""
    rng = np.random.default_rng(7)
    cases = []
    for xs, ws, s, p, d in [((1, 1, 7, 7), (1, 1, 3, 3), 2, 0, 1), ((1, 1, 8, 8), (1, 1, 3, 3), 2, 0, 1),
                            ((2, 3, 9, 12), (4, 3, 3, 3), 3, 1, 1), ((2, 2, 10, 7), (3, 2, 2, 2), 2, 1, 1),
                            ((3, 1, 11, 11), (2, 1, 3, 3), 4, 2, 2), ((1, 2, 6, 13), (2, 2, 1, 3), 5, 0, 1),
                            ((2, 2, 12, 9), (2, 2, 3, 3), 1, 1, 1), ((1, 3, 16, 15), (2, 3, 5, 5), 3, 2, 1)]:
        x, w, b = rng.normal(size=xs), rng.normal(size=ws), rng.normal(size=ws[0])
        full = _torch_conv(x, w, b, 1, p, d)
        strided = _torch_conv(x, w, b, s, p, d)   # independent: torch with the stride
        cases.append((full, s, strided, f"kernel {ws[2:]}, pad={p}, dilation={d}"))
    for full, s, strided, about in cases:
        yield "float64", full, s, strided, about
    for full, s, _, about in cases:
        for label, variant in array_variants(full)[1:]:
            yield label, variant, s, _torch_subsample(variant, s), about


implemented_by("pad.strided_from_full", "utils.checks.ch03_padding_stride_dilation._torch_subsample")


@register("pad.strided_from_full")
def check_strided_from_full(answer) -> str:
    fn = require_callable(answer, "strided_from_full(full, stride)")
    count = 0
    for label, full, s, expected, about in _strided_cases():
        case = f"full of shape {full.shape} ({label}; {about}), stride={s}"
        got = call(fn, full, s, case=case)
        if label != "integer":   # subsampling an integer array may keep its dtype: nothing is computed
            require_float(got, case=case)
        mistakes = {}
        if s > 1:
            mistakes["start at output 0: the strided windows are windows 0, S, 2S, ... of the stride-1 output."] = \
                full[:, :, s - 1::s, s - 1::s]
            mistakes["subsample both spatial axes (rows and columns)."] = full[:, :, ::s, :]
            mistakes["subsample the spatial axes (2 and 3), not the batch or channel axes."] = full[::s, ::s]
            mistakes["you subsampled the input size: keep the positions 0, S, 2S, ... that exist in `full`."] = \
                full[:, :, :(full.shape[2] // s) * s:s, :(full.shape[3] // s) * s:s]
        assert_array_matches(got, expected, case=case, known_mistakes=mistakes,
                             hint=_variant_hint(label, "the stride-S output keeps every S-th row and column of "
                                                       "the stride-1 output, starting with the first."))
        count += 1
    return f"{count} cases, every dtype and memory layout"


# --------------------------------------------------------------------------------------------- same padding
@register("pad.same_padding")
def check_same_padding(answer) -> str:
    fn = require_callable(answer, "same_padding(kernel, dilation)")
    count = 0
    for k in range(1, 8):
        for d in (1, 2, 3):
            case = f"kernel={k}, dilation={d}"
            got = call(fn, k, d, case=case)
            if not isinstance(got, (tuple, list)) or len(got) != 2:
                raise CheckFailed(f"failed on case {case}:\n  expected a pair (before, after), got {got!r}")
            span = d * (k - 1) + 1
            total = span - 1
            expected = (total // 2, total - total // 2)
            wrong = {
                ((k - 1) // 2, (k - 1) - (k - 1) // 2): "dilation widens the kernel to D*(F - 1) + 1 positions; "
                                                         "pad for that span.",
                (total - total // 2, total // 2): "for an even span the extra row goes after (bottom/right), as in "
                                                  "PyTorch's padding='same'.",
                (span // 2, span - span // 2): "the total padding is span - 1 (a 1-tap kernel needs none).",
            }
            for part, name in zip(got, ("before", "after")):
                if hasattr(part, "item") and getattr(part, "ndim", None) == 0:
                    part = part.item()
                if isinstance(part, numbers.Integral) and not isinstance(part, bool):
                    continue
                if isinstance(part, numbers.Real) and not float(part).is_integer():
                    raise CheckFailed(f"failed on case {case}:\n  {name} = {part!r} is a float and not a whole "
                                      "number of pixels; split span - 1 into before = total // 2 and after = "
                                      "total - before.")
                raise CheckFailed(f"failed on case {case}:\n  {name} = {part!r} is a {type(part).__name__}; "
                                  "return two ints (a float such as 1.0 cannot be used as a padding).\n"
                                  "  hint: use integer division //, not /.")
            got_t = tuple(int(v) for v in got)
            hint = wrong.get(got_t, "") if got_t != expected else ""
            assert_equal(tuple(got_t), expected, case=case, what="(before, after)",
                         hint=hint or "before + after = D*(F - 1); before = total // 2.")
            # and it really keeps the size: pad by hand, convolve 'valid', compare with torch's padding='same'
            x = torch.arange(11.0, dtype=torch.float64).reshape(1, 1, 11)
            wt = torch.linspace(-1, 2, k, dtype=torch.float64).reshape(1, 1, k)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                same = F.conv1d(x, wt, padding="same", dilation=d)
            mine = F.conv1d(F.pad(x, got_t), wt, dilation=d)
            assert_array_matches(mine.numpy(), same.numpy(), case=case + ", conv1d of arange(11)")
            count += 1
    return f"{count} cases"


# --------------------------------------------------------------------------------------------- im2col
def _im2col_cases():
    """(label, x, kernel, S, P, D): the convolution configurations in float64, then x in every other dtype and
    memory layout."""
    rng = np.random.default_rng(8)
    cases = [(rng.normal(size=xs), ws[2:], s, p, d) for xs, ws, s, p, d in _conv_configs(large=False)]
    for x, k, s, p, d in cases:
        yield "float64", x, k, s, p, d
    for x, k, s, p, d in cases:
        for label, variant in array_variants(x)[1:]:
            yield label, variant, k, s, p, d


def _unfold(x, k, s, p, d):
    """im2col by torch: F.unfold gives (N, C*F_h*F_w, H'*W'); the columns are ordered (n, i, j) here."""
    unfold = F.unfold(_t(x), k, dilation=d, padding=p, stride=s)
    return unfold.permute(1, 0, 2).reshape(unfold.shape[1], -1).numpy()


implemented_by("pad.im2col", "utils.checks.ch03_padding_stride_dilation._unfold")


@register("pad.im2col")
def check_im2col(answer) -> str:
    fn = require_callable(answer, "im2col(x, kernel, stride, pad, dilation)")
    count = 0
    for label, x, k, s, p, d in _im2col_cases():
        xs = x.shape
        case = f"x {xs} ({label}), kernel {k}, stride={s}, pad={p}, dilation={d}"
        got = call(fn, x, k, s, p, d, case=case)
        if label != "integer":   # the columns of an integer image may stay integers: they are copies
            require_float(got, case=case)
        expected = _unfold(x, k, s, p, d)
        unfold = F.unfold(_t(x), k, dilation=d, padding=p, stride=s)           # (N, C*F_h*F_w, L)
        mistakes = {
            "that is the transpose: rows are the C*F_h*F_w taps, columns the N*H'*W' positions.":
                expected.T,
            "order the columns (n, i, j): all positions of image 0 first, then image 1, ...":
                unfold.permute(1, 2, 0).reshape(unfold.shape[1], -1).numpy(),
        }
        if s > 1:
            try:
                mistakes["you applied the stride to the input: the windows start at rows 0, S, 2S, ... of the "
                         "padded input."] = _unfold(x[:, :, ::s, ::s], k, 1, p, d)
            except RuntimeError:
                pass
        C, Fh, Fw = xs[1], k[0], k[1]
        L = expected.shape[1]
        if C > 1:
            mistakes["order the rows (c, p, q), channel first, like w.reshape(K, -1): row (c*F_h + p)*F_w + q."] = \
                expected.reshape(C, Fh, Fw, L).transpose(1, 2, 0, 3).reshape(-1, L)
            mistakes["you used only the first channel: cols has C*F_h*F_w rows, one per (channel, tap)."] = \
                _unfold(x[:, :1], k, s, p, d)
        Hp, Wp = xs[2] + 2 * p, xs[3] + 2 * p
        H_out, W_out = (Hp - d * (Fh - 1) - 1) // s + 1, (Wp - d * (Fw - 1) - 1) // s + 1
        if d > 1:
            h2, w2 = (Hp - d * Fh) // s + 1, (Wp - d * Fw) // s + 1
            if h2 >= 1 and w2 >= 1 and (h2, w2) != (H_out, W_out):
                mistakes["a dilated kernel spans D*(F_h - 1) + 1 rows, not D*F_h: the last tap is at (F_h - 1)*D."] = \
                    expected.reshape(-1, xs[0], H_out, W_out)[:, :, :h2, :w2].reshape(expected.shape[0], -1)
            mistakes["the taps of a window are D apart: tap (p, q) reads xp[i*S + p*D, j*S + q*D]."] = \
                _unfold(x, k, s, p, 1)
        hint = "cols[(c*F_h + p)*F_w + q, (n*H' + i)*W' + j] = xp[n, c, i*S + p*D, j*S + q*D]."
        shape = getattr(got, "shape", None)
        if (shape is not None and len(shape) == 2 and H_out != W_out and shape[0] == expected.shape[0]
                and shape[1] in (xs[0] * H_out * H_out, xs[0] * W_out * W_out)):
            hint = ("you have N*H'*H' (or N*W'*W') columns: this input is not square (H != W), so compute H' from H "
                    "and W' from W. " + hint)
        assert_array_matches(got, expected, case=case, known_mistakes=mistakes, hint=_variant_hint(label, hint))
        count += 1
    return f"{count} cases, every dtype and memory layout"


# --------------------------------------------------------------------------------------------- references
# The workbook's own answers, for demonstrations while the student's answer is missing or wrong (never used by
# the checks above, whose expected values come from PyTorch).
reference("pad.output_size")(_output_size_reference)
reference("pad.same_padding")(_same_padding_reference)
reference("pad.im2col")(_im2col_reference)


@reference("pad.pad")
def _pad_reference(x, pad, mode):
    top, bottom, left, right = pad
    numpy_mode = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}[mode]
    return np.pad(np.asarray(x, dtype=np.float64), ((top, bottom), (left, right)), mode=numpy_mode)


@reference("pad.conv2d")
def _conv2d_reference(x, w, b, stride=1, pad=0, dilation=1):
    """A loop over the output positions, like the exercise (the timing in chapter 03 compares loop and im2col)."""
    x, w, b = (np.asarray(a, dtype=np.float64) for a in (x, w, b))
    N, C, H, W = x.shape
    K, _, Fh, Fw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    span_h, span_w = dilation * (Fh - 1) + 1, dilation * (Fw - 1) + 1
    out = np.empty((N, K, (H + 2 * pad - span_h) // stride + 1, (W + 2 * pad - span_w) // stride + 1))
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            top, left = i * stride, j * stride
            window = xp[:, :, top:top + span_h:dilation, left:left + span_w:dilation]   # (N, C, F_h, F_w)
            out[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out


@reference("pad.conv_fast")
def _conv_fast_reference(x, w, b, stride=1, pad=0, dilation=1):
    return conv_forward_fast(np.asarray(x, dtype=np.float64), w, b, stride, pad, dilation)[0]


@reference("pad.strided_from_full")
def _strided_reference(full, stride):
    return full[:, :, ::stride, ::stride]
