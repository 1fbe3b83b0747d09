"""Checks for chapter 04 (pooling).

References are PyTorch in float64: ``F.max_pool2d`` / ``F.avg_pool2d`` (sizes, both poolings, both
``count_include_pad`` settings), ``F.conv2d`` against ``F.avg_pool2d`` (average pooling as a convolution),
``F.adaptive_avg_pool2d`` (global average pooling), ``F.max_pool1d`` over the channel axis (maxout), and
experiments with ``F.pad`` for the padding question. The workbook's own implementations, which
demonstrations use while an exercise is unanswered, are registered with ``@reference``.
"""

from __future__ import annotations

import functools
import numbers

import numpy as np
import torch
import torch.nn.functional as F

from .compare import (ATOL, RTOL, array_variants, assert_array_matches, assert_equal, call, require_callable,
                      require_float, to_array)
from .core import CheckFailed, implemented_by, reference, register
from ..layers.pooling import avg_pool_forward_fast, max_pool_forward_fast

SIZE_RULE = "n' = floor((n + 2P - F) / S) + 1 along each axis, with S = F when stride is None"
# Tolerances on inputs other than float32 (whose answers may be computed in float32 and get RTOL): max pooling
# only copies input values, so it must be exact; an average of float64 values is accurate far below 1e-9.
MAX_RTOL, AVG_RTOL = 0.0, 1e-9


def _t(a) -> torch.Tensor:
    return torch.from_numpy(np.array(a, dtype=np.float64))


def _pair(v) -> tuple[int, int]:
    return (int(v[0]), int(v[1])) if isinstance(v, (tuple, list)) else (int(v), int(v))


def _fmt(v) -> str:
    return "None" if v is None else str(v)


# --------------------------------------------------------------------------------------------- references
@reference("pool.output_shape")
def pool_output_shape(shape, kernel_size, stride=None, padding=0):
    (Fh, Fw), (Ph, Pw) = _pair(kernel_size), _pair(padding)
    Sh, Sw = (Fh, Fw) if stride is None else _pair(stride)
    N, C, H, W = shape
    return int(N), int(C), (H + 2 * Ph - Fh) // Sh + 1, (W + 2 * Pw - Fw) // Sw + 1


@reference("pool.max_pool2d")
def max_pool2d(x, kernel_size, stride=None, padding=0):
    return max_pool_forward_fast(x, kernel_size, stride, padding)[0]


@reference("pool.avg_pool2d")
def avg_pool2d(x, kernel_size, stride=None, padding=0, count_include_pad=True):
    return avg_pool_forward_fast(x, kernel_size, stride, padding, count_include_pad)[0]


@reference("pool.avg_as_conv")
def avg_pool_kernel(channels, kernel_size):
    Fh, Fw = _pair(kernel_size)
    return np.eye(channels)[:, :, None, None] * np.full((Fh, Fw), 1.0 / (Fh * Fw))


@reference("pool.global_avg")
def global_avg_pool(x):
    return np.asarray(x, dtype=float).mean(axis=(2, 3))


@reference("pool.channel_max")
def channel_max_pool(x, group):
    N, K, H, W = x.shape
    return np.asarray(x, dtype=float).reshape(N, K // group, group, H, W).max(axis=2)


def _shift_right(images):
    shifted = np.zeros_like(images)
    shifted[:, :, 1:] = images[:, :, :-1]
    return shifted


@reference("pool.shift_invariance")
def fraction_unchanged(images, kernel_size):
    images = np.asarray(images, dtype=float)[:, None]
    before = max_pool2d(images, kernel_size)
    after = max_pool2d(_shift_right(images[:, 0])[:, None], kernel_size)
    counted = (before != 0) | (after != 0)
    return float((before == after)[counted].mean())


@reference("pool.nonlinear")
def counterexample():
    return np.array([[1.0, 0.0], [0.0, 0.0]]), np.array([[0.0, 1.0], [0.0, 0.0]])


@reference("pool.padding_choice")
def safe_paddings():
    return {"-inf", "replicate", "image_min"}


# --------------------------------------------------------------------------------------------- helpers
def _torch_max(x, k, s, p, **kw):
    return F.max_pool2d(_t(x), k, s, p, **kw).numpy()


def _torch_avg(x, k, s, p, include=True, **kw):
    return F.avg_pool2d(_t(x), k, s, p, count_include_pad=include, **kw).numpy()


def _try(fn):
    """The result of a mistaken computation, or None where that mistake cannot even be computed here."""
    try:
        return fn()
    except (RuntimeError, ValueError):
        return None


_PAIR_NAMES = ("kernel_size", "stride", "padding")


def _partial_swaps(k, s, p):
    """(names, (k, s, p)) with the pairs named swapped to (width, height), for every subset that changes a pair,
    all three pairs included; s is never None here (pass the window's size for the default)."""
    pairs = (_pair(k), _pair(s), _pair(p))
    seen = {pairs}
    for mask in range(1, 8):
        names = [n for i, n in enumerate(_PAIR_NAMES) if mask >> i & 1]
        swapped = tuple(v[::-1] if mask >> i & 1 else v for i, v in enumerate(pairs))
        if swapped not in seen:
            seen.add(swapped)
            yield names, swapped


def _swap_hint(names) -> str:
    if len(names) == 3:
        return ("height and width are swapped: kernel_size, stride and padding are (height, width) pairs, the first "
                "for the rows (H), the second for the columns (W).")
    which = " and ".join(names)
    return (f"your {which} {'pair is' if len(names) == 1 else 'pairs are'} swapped, used as (width, height): each "
            "pair is (height, width), the first entry for the rows (H), the second for the columns (W).")


def _shape_hint(got, expected_shape, hint: str, geometry=None) -> str:
    """Explain a wrong output shape from its axes: swapped H/W, channels pooled away, extra or missing rows.

    ``geometry`` = (H, W, kernel_size, stride, padding) lets it recognise pairs used in (width, height) order."""
    shape = getattr(got, "shape", None)
    if shape is None or len(shape) != 4 or tuple(shape) == tuple(expected_shape):
        return hint
    N, C, Ho, Wo = expected_shape
    if shape[:2] != (N, C):
        if shape[0] == N and shape[1] == 1 and C > 1:
            return "your result has one channel: pooling works on each channel separately, out[n, c] from x[n, c]."
        return f"the first two axes must stay (N, C) = ({N}, {C}); pooling only shrinks H and W. " + hint
    if (shape[2], shape[3]) == (Wo, Ho):
        return ("your output has H' and W' swapped: compute the output height from H (with F_h, S_h, P_h) and "
                "the width from W. " + hint)
    if geometry is not None:
        H, W, k, s, p = geometry
        for names, (kp, sp, pp) in _partial_swaps(k, _pair(k) if s is None else s, p):
            size = ((H + 2 * pp[0] - kp[0]) // sp[0] + 1, (W + 2 * pp[1] - kp[1]) // sp[1] + 1)
            if size == (shape[2], shape[3]):
                return _swap_hint(names)
    if shape[2] > Ho or shape[3] > Wo:
        return ("more outputs than windows that fit: a window that would read past the padded input is not "
                f"computed ({SIZE_RULE}).")
    if (shape[2], shape[3]) in ((Ho - 1, Wo), (Ho, Wo - 1), (Ho - 1, Wo - 1)):
        return f"one output fewer than windows that fit ({SIZE_RULE}): check for an off-by-one in the output size."
    return f"the output should have shape {tuple(expected_shape)} ({SIZE_RULE}). " + hint


def _assert_matches(got, expected, *, case, mistakes, hint, rtol=RTOL, precision_hint=""):
    """assert_array_matches with a tolerance below RTOL; the known mistakes (many torch calls) are a callable.

    With ``rtol`` below RTOL, an answer that is right to float32 precision but not to ``rtol`` gets
    ``precision_hint`` (it rounded somewhere, typically by computing in float32)."""
    tight = dict(rtol=rtol, atol=min(rtol, ATOL))
    try:
        assert_array_matches(got, expected, case=case, **tight)
        return
    except CheckFailed:
        pass
    if rtol < RTOL:
        try:
            assert_array_matches(got, expected, case=case)
        except CheckFailed:
            pass
        else:   # right to float32 precision, not to float64's
            g = to_array(got, case=case)
            off = ~np.isclose(g, expected, **tight)
            relative = float(np.max(np.abs(g - expected)[off] / np.maximum(np.abs(expected[off]), 1e-300)))
            raise CheckFailed(f"failed on case {case}:\n  {int(off.sum())} of {expected.size} entries differ from "
                              f"the exact values by rounding (largest relative difference {relative:.1e}, float32 "
                              f"precision; required here: {'exact equality' if rtol == 0 else f'relative {rtol:g}'})\n"
                              f"  hint: {precision_hint}")
    assert_array_matches(got, expected, case=case, known_mistakes=mistakes, hint=hint, **tight)


def _precision_hint(why: str) -> str:
    return (f"{why} Compute in float64: do not convert to np.float32 or to a float32 tensor "
            "(torch.tensor of a float32 array, .float()); np.asarray(x, dtype=float) keeps float64. Only a float32 "
            "input may give float32 results.")


def _pool_configs():
    """(x shape, kernel_size, stride, padding): small readable cases first, then every combination."""
    yield (1, 1, 4, 4), 2, 2, 0
    yield (1, 1, 4, 6), 2, None, 0            # stride None: the window's size
    yield (1, 1, 5, 5), 2, 2, 1               # padding on negative inputs
    yield (1, 1, 6, 7), 3, 2, 1               # overlapping windows (AlexNet's 3x3, stride 2)
    yield (2, 3, 7, 9), 3, 2, 1
    yield (2, 2, 9, 8), (2, 3), (2, 1), (1, 1)
    yield (3, 2, 8, 11), (3, 2), (1, 2), (1, 0)
    yield (2, 3, 10, 7), 2, 1, 1              # stride 1, smaller than the window
    yield (1, 2, 13, 6), (4, 3), (3, 2), (2, 1)
    yield (2, 2, 12, 12), 3, 3, 0
    yield (4, 1, 6, 5), 1, 2, 0               # a 1x1 window with stride 2 is plain subsampling
    yield (2, 4, 11, 9), (5, 3), None, (2, 1)


def _inputs():
    """Inputs shifted to mostly negative values, so that a wrong padding value shows up."""
    rng = np.random.default_rng(40)
    for shape, k, s, p in _pool_configs():
        yield rng.normal(size=shape) - 0.7, k, s, p
    yield -1.0 - rng.random(size=(2, 2, 7, 6)), 2, 2, 1   # every value negative
    yield -1.0 - rng.random(size=(1, 3, 5, 8)), 3, 1, 1
    # far below any "small" padding constant (-10, -1e3, ...): only -inf (or skipping the padding) is right
    yield -1e6 - rng.random(size=(2, 2, 6, 9)), (2, 3), (2, 2), (1, 1)


def _call_pool(fn, x, k, s, p, case, **kw):
    if s is None:  # the default stride: let the answer fill it in
        return call(fn, x, k, padding=p, case=case, **kw) if p else call(fn, x, k, case=case, **kw)
    return call(fn, x, k, s, p, case=case, **kw)


def _common_mistakes(torch_pool, x, k, s, p, expected):
    """Mistakes max and average pooling share; ``torch_pool(x, k, s, p)`` computes a pooling correctly."""
    kp, pp = _pair(k), _pair(p)
    sp = kp if s is None else _pair(s)
    m = {}
    if sp != (1, 1):
        m["stride defaults to the window size (stride=None means S = F), not to 1." if s is None else
          "you ignored the stride: window (i, j) starts at row i*S_h and column j*S_w."] = \
            _try(lambda: torch_pool(x, k, 1, p))
    if sp != kp:
        m["the stride is not the window size here: window (i, j) starts at (i*S_h, j*S_w), with the S given."] = \
            _try(lambda: torch_pool(x, k, k, p))
    for names, (ks, ss, ps) in _partial_swaps(kp, sp, pp):
        m[_swap_hint(names)] = _try(lambda: torch_pool(x, ks, ss, ps))
    if kp[0] != kp[1] or sp[0] != sp[1] or pp[0] != pp[1]:
        m["kernel_size, stride and padding may be (height, width) pairs: the second entry is for the width; "
          "you used the first one for both axes."] = _try(lambda: torch_pool(x, kp[0], sp[0], pp[0]))
    m["your output is transposed (rows and columns swapped): out[n, c, i, j] has the row index i first."] = \
        expected.transpose(0, 1, 3, 2)
    ceil = _try(lambda: torch_pool(x, k, sp, p, ceil_mode=True))
    if ceil is not None and ceil.shape != expected.shape:
        m["more outputs than windows that fit: a window that would read past the padded input is not computed "
          f"({SIZE_RULE}; floor, not ceil)."] = ceil
    if expected.shape[2] > 1 and expected.shape[3] > 1:
        m["off by one: the last row and column of outputs are missing (the size rule ends in + 1)."] = \
            expected[:, :, :-1, :-1]
    if x.shape[1] > 1:
        across = expected.max(axis=1, keepdims=True) if torch_pool is _torch_max else \
            expected.mean(axis=1, keepdims=True)
        m["you pooled across channels: each channel is pooled on its own, out[n, c] from x[n, c] only."] = across
        m["you pooled across channels (every channel got the same values): out[n, c] comes from x[n, c] only."] = \
            np.broadcast_to(across, expected.shape)
    return m


# --------------------------------------------------------------------------------------------- output size
def _size_configs():
    yield (1, 1, 28, 28), 2, None, 0        # VGG/LeNet: 14
    yield (1, 96, 55, 55), 3, 2, 0           # AlexNet: 27
    yield (8, 3, 7, 10), (3, 2), (2, 1), (1, 0)
    yield (2, 5, 32, 17), 3, 2, 1
    yield (4, 2, 9, 9), 2, 2, 1
    rng = np.random.default_rng(41)
    count = 0
    while count < 250:
        N, C, H, W = (int(v) for v in rng.integers(1, 5, 2).tolist() + rng.integers(1, 40, 2).tolist())
        k = tuple(int(v) for v in rng.integers(1, 7, 2))
        k = k if rng.random() < 0.5 else k[0]
        kp = _pair(k)
        s = [None, int(rng.integers(1, 5)), tuple(int(v) for v in rng.integers(1, 5, 2))][int(rng.integers(3))]
        p = tuple(int(rng.integers(0, kp[i] // 2 + 1)) for i in range(2))
        p = p if isinstance(k, tuple) else min(p)
        pp = _pair(p)
        if kp[0] <= H + 2 * pp[0] and kp[1] <= W + 2 * pp[1]:
            count += 1
            yield (N, C, H, W), k, s, p


@functools.lru_cache(maxsize=None)
def _torch_shape(shape, k, s, p):
    return tuple(F.max_pool2d(torch.zeros(shape), k, s, p).shape)


implemented_by("pool.output_shape", "utils.checks.ch04_pooling._torch_shape", "utils.layers.pooling.pool_geometry",
               "utils.shapes.conv_output_size")


@register("pool.output_shape")
def check_output_shape(answer) -> str:
    fn = require_callable(answer, "pool_output_shape(shape, kernel_size, stride=None, padding=0)")
    count = 0
    for shape, k, s, p in _size_configs():
        case = f"shape={shape}, kernel_size={k}, stride={_fmt(s)}, padding={p}"
        got = call(fn, shape, k, padding=p, case=case) if s is None else call(fn, shape, k, s, p, case=case)
        if isinstance(got, tuple):
            got = tuple(got)   # torch.Size is a tuple too
        expected = _torch_shape(shape, k, s, p)
        N, C, H, W = shape
        (Fh, Fw), (Ph, Pw) = _pair(k), _pair(p)
        Sh, Sw = (Fh, Fw) if s is None else _pair(s)
        wrong = {
            (N, C, -(-(H + 2 * Ph - Fh) // Sh) + 1, -(-(W + 2 * Pw - Fw) // Sw) + 1):
                "round down: a window that would read past the padded input is not computed (floor, not ceil).",
            (N, C, (H + 2 * Ph - Fh) // Sh, (W + 2 * Pw - Fw) // Sw):
                "you are one short: count the first window too (the size rule ends in + 1).",
            (N, C, (H + 2 * Pw - Fw) // Sw + 1, (W + 2 * Ph - Fh) // Sh + 1):
                "height and width are swapped: H' uses H and the first entries (F_h, S_h, P_h) of each pair.",
            (N, C, (H + Ph - Fh) // Sh + 1, (W + Pw - Fw) // Sw + 1):
                "padding is added on both sides: the padded height is H + 2*P_h.",
        }
        if s is None:
            wrong[(N, C, H + 2 * Ph - Fh + 1, W + 2 * Pw - Fw + 1)] = \
                "stride=None means stride = kernel_size (PyTorch's default), not 1."
        if isinstance(got, tuple) and len(got) == 2:
            raise CheckFailed(f"failed on case {case}:\n  expected the whole shape {expected}, got {got!r}\n"
                              "  hint: return (N, C, H', W'): pooling keeps the batch and the channels.")
        try:
            key = tuple(int(v) for v in got) if isinstance(got, tuple) else None
        except (TypeError, ValueError):
            key = None
        hint = wrong.get(key, "") if key != expected else ""
        assert_equal(got, expected, case=case, what="the output shape", hint=hint or SIZE_RULE)
        count += 1
    return f"{count} configurations"


# --------------------------------------------------------------------------------------------- max pooling
def _padding_constant(got, expected):
    """The one finite value that all the wrong entries of ``got`` share (what a finite padding produces), or None."""
    try:
        g = np.asarray(got.detach().numpy() if isinstance(got, torch.Tensor) else got, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if g.shape != expected.shape:
        return None
    values = np.unique(g[g != expected])
    return float(values[0]) if values.size == 1 and np.isfinite(values[0]) and values[0] != 0 else None


def _max_mistakes(x, k, s, p, expected, got=None):
    m = _common_mistakes(_torch_max, x, k, s, p, expected)
    pp = _pair(p)
    if max(pp) > 0:
        zero_padded = F.pad(_t(x), (pp[1], pp[1], pp[0], pp[0])).numpy()
        m["the padding must never win: pad with -inf (or skip padded pixels), not with 0; zeros beat negative "
          "activations."] = _try(lambda: _torch_max(zero_padded, k, s, 0))
        constant = _padding_constant(got, expected)
        if constant is not None:
            padded = F.pad(_t(x), (pp[1], pp[1], pp[0], pp[0]), value=constant).numpy()
            m[f"you padded with a finite value ({constant:g}); activations can be lower than any finite constant, "
              "and then the padding wins: use -inf."] = _try(lambda: _torch_max(padded, k, s, 0))
        one_side = F.pad(_t(x), (pp[1], 0, pp[0], 0), value=-np.inf).numpy()
        m["you padded only the top and left; padding P adds P rows/columns on every side."] = \
            _try(lambda: _torch_max(one_side, k, s, 0))
    m["that is average pooling: max pooling keeps the largest value of each window."] = \
        _try(lambda: _torch_avg(x, k, s, p))
    return m


implemented_by("pool.max_pool2d", "utils.checks.ch04_pooling._torch_max",
               "utils.layers.pooling.max_pool_forward_naive", "utils.layers.pooling.max_pool_forward_fast")


@register("pool.max_pool2d")
def check_max_pool2d(answer) -> str:
    fn = require_callable(answer, "max_pool2d(x, kernel_size, stride=None, padding=0)")
    count = 0
    for x0, k, s, p in _inputs():
        for label, x in array_variants(x0):
            case = f"x {x.shape} ({label}), kernel_size={k}, stride={_fmt(s)}, padding={p}"
            try:
                got = _call_pool(fn, x, k, s, p, case)
            except CheckFailed as failure:
                if label == "integer" and "infinity" in str(failure):
                    raise CheckFailed(f"{failure}\n  hint: an integer array cannot hold -inf: convert with "
                                      "np.asarray(x, dtype=float) before padding with -inf.") from None
                raise
            require_float(got, case=case)
            expected = _torch_max(x, k, s, p)
            _assert_matches(got, expected, case=case, mistakes=lambda: _max_mistakes(x, k, s, p, expected, got),
                            hint=_shape_hint(got, expected.shape,
                                             "out[n, c, i, j] = max over p < F_h, q < F_w of xp[n, c, i*S_h + p, "
                                             "j*S_w + q], xp = x padded with -inf; shape (N, C, H', W').",
                                             geometry=(*x.shape[2:], k, s, p)),
                            rtol=RTOL if label == "float32" else MAX_RTOL,
                            precision_hint=_precision_hint("max pooling only copies input values, so on a "
                                                           "float64 input its outputs are exact."))
            count += 1
    return f"{count} cases"


# --------------------------------------------------------------------------------------------- padding question
PADDINGS = ("zeros", "-inf", "replicate", "reflect", "image_min")


def _padded_max(x, k, s, p, how):
    """Max pooling of x padded by p with ``how``, as a pooling without padding."""
    pp = _pair(p)
    t, pad = _t(x), (pp[1], pp[1], pp[0], pp[0])
    if how == "zeros":
        padded = F.pad(t, pad)
    elif how == "-inf":
        padded = F.pad(t, pad, value=-np.inf)
    elif how == "image_min":
        padded = F.pad(t, pad, value=-np.inf)
        lowest = t.amin(dim=(2, 3), keepdim=True).expand_as(padded)
        padded = torch.where(torch.isinf(padded), lowest, padded)
    else:
        padded = F.pad(t, pad, mode=how)
    return F.max_pool2d(padded, k, s, 0).numpy()


@functools.lru_cache(maxsize=1)
def _padding_experiment():
    """For each padding: the first case where pooling the padded input differs from F.max_pool2d, or None."""
    rng = np.random.default_rng(42)
    cases = []
    for _ in range(60):
        k = (int(rng.integers(2, 6)), int(rng.integers(2, 6)))
        p = (int(rng.integers(1, k[0] // 2 + 1)), int(rng.integers(1, k[1] // 2 + 1)))
        s = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        shape = (1, 2, int(rng.integers(k[0] + 1, 10)), int(rng.integers(k[1] + 1, 10)))
        cases.append((rng.normal(size=shape) - 0.5, k, s, p))
    first_failure = {}
    for how in PADDINGS:
        first_failure[how] = None
        for x, k, s, p in cases:
            if not np.array_equal(_padded_max(x, k, s, p, how), _torch_max(x, k, s, p)):
                first_failure[how] = f"kernel_size={k}, stride={s}, padding={p} on an input of shape {x.shape}"
                break
    return first_failure


implemented_by("pool.padding_choice", "utils.checks.ch04_pooling._padding_experiment")


@register("pool.padding_choice")
def check_padding_choice(answer) -> str:
    fn = require_callable(answer, "safe_paddings()")
    answer = call(fn, case="safe_paddings()")
    if isinstance(answer, str):
        raise CheckFailed(f"safe_paddings() should return a set of names, got the string {answer!r}\n"
                          f"  hint: write a set, e.g. {{{answer!r}}}, even for one name.")
    if isinstance(answer, (list, tuple, dict)):
        raise CheckFailed(f"safe_paddings() should return a set of names, got a {type(answer).__name__}.\n"
                          "  hint: write the names in braces, e.g. {\"-inf\"}: a set has no order and no repeats, "
                          "which is what a choice of names is.")
    if not isinstance(answer, (set, frozenset)):
        raise CheckFailed(f"safe_paddings() should return a set of names from {PADDINGS}, got "
                          f"{type(answer).__name__}.")
    chosen = set(answer)
    unknown = sorted(str(c) for c in chosen if c not in PADDINGS)
    if unknown:
        raise CheckFailed(f"unknown names {unknown}: choose from {PADDINGS}.")
    failures = _padding_experiment()
    safe = {how for how, failure in failures.items() if failure is None}
    wrongly_in = sorted(chosen - safe, key=PADDINGS.index)
    if wrongly_in:
        how = wrongly_in[0]
        why = {"zeros": "a zero beats the negative activations of a window near the border.",
               "reflect": "reflection brings in a pixel from *outside* the window (row 1 appears at row -1, and "
                          "with F = 2 the window over rows -1 and 0 never contained row 1).",
               }.get(how, "")
        raise CheckFailed(f"{how!r} changes the result: on {failures[how]} (an experiment with random inputs) "
                          f"max pooling of the {how}-padded input differs from F.max_pool2d.\n  hint: {why}")
    missing = sorted(safe - chosen, key=PADDINGS.index)
    if missing:
        why = {"-inf": "-inf loses against every real value.",
               "replicate": "a replicated pixel is a copy of a border pixel that lies in the same window, so it "
                            "can tie with the maximum but never exceed it.",
               "image_min": "the smallest value of the image cannot exceed the largest value of any window, and "
                            "every window holds at least one real pixel (P <= F/2).",
               }[missing[0]]
        raise CheckFailed(f"{missing[0]!r} is safe too: it never changes the result.\n  hint: {why}")
    return f"{len(safe)} of {len(PADDINGS)} paddings, each tried on 60 random layers"


# --------------------------------------------------------------------------------------------- average pooling
def _avg_mistakes(x, k, s, p, include, expected):
    pool = functools.partial(_torch_avg, include=include)
    m = _common_mistakes(lambda *a, **kw: pool(*a, **kw), x, k, s, p, expected)
    kp, pp = _pair(k), _pair(p)
    if max(pp) > 0:
        m[("count_include_pad=True divides every window's sum by F_h*F_w, padded zeros included." if include else
           "count_include_pad=False divides by the number of real pixels in the window (padding not counted).")] = \
            _torch_avg(x, k, s, p, include=not include)
        m["the padding is missing: pad x with P zeros on every side first."] = _try(lambda: _torch_avg(x, k, s, 0))
    m["you summed the window; average pooling divides the sum by the number of pixels."] = \
        _torch_avg(x, k, s, p, include=True) * kp[0] * kp[1]
    m["that is max pooling: average pooling takes the mean of each window."] = _try(lambda: _torch_max(x, k, s, p))
    if np.issubdtype(x.dtype, np.integer):
        m["you used integer division (//): divide with / to keep the fractions."] = np.floor(expected)
    return m


implemented_by("pool.avg_pool2d", "utils.checks.ch04_pooling._torch_avg",
               "utils.layers.pooling.avg_pool_forward_naive", "utils.layers.pooling.avg_pool_forward_fast")


@register("pool.avg_pool2d")
def check_avg_pool2d(answer) -> str:
    fn = require_callable(answer, "avg_pool2d(x, kernel_size, stride=None, padding=0, count_include_pad=True)")
    count = 0
    for index, (x0, k, s, p) in enumerate(_inputs()):
        for include in (True, False):
            for label, x in array_variants(x0):
                case = (f"x {x.shape} ({label}), kernel_size={k}, stride={_fmt(s)}, padding={p}, "
                        f"count_include_pad={include}")
                if include and index % 2 == 0 and label == "float64":   # the default must be True
                    case = case.replace("count_include_pad=True", "count_include_pad left at its default")
                    got = _call_pool(fn, x, k, s, p, case)
                else:
                    got = _call_pool(fn, x, k, s, p, case, count_include_pad=include)
                require_float(got, case=case)
                expected = _torch_avg(x, k, s, p, include)
                _assert_matches(got, expected, case=case,
                                mistakes=lambda: _avg_mistakes(x, k, s, p, include, expected),
                                hint=_shape_hint(got, expected.shape,
                                                 "out[n, c, i, j] = (sum of the window of the zero-padded x) / "
                                                 "divisor: F_h*F_w with count_include_pad=True, the number of "
                                                 "real pixels in the window otherwise.",
                                                 geometry=(*x.shape[2:], k, s, p)),
                                rtol=RTOL if label == "float32" else AVG_RTOL,
                                precision_hint=_precision_hint("average pooling of a float64 input is accurate to "
                                                               "about 1e-15."))
                count += 1
    return f"{count} cases"


# --------------------------------------------------------------------------------------------- as a convolution
@register("pool.avg_as_conv")
def check_avg_as_conv(answer) -> str:
    fn = require_callable(answer, "avg_pool_kernel(channels, kernel_size)")
    rng = np.random.default_rng(43)
    count = 0
    for C, k, s, p in [(1, 2, 2, 0), (1, 3, 1, 1), (3, 2, 2, 0), (2, (2, 3), (2, 1), (1, 1)), (4, 3, 2, 1),
                       (3, (3, 1), 1, 0), (2, 5, 3, 2), (5, (1, 4), (1, 2), 0)]:
        kp = _pair(k)
        case = f"channels={C}, kernel_size={k}"
        got = call(fn, C, k, case=case)
        if isinstance(got, (list, tuple)):
            to_array(got, case=case, what="w")     # explains that a list is not an array
        shape = getattr(got, "shape", None)
        if shape is not None and tuple(shape) != (C, C) + kp:
            hint = "w has shape (K, C, F_h, F_w) with K = C: one filter per output channel, each reading all C inputs."
            if tuple(shape) == (C, 1) + kp:
                hint = ("a (C, 1, F_h, F_w) kernel needs groups=C (a depthwise convolution); write the ordinary "
                        "convolution's (C, C, F_h, F_w) kernel, zero where output and input channel differ.")
            if tuple(shape) == (C, C) + kp[::-1]:
                hint = "the kernel is (C, C, F_h, F_w): height first."
            raise CheckFailed(f"failed on case {case}:\n  expected w of shape {(C, C) + kp}, got {tuple(shape)}\n"
                              f"  hint: {hint}")
        require_float(got, case=case, what="w")
        x = rng.normal(size=(2, C, 7, 8))
        case = f"{case}: F.conv2d(x, w, stride={s}, padding={p}) vs F.avg_pool2d(x, {k}, {s}, {p}), x {x.shape}"
        got_w = np.asarray(got.detach().numpy() if isinstance(got, torch.Tensor) else got, dtype=np.float64)
        conv = F.conv2d(_t(x), _t(got_w), stride=s, padding=p).numpy()
        expected = _torch_avg(x, k, s, p, include=True)

        def conv_with(w):
            return F.conv2d(_t(x), _t(w), stride=s, padding=p).numpy()

        ones = np.ones((C, C) + kp)
        mistakes = {
            "w[k, c] must be zero for c != k: output channel k averages input channel k only (pooling does not mix "
            "channels).": conv_with(ones / (kp[0] * kp[1])),
            "that averages over all channels as well; pooling keeps the channels apart: w[k, c] = 0 for c != k.":
                conv_with(ones / (C * kp[0] * kp[1])),
            "divide by the window size: each weight is 1 / (F_h * F_w).": conv_with(np.eye(C)[:, :, None, None] * ones),
        }
        assert_array_matches(conv, expected, case=case, known_mistakes=mistakes,
                             hint="w[k, c, p, q] = 1/(F_h*F_w) if k == c, else 0.")
        count += 1
    return f"{count} kernels, each compared with F.avg_pool2d"


# --------------------------------------------------------------------------------------------- not linear
@register("pool.nonlinear")
def check_nonlinear(answer) -> str:
    fn = require_callable(answer, "counterexample()")
    answer = call(fn, case="counterexample()")
    if not isinstance(answer, tuple) or len(answer) != 2:
        raise CheckFailed("counterexample() should return a pair, the tuple (a, b) of two arrays, got "
                          f"{type(answer).__name__}" + (f" of length {len(answer)}" if isinstance(answer, (tuple, list)) else "") + ".")
    try:
        a, b = (np.array(v.detach().numpy() if isinstance(v, torch.Tensor) else v, dtype=np.float64) for v in answer)
    except (TypeError, ValueError) as error:
        raise CheckFailed(f"a and b must be arrays of numbers: {error}") from None
    if a.ndim != 2 or a.shape != b.shape or min(a.shape) < 2:
        raise CheckFailed(f"a and b must be 2-D arrays of the same shape, at least 2 x 2; got {a.shape} and {b.shape}.")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise CheckFailed("a and b must hold finite numbers.")
    pool = lambda v: F.max_pool2d(_t(v)[None, None], 2, 2)[0, 0].numpy()  # noqa: E731
    of_sum, sum_of = pool(a + b), pool(a) + pool(b)
    gap = np.abs(of_sum - sum_of)
    if not (gap > 1e-9 * max(1.0, float(np.abs(sum_of).max()))).any():
        covered = lambda v: F.max_pool2d(_t(v)[None, None], 2, 2, ceil_mode=True)[0, 0].numpy()  # noqa: E731
        if a.shape[0] % 2 or a.shape[1] % 2:
            unread = np.abs(covered(a + b) - covered(a) - covered(b)) > 1e-9
            if unread.any():
                raise CheckFailed(
                    f"max pooling is additive on the part of this pair that it reads: a and b are {a.shape}, and "
                    "2 x 2 windows at stride 2 never read the last "
                    + " and the last ".join(w for w, odd in (("row", a.shape[0] % 2), ("column", a.shape[1] % 2))
                                            if odd)
                    + ", and only there is your pair not additive.\n  hint: put the counter-example inside the "
                    "windows, e.g. "
                    "in the top-left 2 x 2 block.")
        raise CheckFailed(
            f"max pooling is additive on this pair: max_pool(a + b) = max_pool(a) + max_pool(b) = {of_sum.tolist()}.\n"
            "  hint: the two agree whenever a and b take their maxima at the same place in every window (for "
            "instance b = a, or b constant); put the largest entry of b where a is small.")
    avg = lambda v: F.avg_pool2d(_t(v)[None, None], 2, 2)[0, 0].numpy()  # noqa: E731
    linear_too = np.allclose(avg(a + b), avg(a) + avg(b))
    return (f"max_pool(a + b) differs from max_pool(a) + max_pool(b) in {int((gap > 0).sum())} of {gap.size} "
            f"outputs; average pooling is additive on the same pair: {linear_too}")


# --------------------------------------------------------------------------------------------- invariance
def _fraction(before, after):
    counted = (before != 0) | (after != 0)
    return float((before == after)[counted].mean())


def _shift_keeping_first_column(images):
    shifted = images.copy()
    shifted[:, :, 1:] = images[:, :, :-1]
    return shifted


def _fraction_and(before, after):
    counted = (before != 0) & (after != 0)
    return float((before == after)[counted].mean()) if counted.any() else float("nan")


def _pool_images(images, k, s=None):
    return F.max_pool2d(_t(images)[:, None], k, s)[:, 0].numpy()


def _invariance_cases():
    from ..data import load_fashion_mnist

    rng = np.random.default_rng(44)
    fashion = load_fashion_mnist("test")[0][::50]            # 20 real images, uint8
    yield "Fashion-MNIST (uint8)", fashion, 2
    yield "Fashion-MNIST / 255", fashion / 255.0, 3
    yield "Fashion-MNIST / 255", fashion / 255.0, 1
    yield "Fashion-MNIST / 255", fashion / 255.0, 5
    yield "small integers", rng.integers(0, 3, size=(6, 9, 14)), 2
    yield "small integers", rng.integers(0, 4, size=(4, 12, 10)).astype(float), 3
    yield "|normal|", np.abs(rng.normal(size=(3, 8, 11))), 2
    yield "sparse", rng.random(size=(5, 10, 13)) * (rng.random(size=(5, 10, 13)) < 0.3), 4
    # nonzero values far below 1e-3: "nonzero" and "equal" are exact tests, not thresholds
    yield "tiny sparse", 1e-5 * rng.random(size=(4, 9, 12)) * (rng.random(size=(4, 9, 12)) < 0.4), 2
    for label, x in array_variants(rng.integers(0, 3, size=(4, 10, 9)) / 3.0):
        yield f"small integers / 3 ({label})", x, 2


def _per_image_mean(before, after):
    """The mean of each image's fraction (the mistake of averaging fractions instead of pooling the counts)."""
    counted = (before != 0) | (after != 0)
    fractions = [float((b == a)[c].mean()) for b, a, c in zip(before, after, counted) if c.any()]
    return float(np.mean(fractions)) if fractions else float("nan")


SHIFT_TOLERANCE = 1e-6   # float32 arithmetic is exact to ~1e-7 here; the nearest real mistake is off by ~3e-4


implemented_by("pool.shift_invariance", "utils.checks.ch04_pooling._fraction",
               "utils.checks.ch04_pooling._pool_images")


@register("pool.shift_invariance")
def check_shift_invariance(answer) -> str:
    fn = require_callable(answer, "fraction_unchanged(images, kernel_size)")
    count = 0
    for label, images, k in _invariance_cases():
        case = f"{label} images of shape {images.shape}, kernel_size={k}"
        got = call(fn, images, k, case=case)
        if hasattr(got, "item") and getattr(got, "ndim", None) == 0:
            got = got.item()
        if isinstance(got, bool) or not isinstance(got, numbers.Real):
            raise CheckFailed(f"failed on case {case}:\n  expected a fraction (a float between 0 and 1), got "
                              f"{type(got).__name__} {got!r}")
        x = np.asarray(images, dtype=float)
        shifted = _shift_right(x)
        before, after = _pool_images(x, k), _pool_images(shifted, k)
        expected = _fraction(before, after)
        wrong = {
            "you compared the images themselves: max-pool both (window k x k, stride k) and compare the pooled "
            "outputs.": _fraction(x, shifted),
            "shift with a zero fill, not np.roll: the column that leaves on the right must not come back on the "
            "left.": _fraction(before, _pool_images(np.roll(x, 1, axis=2), k)),
            "shift to the right: shifted[:, :, 1:] = images[:, :, :-1].": _fraction(before, _pool_images(
                np.concatenate([x[:, :, 1:], np.zeros_like(x[:, :, :1])], axis=2), k)),
            "shift the columns (axis 2 of (N, H, W)), not the rows.": _fraction(before, _pool_images(
                np.concatenate([np.zeros_like(x[:, :1]), x[:, :-1]], axis=1), k)),
            "count only outputs where at least one of the two pooled values is non-zero.":
                float((before == after).mean()),
            "count the outputs where at least one of the two is non-zero (OR), not where both are (AND).":
                _fraction_and(before, after),
            "count the outputs where the original or the shifted pooled value is non-zero, not only those where "
            "the original is: an edge that moves into an empty window counts as a change.":
                float((before == after)[before != 0].mean()) if (before != 0).any() else float("nan"),
            "count over all images together: the number of unchanged outputs divided by the number counted, not "
            "the mean of each image's fraction.": _per_image_mean(before, after),
            "the shifted image's first column must be zero (shifted = np.zeros_like(images), then "
            "shifted[:, :, 1:] = images[:, :, :-1]); you kept the original first column.":
                _fraction(before, _pool_images(_shift_keeping_first_column(x), k)),
            "that is the fraction that changed; return the fraction unchanged.": 1 - expected,
            "return a fraction between 0 and 1, not a percentage.": 100 * expected,
        }
        if k > 1:
            wrong["the windows do not overlap here: stride k, the window's size (F.max_pool2d's default)."] = \
                _fraction(_pool_images(x, k, 1), _pool_images(shifted, k, 1))
        if not abs(got - expected) <= SHIFT_TOLERANCE:     # "not <=" also rejects NaN
            hints = [h for h, v in wrong.items()
                     if abs(v - expected) > SHIFT_TOLERANCE and abs(got - v) <= SHIFT_TOLERANCE]
            hint = "\n  or: ".join(hints) or ("pool images and shifted images (k x k, stride k), then count exactly "
                                              "equal outputs among those where either is exactly non-zero (!= 0).")
            raise CheckFailed(f"failed on case {case}:\n  expected {expected:.9f}, got {got:.9f}\n  hint: {hint}")
        count += 1
    return f"{count} cases"


# --------------------------------------------------------------------------------------------- maxout
def _torch_channel_max(x, group):
    N, K, H, W = x.shape
    columns = _t(x).permute(0, 2, 3, 1).reshape(N * H * W, 1, K)           # channels as a sequence
    pooled = F.max_pool1d(columns, group, group)                            # (N*H*W, 1, K // group)
    return pooled.reshape(N, H, W, K // group).permute(0, 3, 1, 2).numpy()


implemented_by("pool.channel_max", "utils.checks.ch04_pooling._torch_channel_max")


@register("pool.channel_max")
def check_channel_max(answer) -> str:
    fn = require_callable(answer, "channel_max_pool(x, group)")
    rng = np.random.default_rng(45)
    count = 0
    for shape, group in [((1, 4, 3, 3), 2), ((1, 4, 3, 3), 4), ((2, 6, 5, 4), 3), ((2, 6, 5, 4), 2),
                         ((3, 8, 4, 7), 4), ((2, 3, 6, 5), 1), ((1, 9, 2, 8), 3)]:
        for label, x in array_variants(rng.normal(size=shape)):
            case = f"x {shape} ({label}), group={group}"
            got = call(fn, x, group, case=case)
            require_float(got, case=case)
            expected = _torch_channel_max(x, group)
            N, K, H, W = shape
            xf = np.asarray(x, dtype=float)
            mistakes = {
                "group consecutive channels: output channel g is the max of channels g*group ... (g + 1)*group - 1 "
                "(reshape to (N, K // group, group, H, W)).": xf.reshape(N, group, K // group, H, W).max(axis=1),
                "take the max over the channels of each group, not over all channels.":
                    xf.max(axis=1, keepdims=True),
                "that is the mean; maxout takes the largest response of each group.":
                    xf.reshape(N, K // group, group, H, W).mean(axis=2),
                "the groups do not overlap: K // group outputs, not K - group + 1.":
                    np.stack([xf[:, c:c + group].max(axis=1) for c in range(K - group + 1)], axis=1),
            }
            hint = "out[n, g, i, j] = max over c in group g of x[n, c, i, j]; shape (N, K // group, H, W)."
            if getattr(got, "shape", None) is not None and tuple(got.shape)[:2] == (N, K // group) \
                    and tuple(got.shape) != expected.shape:
                hint = "the spatial size stays (H, W): pool over channels only. " + hint
            _assert_matches(got, expected, case=case, mistakes=lambda: mistakes, hint=hint,
                            rtol=RTOL if label == "float32" else MAX_RTOL,
                            precision_hint=_precision_hint("a maximum only copies input values, so on a float64 "
                                                           "input its outputs are exact."))
            count += 1
    return f"{count} cases"


# --------------------------------------------------------------------------------------------- global average
implemented_by("pool.global_avg", "utils.layers.pooling.avg_pool_forward_naive",
               "utils.layers.pooling.avg_pool_forward_fast")


@register("pool.global_avg")
def check_global_avg(answer) -> str:
    fn = require_callable(answer, "global_avg_pool(x)")
    rng = np.random.default_rng(46)
    count = 0
    for shape in [(1, 1, 3, 3), (2, 3, 4, 5), (3, 4, 7, 2), (1, 5, 1, 6), (4, 2, 6, 6), (2, 6, 9, 11)]:
        for label, x in array_variants(rng.normal(size=shape) + 0.3):
            case = f"x {shape} ({label})"
            got = call(fn, x, case=case)
            require_float(got, case=case)
            expected = F.adaptive_avg_pool2d(_t(x), 1)[:, :, 0, 0].numpy()
            xf = np.asarray(x, dtype=float)
            mistakes = {
                "average over both spatial axes (2 and 3) only: the result has one number per (image, channel).":
                    xf.mean(axis=(1, 2, 3)),
                "the spatial axes are 2 and 3 (x is (N, C, H, W)); you averaged over axes 1 and 2.":
                    xf.mean(axis=(1, 2)),
                "average over the positions of each image, not over the batch.": xf.mean(axis=(0, 2, 3)),
                "that is global max pooling; take the mean.": xf.max(axis=(2, 3)),
                "divide the sum by H*W: that is the mean.": xf.sum(axis=(2, 3)),
                "return shape (N, C): drop the two size-1 axes (no keepdims).": xf.mean(axis=(2, 3), keepdims=True),
            }
            _assert_matches(got, expected, case=case, mistakes=lambda: mistakes,
                            hint="out[n, c] = mean of x[n, c, :, :], shape (N, C).",
                            rtol=RTOL if label == "float32" else AVG_RTOL,
                            precision_hint=_precision_hint("a mean of float64 values is accurate to about 1e-15."))
            count += 1
    return f"{count} cases"
