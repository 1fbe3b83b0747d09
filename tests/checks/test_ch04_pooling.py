"""Mutation tests of the chapter 04 checks: the solutions pass, "not implemented" is recognised, and every
planted bug is rejected with the hint written for it."""

from __future__ import annotations

import math
from functools import partial

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from utils.checks import FAILED, NOT_ATTEMPTED, PASSED, run_check
from utils.checks.ch04_pooling import PADDINGS
from utils.layers import avg_pool_forward_naive, max_pool_forward_naive
from tests.checks.mutants import assert_rejected, partly_written

reject = partial(assert_rejected, names_case=False)  # value exercises (a set, a pair) have no case to name


def _not_implemented(*args, **kwargs):
    raise NotImplementedError()


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


# ----------------------------------------------------------------------------- solutions (as a student writes them)
def pool_output_shape(shape, kernel_size, stride=None, padding=0):
    N, C, H, W = shape
    (Fh, Fw), (Ph, Pw) = _pair(kernel_size), _pair(padding)
    Sh, Sw = (Fh, Fw) if stride is None else _pair(stride)
    return N, C, (H + 2 * Ph - Fh) // Sh + 1, (W + 2 * Pw - Fw) // Sw + 1


def _windows(xp, kernel_size, stride, count):
    """(i, j, window) for the first count = (H', W') windows of the padded xp."""
    (Fh, Fw), (Sh, Sw) = _pair(kernel_size), _pair(stride)
    for i in range(count[0]):
        for j in range(count[1]):
            yield i, j, xp[:, :, i * Sh:i * Sh + Fh, j * Sw:j * Sw + Fw]


def _pool(x, kernel_size, stride, padding, how, fill, count=None, dtype=float, divisor=None):
    """A loop version parametrised by the mistakes below: how = 'max' | 'mean' | 'sum'."""
    x = np.asarray(x)
    stride = kernel_size if stride is None else stride
    (Ph, Pw) = _pair(padding)
    xp = np.pad(np.asarray(x, dtype=float), ((0, 0), (0, 0), (Ph, Ph), (Pw, Pw)), constant_values=fill)
    count = count or pool_output_shape(x.shape, kernel_size, stride, padding)[2:]
    out = np.zeros(x.shape[:2] + tuple(count), dtype=dtype)
    for i, j, window in _windows(xp, kernel_size, stride, count):
        if how == "max":
            out[:, :, i, j] = window.max(axis=(2, 3))
        elif how == "sum":
            out[:, :, i, j] = window.sum(axis=(2, 3))
        else:
            out[:, :, i, j] = window.sum(axis=(2, 3)) / (divisor(i, j) if divisor else window[0, 0].size)
    return out


def max_pool2d(x, kernel_size, stride=None, padding=0):
    return _pool(x, kernel_size, stride, padding, "max", -np.inf)


def avg_pool2d(x, kernel_size, stride=None, padding=0, count_include_pad=True):
    if count_include_pad:
        return _pool(x, kernel_size, stride, padding, "mean", 0.0)
    return avg_pool_forward_naive(x, kernel_size, stride, padding, count_include_pad=False)[0]


def avg_pool_kernel(channels, kernel_size):
    Fh, Fw = _pair(kernel_size)
    w = np.zeros((channels, channels, Fh, Fw))
    for c in range(channels):
        w[c, c] = 1 / (Fh * Fw)
    return w


def global_avg_pool(x):
    return x.mean(axis=(2, 3))


def channel_max_pool(x, group):
    x = np.asarray(x, dtype=float)
    N, K, H, W = x.shape
    return x.reshape(N, K // group, group, H, W).max(axis=2)


def fraction_unchanged(images, kernel_size):
    shifted = np.zeros_like(images)
    shifted[:, :, 1:] = images[:, :, :-1]
    before = max_pool2d(images[:, None], kernel_size)
    after = max_pool2d(shifted[:, None], kernel_size)
    counted = (before != 0) | (after != 0)
    return (before == after)[counted].mean()


COUNTEREXAMPLE = (np.array([[1.0, 0.0], [0.0, 0.0]]), np.array([[0.0, 1.0], [0.0, 0.0]]))

SOLUTIONS = {
    "pool.output_shape": pool_output_shape, "pool.max_pool2d": max_pool2d, "pool.avg_pool2d": avg_pool2d,
    "pool.avg_as_conv": avg_pool_kernel, "pool.global_avg": global_avg_pool, "pool.channel_max": channel_max_pool,
    "pool.shift_invariance": fraction_unchanged, "pool.nonlinear": lambda: COUNTEREXAMPLE,
    "pool.padding_choice": lambda: {"-inf", "replicate", "image_min"},
}
FUNCTIONS = sorted(SOLUTIONS)


@pytest.mark.parametrize("exercise_id", sorted(SOLUTIONS))
def test_solution_passes(exercise_id):
    result = run_check(exercise_id, SOLUTIONS[exercise_id])
    assert result.status == PASSED, result.message


@pytest.mark.parametrize("exercise_id", FUNCTIONS)
def test_not_implemented_is_not_attempted(exercise_id):
    assert run_check(exercise_id, _not_implemented).status == NOT_ATTEMPTED


@pytest.mark.parametrize("exercise_id", sorted(SOLUTIONS))
def test_placeholder_is_not_attempted(exercise_id):
    assert run_check(exercise_id, ...).status == NOT_ATTEMPTED


def test_the_workbook_layers_pass():
    assert run_check("pool.max_pool2d", lambda *a, **k: max_pool_forward_naive(*a, **k)[0]).status == PASSED
    assert run_check("pool.padding_choice", lambda: frozenset(["-inf", "replicate", "image_min"])).status == PASSED
    assert run_check("pool.avg_pool2d", lambda *a, **k: avg_pool_forward_naive(*a, **k)[0]).status == PASSED


# ----------------------------------------------------------------------------- output shape
def _size(ceil=False, plus=1, default_stride=None, swap=False, pad_sides=2, square=False):
    def size(shape, kernel_size, stride=None, padding=0):
        N, C, H, W = shape
        (Fh, Fw), (Ph, Pw) = _pair(kernel_size), _pair(padding)
        if stride is None:
            stride = default_stride or kernel_size
        Sh, Sw = _pair(stride)
        if swap:
            Fh, Fw, Sh, Sw, Ph, Pw = Fw, Fh, Sw, Sh, Pw, Ph
        if square:
            Fw, Sw, Pw = Fh, Sh, Ph
        rnd = math.ceil if ceil else math.floor
        return (N, C, rnd((H + pad_sides * Ph - Fh) / Sh) + plus, rnd((W + pad_sides * Pw - Fw) / Sw) + plus)
    return size


SIZE_MUTANTS = {
    "ceil instead of floor": (_size(ceil=True), "floor, not ceil"),
    "missing + 1": (_size(plus=0), "one short"),
    "stride None taken as 1": (_size(default_stride=1), "stride=None means stride = kernel_size"),
    "height and width swapped": (_size(swap=True), "swapped"),
    "padding on one side": (_size(pad_sides=1), "both sides"),
    "assumes a square window": (_size(square=True), "floor((n + 2P - F) / S) + 1"),
    "only (H', W')": (lambda *a, **k: pool_output_shape(*a, **k)[2:], "pooling keeps the batch and the channels"),
    "true division": (lambda *a, **k: tuple(float(v) for v in pool_output_shape(*a, **k)),
                      "should be an int"),
    "a list": (lambda *a, **k: list(pool_output_shape(*a, **k)), "should be a tuple"),
}


@pytest.mark.parametrize("name", sorted(SIZE_MUTANTS))
def test_output_shape_mutants_rejected(name):
    reject("pool.output_shape", *SIZE_MUTANTS[name])


def test_torch_size_is_accepted():
    assert run_check("pool.output_shape", lambda *a, **k: torch.Size(pool_output_shape(*a, **k))).status == PASSED


# ----------------------------------------------------------------------------- max pooling
def max_zero_padding(x, kernel_size, stride=None, padding=0):
    return _pool(x, kernel_size, stride, padding, "max", 0.0)


def max_pad_every_axis(x, kernel_size, stride=None, padding=0):
    # np.pad(x, P) pads the batch and channel axes too
    Ph, _ = _pair(padding)
    xp = np.pad(np.asarray(x, dtype=float), Ph, constant_values=-np.inf)
    return max_pool2d(xp, kernel_size, stride, 0)


def max_pad_one_side(x, kernel_size, stride=None, padding=0):
    (Ph, Pw) = _pair(padding)
    xp = np.pad(np.asarray(x, dtype=float), ((0, 0), (0, 0), (Ph, 0), (Pw, 0)), constant_values=-np.inf)
    return max_pool2d(xp, kernel_size, stride, 0)


def max_past_the_input(x, kernel_size, stride=None, padding=0):
    # ceil-many windows; the last ones are cut short by slicing past the end of the padded input
    stride = kernel_size if stride is None else stride
    (Fh, Fw), (Sh, Sw), (Ph, Pw) = _pair(kernel_size), _pair(stride), _pair(padding)
    H, W = x.shape[2:]
    count = (math.ceil((H + 2 * Ph - Fh) / Sh) + 1, math.ceil((W + 2 * Pw - Fw) / Sw) + 1)
    return _pool(x, kernel_size, stride, padding, "max", -np.inf, count=count)


def _swapped(fn):
    def pool(x, kernel_size, stride=None, padding=0, **kwargs):
        stride = kernel_size if stride is None else stride
        return fn(x, _pair(kernel_size)[::-1], _pair(stride)[::-1], _pair(padding)[::-1], **kwargs)
    return pool


def _square(fn):
    def pool(x, kernel_size, stride=None, padding=0, **kwargs):
        stride = kernel_size if stride is None else stride
        return fn(x, _pair(kernel_size)[0], _pair(stride)[0], _pair(padding)[0], **kwargs)
    return pool


MAX_MUTANTS = {
    "zero padding": (max_zero_padding, "pad with -inf"),
    "padding on one side": (max_pad_one_side, "only the top and left"),
    "padding on every axis": (max_pad_every_axis, "the first two axes must stay (N, C)"),
    "stride ignored": (lambda x, k, s=None, p=0: max_pool2d(x, k, 1, p), "stride"),
    "stride defaults to 1": (lambda x, k, s=None, p=0: max_pool2d(x, k, 1 if s is None else s, p),
                             "stride defaults to the window size"),
    "stride taken equal to the window": (lambda x, k, s=None, p=0: max_pool2d(x, k, k, p),
                                         "the stride is not the window size"),
    "windows read past the input": (max_past_the_input, "read past the padded input"),
    "pooling across channels": (lambda *a: max_pool2d(*a).max(axis=1, keepdims=True), "channel"),
    "across channels, broadcast": (lambda *a: np.broadcast_to(max_pool2d(*a).max(axis=1, keepdims=True),
                                                              max_pool2d(*a).shape).copy(), "across channels"),
    "height and width swapped": (_swapped(max_pool2d), "swapped"),
    "assumes a square window": (_square(max_pool2d), "the second entry is for the width"),
    "output transposed": (lambda *a: max_pool2d(*a).transpose(0, 1, 3, 2), "transposed"),
    "off-by-one output size": (lambda *a: max_pool2d(*a)[:, :, :-1, :-1], "off by one"),
    "integer output": (lambda x, *a: _pool(x, *a, "max", -np.inf, dtype=np.asarray(x).dtype)
                       if len(a) == 3 else max_pool2d(x, *a).astype(np.asarray(x).dtype), "dtype"),
    "average instead of max": (lambda *a: avg_pool2d(*a), "that is average pooling"),
    "returns a list": (lambda *a: max_pool2d(*a).tolist(), "Python list"),
    "returns NotImplementedError on padding": (
        lambda x, k, s=None, p=0: max_pool2d(x, k, s, p) if p == 0 else _not_implemented(), "only partly written"),
}


def max_finite_padding(x, kernel_size, stride=None, padding=0):
    # a "very negative" constant: below the usual activations, but not below every value
    return _pool(x, kernel_size, stride, padding, "max", -10.0)


def max_in_float32(x, kernel_size, stride=None, padding=0):
    return F.max_pool2d(torch.tensor(np.asarray(x, np.float32)), kernel_size, stride, padding).numpy()


def max_in_float32_back_to_float64(x, kernel_size, stride=None, padding=0):
    return max_in_float32(x, kernel_size, stride, padding).astype(np.float64)


def max_no_float_conversion(x, kernel_size, stride=None, padding=0):
    (Ph, Pw) = _pair(padding)
    xp = np.pad(np.asarray(x), ((0, 0), (0, 0), (Ph, Ph), (Pw, Pw)), constant_values=-np.inf)
    return max_pool2d(xp, kernel_size, stride, 0)


def _swap_only(which, fn):
    def pool(x, kernel_size, stride=None, padding=0, **kwargs):
        stride = kernel_size if stride is None else stride
        args = {"kernel_size": kernel_size, "stride": stride, "padding": padding}
        args[which] = _pair(args[which])[::-1]
        return fn(x, args["kernel_size"], args["stride"], args["padding"], **kwargs)
    return pool


def _int_output(x, kernel_size, stride=None, padding=0):
    out = max_pool2d(x, kernel_size, stride, padding)
    return out.astype(np.asarray(x).dtype)        # np.zeros_like(x)-style allocation


MAX_MUTANTS["integer output"] = (_int_output, "dtype")
MAX_MUTANTS.update({
    "padding with a finite constant": (max_finite_padding, "you padded with a finite value (-10)"),
    "computed in float32": (max_in_float32, "differ from the exact values by rounding"),
    "float32, then back to float64": (max_in_float32_back_to_float64, "Compute in float64"),
    "no float conversion before -inf padding": (max_no_float_conversion, "an integer array cannot hold -inf"),
    "stride pair swapped only": (_swap_only("stride", max_pool2d), "your stride pair is swapped"),
    "padding pair swapped only": (_swap_only("padding", max_pool2d), "your padding pair is swapped"),
    "kernel_size pair swapped only": (_swap_only("kernel_size", max_pool2d), "your kernel_size pair is swapped"),
})


@pytest.mark.parametrize("name", sorted(MAX_MUTANTS))
def test_max_pool_mutants_rejected(name):
    reject("pool.max_pool2d", *MAX_MUTANTS[name])


# ----------------------------------------------------------------------------- padding question
PADDING_MUTANTS = {
    "only -inf": ({"-inf"}, "'replicate' is safe too"),
    "without image_min": ({"-inf", "replicate"}, "'image_min' is safe too"),
    "reflect included": ({"-inf", "replicate", "image_min", "reflect"}, "'reflect' changes the result"),
    "zeros": ({"zeros", "-inf"}, "'zeros' changes the result"),
    "a string": ("-inf", "got the string"),
    "unknown name": ({"-inf", "minus infinity"}, "unknown names"),
    "a number": (3, "should return a set of names"),
    "a list": (["-inf", "replicate", "image_min"], "got a list"),
    "a tuple": (("-inf", "replicate", "image_min"), "got a tuple"),
    "a dict": ({"-inf": 1, "replicate": 1, "image_min": 1}, "got a dict"),
}


@pytest.mark.parametrize("name", sorted(PADDING_MUTANTS))
def test_padding_choice_mutants_rejected(name):
    answer, hint = PADDING_MUTANTS[name]
    reject("pool.padding_choice", lambda: answer, hint)


def test_a_value_instead_of_a_function_is_rejected():
    reject("pool.padding_choice", {"-inf", "replicate", "image_min"}, "safe_paddings() (a function)")
    reject("pool.nonlinear", COUNTEREXAMPLE, "counterexample() (a function)")


def test_padding_names_are_the_notebooks():
    assert set(PADDINGS) == {"zeros", "-inf", "replicate", "reflect", "image_min"}


# ----------------------------------------------------------------------------- average pooling
def avg_include_wrong(x, kernel_size, stride=None, padding=0, count_include_pad=True):
    return avg_pool2d(x, kernel_size, stride, padding, not count_include_pad)


def avg_default_excludes(x, kernel_size, stride=None, padding=0, count_include_pad=False):
    return avg_pool2d(x, kernel_size, stride, padding, count_include_pad)


def avg_always_include(x, kernel_size, stride=None, padding=0, count_include_pad=True):
    return avg_pool2d(x, kernel_size, stride, padding, True)


def avg_floor_division(x, kernel_size, stride=None, padding=0, count_include_pad=True):
    x = np.asarray(x)
    if np.issubdtype(x.dtype, np.integer):
        (Fh, Fw) = _pair(kernel_size)
        return np.floor(avg_pool2d(x, kernel_size, stride, padding, True) * Fh * Fw // (Fh * Fw)) \
            if count_include_pad else np.floor(avg_pool2d(x, kernel_size, stride, padding, False))
    return avg_pool2d(x, kernel_size, stride, padding, count_include_pad)


def avg_integer_dtype(x, kernel_size, stride=None, padding=0, count_include_pad=True):
    return avg_pool2d(x, kernel_size, stride, padding, count_include_pad).astype(np.asarray(x).dtype)


def avg_sum(x, kernel_size, stride=None, padding=0, count_include_pad=True):
    return _pool(x, kernel_size, stride, padding, "sum", 0.0)


def avg_pad_every_axis(x, kernel_size, stride=None, padding=0, count_include_pad=True):
    Ph, _ = _pair(padding)
    return avg_pool2d(np.pad(np.asarray(x, dtype=float), Ph), kernel_size, stride, 0)


def avg_no_padding(x, kernel_size, stride=None, padding=0, count_include_pad=True):
    return avg_pool2d(x, kernel_size, stride, 0, count_include_pad)


def avg_past_the_input(x, kernel_size, stride=None, padding=0, count_include_pad=True):
    stride = kernel_size if stride is None else stride
    (Fh, Fw), (Sh, Sw), (Ph, Pw) = _pair(kernel_size), _pair(stride), _pair(padding)
    H, W = x.shape[2:]
    count = (math.ceil((H + 2 * Ph - Fh) / Sh) + 1, math.ceil((W + 2 * Pw - Fw) / Sw) + 1)
    return _pool(x, kernel_size, stride, padding, "mean", 0.0, count=count)


def avg_in_float32(x, kernel_size, stride=None, padding=0, count_include_pad=True):
    return F.avg_pool2d(torch.tensor(np.asarray(x, np.float32)), kernel_size, stride, padding,
                        count_include_pad=count_include_pad).numpy()


AVG_MUTANTS = {
    "count_include_pad inverted": (avg_include_wrong, "count_include_pad"),
    "count_include_pad defaults to False": (avg_default_excludes, "count_include_pad=True divides"),
    "count_include_pad ignored": (avg_always_include, "count_include_pad=False divides"),
    "integer division": (avg_floor_division, "integer division"),
    "integer output": (avg_integer_dtype, "dtype"),
    "sum instead of mean": (avg_sum, "you summed the window"),
    "padding ignored": (avg_no_padding, "padding is missing"),
    "padding on every axis": (avg_pad_every_axis, "the first two axes must stay (N, C)"),
    "stride ignored": (lambda x, k, s=None, p=0, count_include_pad=True: avg_pool2d(x, k, 1, p, count_include_pad),
                       "stride"),
    "stride taken equal to the window": (
        lambda x, k, s=None, p=0, count_include_pad=True: avg_pool2d(x, k, k, p, count_include_pad),
        "the stride is not the window size"),
    "windows read past the input": (avg_past_the_input, "read past the padded input"),
    "pooling across channels": (lambda *a, **k: avg_pool2d(*a, **k).mean(axis=1, keepdims=True), "channel"),
    "height and width swapped": (_swapped(avg_pool2d), "swapped"),
    "assumes a square window": (_square(avg_pool2d), "the second entry is for the width"),
    "off-by-one output size": (lambda *a, **k: avg_pool2d(*a, **k)[:, :, :-1, :-1], "off by one"),
    "max instead of mean": (lambda x, k, s=None, p=0, count_include_pad=True: max_pool2d(x, k, s, p),
                            "that is max pooling"),
    "returns a list": (lambda *a, **k: avg_pool2d(*a, **k).tolist(), "Python list"),
    "computed in float32": (avg_in_float32, "differ from the exact values by rounding"),
    "stride pair swapped only": (_swap_only("stride", avg_pool2d), "your stride pair is swapped"),
    "padding pair swapped only": (_swap_only("padding", avg_pool2d), "your padding pair is swapped"),
}


@pytest.mark.parametrize("name", sorted(AVG_MUTANTS))
def test_avg_pool_mutants_rejected(name):
    reject("pool.avg_pool2d", *AVG_MUTANTS[name])


# ----------------------------------------------------------------------------- average pooling as a convolution
def _kernel_mutant(kind):
    def kernel(channels, kernel_size):
        Fh, Fw = _pair(kernel_size)
        ones = np.ones((channels, channels, Fh, Fw))
        if kind == "mixes channels":
            return ones / (Fh * Fw)
        if kind == "averages channels":
            return ones / (channels * Fh * Fw)
        if kind == "no division":
            return np.eye(channels)[:, :, None, None] * ones
        if kind == "depthwise":
            return np.ones((channels, 1, Fh, Fw)) / (Fh * Fw)
        if kind == "width first":
            return avg_pool_kernel(channels, (Fw, Fh))
        if kind == "square":
            return avg_pool_kernel(channels, Fh)
        if kind == "nested list":
            return avg_pool_kernel(channels, kernel_size).tolist()
        if kind == "integer":
            return np.eye(channels, dtype=np.int64)[:, :, None, None] * np.ones((Fh, Fw), dtype=np.int64)
        raise AssertionError(kind)
    return kernel


KERNEL_MUTANTS = {
    "ones everywhere / F^2 (channels mixed)": ("mixes channels", "w[k, c] must be zero for c != k"),
    "averages over channels too": ("averages channels", "averages over all channels"),
    "no division": ("no division", "divide by the window size"),
    "depthwise shape": ("depthwise", "groups=C"),
    "width first": ("width first", "height first"),
    "square window": ("square", "expected w of shape"),
    "integer kernel": ("integer", "dtype"),
    "nested list": ("nested list", "Python list"),
}


@pytest.mark.parametrize("name", sorted(KERNEL_MUTANTS))
def test_avg_as_conv_mutants_rejected(name):
    kind, hint = KERNEL_MUTANTS[name]
    reject("pool.avg_as_conv", _kernel_mutant(kind), hint)


# ----------------------------------------------------------------------------- max pooling is not linear
a = np.array([[1.0, 2.0], [3.0, 4.0]])
NONLINEAR_MUTANTS = {
    "b = a": ((a, a), "additive on this pair"),
    "b constant": ((a, np.full((2, 2), 5.0)), "additive on this pair"),
    "maxima at the same place": ((a, 2 * a - 1), "additive on this pair"),
    "one array": (a, "should return a pair"),
    "three arrays": ((a, a, a), "of length 3"),
    "shapes differ": ((a, np.ones((2, 3))), "the same shape"),
    "1-D": ((np.array([1.0, 0.0]), np.array([0.0, 1.0])), "2-D arrays"),
    "too small": ((np.ones((1, 1)), np.zeros((1, 1))), "at least 2 x 2"),
    "not numbers": (("ab", "cd"), "arrays of numbers"),
    "infinite": ((np.array([[np.inf, 0.0], [0.0, 0.0]]), np.array([[0.0, 1.0], [0.0, 0.0]])), "finite"),
    "a list": ([COUNTEREXAMPLE[0], COUNTEREXAMPLE[1]], "the tuple (a, b)"),
    # 3 x 3: the third row and column are never read by 2x2 windows at stride 2
    "differs only where no window reads": ((np.array([[0, 0, 0], [0, 0, 0], [1.0, 0, 0]]),
                                            np.array([[0, 0, 0], [0, 0, 0], [0, 1.0, 0]])),
                                           "never read the last row and the last column"),
    "differs only in an unread column": ((np.array([[0, 0, 1.0], [0, 0, 0]]), np.array([[0, 0, 0], [0, 0, 1.0]])),
                                         "never read the last column"),
}


@pytest.mark.parametrize("name", sorted(NONLINEAR_MUTANTS))
def test_nonlinear_mutants_rejected(name):
    answer, hint = NONLINEAR_MUTANTS[name]
    reject("pool.nonlinear", lambda: answer, hint)


# ----------------------------------------------------------------------------- shift invariance
def _fraction_with(shift="right", pool=True, counted="either", stride=None, report="unchanged", dtype=float,
                   equal="exactly"):
    def fraction(images, kernel_size):
        images = np.asarray(images, dtype=dtype)
        if shift == "keep first":
            shifted = images.copy()
            shifted[:, :, 1:] = images[:, :, :-1]
        elif shift == "right":
            shifted = np.zeros_like(images)
            shifted[:, :, 1:] = images[:, :, :-1]
        elif shift == "roll":
            shifted = np.roll(images, 1, axis=2)
        elif shift == "left":
            shifted = np.zeros_like(images)
            shifted[:, :, :-1] = images[:, :, 1:]
        else:  # down
            shifted = np.zeros_like(images)
            shifted[:, 1:] = images[:, :-1]
        if pool:
            before = max_pool2d(images[:, None], kernel_size, stride)
            after = max_pool2d(shifted[:, None], kernel_size, stride)
        else:
            before, after = images, shifted
        mask = {"either": (before != 0) | (after != 0), "both": (before != 0) & (after != 0),
                "original": before != 0, "above 1e-3": (before > 1e-3) | (after > 1e-3),
                "max > 0": np.maximum(before, after) > 0, "all": np.ones(before.shape, bool)}[counted]
        same = before == after if equal == "exactly" else np.abs(before - after) < 1e-3
        if report == "per image":
            return np.mean([e[m].mean() for e, m in zip(same, mask) if m.any()])
        value = same[mask].mean() if mask.any() else float("nan")
        return {"unchanged": value, "changed": 1 - value, "percent": 100 * value}[report]
    return fraction


SHIFT_MUTANTS = {
    "no pooling": (_fraction_with(pool=False), "compared the images themselves"),
    "np.roll": (_fraction_with(shift="roll"), "not np.roll"),
    "shift left": (_fraction_with(shift="left"), "shift to the right"),
    "shift down": (_fraction_with(shift="down"), "not the rows"),
    "every output counted": (_fraction_with(counted="all"), "at least one of the two pooled values is non-zero"),
    "fraction changed": (_fraction_with(report="changed"), "fraction that changed"),
    "percentage": (_fraction_with(report="percent"), "not a percentage"),
    "overlapping windows": (_fraction_with(stride=1), "stride k"),
    "returns the comparison array": (
        lambda images, k: max_pool2d(images[:, None], k) == max_pool2d(images[:, None], k), "expected a fraction"),
    "returns a bool": (lambda images, k: True, "expected a fraction"),
    "AND instead of OR": (_fraction_with(counted="both"), "(OR), not where both are (AND)"),
    "only where the original is nonzero": (_fraction_with(counted="original"), "not only those where the original"),
    "mean of per-image fractions": (_fraction_with(report="per image"), "not the mean of each image's fraction"),
    "first column not zeroed": (_fraction_with(shift="keep first"), "you kept the original first column"),
    "a threshold instead of != 0": (_fraction_with(counted="above 1e-3"), "exactly non-zero (!= 0)"),
    "nearly equal instead of equal": (_fraction_with(equal="within 1e-3"), "count exactly equal outputs"),
}


def _float32_fraction(images, kernel_size):
    # correct, but the fraction is a float32 mean: equal to the exact one to ~1e-7 only
    x = torch.as_tensor(np.asarray(images, dtype=np.float32))
    shifted = torch.zeros_like(x)
    shifted[:, :, 1:] = x[:, :, :-1]
    before, after = F.max_pool2d(x[:, None], kernel_size), F.max_pool2d(shifted[:, None], kernel_size)
    counted = (before != 0) | (after != 0)
    return (before == after)[counted].float().mean().item()


def test_a_float32_fraction_is_accepted():
    assert run_check("pool.shift_invariance", _float32_fraction).status == PASSED


def test_a_threshold_test_is_fine_only_for_nonnegative_values():
    # the spec promises values >= 0, so "max(before, after) > 0" is the same test as "either != 0"
    assert run_check("pool.shift_invariance", _fraction_with(counted="max > 0")).status == PASSED


def test_nan_is_rejected():
    reject("pool.shift_invariance", lambda images, k: float("nan"), "expected")


@pytest.mark.parametrize("name", sorted(SHIFT_MUTANTS))
def test_shift_invariance_mutants_rejected(name):
    reject("pool.shift_invariance", *SHIFT_MUTANTS[name])


# ----------------------------------------------------------------------------- pooling over channels
CHANNEL_MUTANTS = {
    "strided groups": (lambda x, g: x.reshape(x.shape[0], g, x.shape[1] // g, *x.shape[2:]).max(axis=1),
                       "group consecutive channels"),
    "max over all channels": (lambda x, g: x.max(axis=1, keepdims=True), "not over all channels"),
    "mean": (lambda x, g: x.reshape(x.shape[0], x.shape[1] // g, g, *x.shape[2:]).mean(axis=2), "that is the mean"),
    "overlapping groups": (lambda x, g: np.stack([x[:, c:c + g].max(axis=1) for c in range(x.shape[1] - g + 1)], 1),
                           "do not overlap"),
    "spatial pooling as well": (
        lambda x, g: F.max_pool2d(torch.tensor(channel_max_pool(np.asarray(x, dtype=float), g)), 2, 1,
                                  ceil_mode=True).numpy(), "spatial size stays"),
    "integer output": (lambda x, g: channel_max_pool(x, g).astype(np.asarray(x).dtype), "dtype"),
    "returns a list": (lambda x, g: channel_max_pool(x, g).tolist(), "Python list"),
    "computed in float32": (lambda x, g: channel_max_pool(np.asarray(x, np.float32), g).astype(np.float32),
                            "differ from the exact values by rounding"),
}


@pytest.mark.parametrize("name", sorted(CHANNEL_MUTANTS))
def test_channel_max_mutants_rejected(name):
    reject("pool.channel_max", *CHANNEL_MUTANTS[name])


# ----------------------------------------------------------------------------- global average pooling
GLOBAL_MUTANTS = {
    "mean over everything but the batch": (lambda x: x.mean(axis=(1, 2, 3)), "one number per (image, channel)"),
    "axes 1 and 2": (lambda x: x.mean(axis=(1, 2)), "averaged over axes 1 and 2"),
    "over the batch": (lambda x: x.mean(axis=(0, 2, 3)), "not over the batch"),
    "global max": (lambda x: x.max(axis=(2, 3)), "global max pooling"),
    "sum": (lambda x: x.sum(axis=(2, 3)), "divide the sum by H*W"),
    "keepdims": (lambda x: x.mean(axis=(2, 3), keepdims=True), "drop the two size-1 axes"),
    "integer output": (lambda x: x.mean(axis=(2, 3)).astype(x.dtype), "dtype"),
    "returns a list": (lambda x: x.mean(axis=(2, 3)).tolist(), "Python list"),
    "computed in float32": (lambda x: np.asarray(x, np.float32).mean(axis=(2, 3)), "Compute in float64"),
}


@pytest.mark.parametrize("name", sorted(GLOBAL_MUTANTS))
def test_global_avg_mutants_rejected(name):
    reject("pool.global_avg", *GLOBAL_MUTANTS[name])


# ----------------------------------------------------------------------------- partly written answers
def _arg(args, kwargs, position, name, default):
    return args[position] if len(args) > position else kwargs.get(name, default)


PARTLY_WRITTEN = {
    "pool.output_shape": partly_written(pool_output_shape, lambda *a, **k: _arg(a, k, 3, "padding", 0) != 0),
    "pool.max_pool2d": partly_written(max_pool2d, lambda *a, **k: _arg(a, k, 3, "padding", 0) != 0),
    "pool.avg_pool2d": partly_written(avg_pool2d, lambda *a, **k: not k.get("count_include_pad", True)),
    "pool.avg_as_conv": partly_written(avg_pool_kernel, lambda channels, kernel_size: channels > 2),
    "pool.shift_invariance": partly_written(fraction_unchanged, lambda images, kernel_size: kernel_size > 3),
    "pool.channel_max": partly_written(channel_max_pool, lambda x, group: group == 3),
    "pool.global_avg": partly_written(global_avg_pool, lambda x: x.shape[2] != x.shape[3]),
}


@pytest.mark.parametrize("exercise_id", sorted(PARTLY_WRITTEN))
def test_a_partly_written_answer_fails(exercise_id):
    result = run_check(exercise_id, PARTLY_WRITTEN[exercise_id])
    assert result.status == FAILED, result.message
    assert "partly written" in result.message and "failed on case" in result.message
