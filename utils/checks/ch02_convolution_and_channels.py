"""Checks for chapter 02 (convolution: cross-correlation, kernels, channels).

References are independent of the answers: ``torch.nn.functional.conv2d`` in float64 (which computes
cross-correlation, no kernel flip) and closed-form counts. Every array check compares whole arrays, tries
each input in the dtypes and memory layouts of ``array_variants`` (integer images must still give float
results; a strided view must not be read as if it were C-contiguous), and recognises the classic mistakes
(flipped or transposed kernel, an output one row short, channels summed on the wrong axis, a missing or
misplaced bias, ``=`` instead of ``+=``) to give a specific hint.

Messages use the workbook's notation: a kernel of size F_h x F_w, K filters (output channels), C input
channels, an input (N, C, H, W) and an output (N, K, H', W'). The ``@reference`` implementations at the end
are what the chapter's demonstrations use while an exercise is not solved yet.
"""

from __future__ import annotations

import numbers

import numpy as np
import torch
import torch.nn.functional as F
from torch.optim.optimizer import register_optimizer_step_pre_hook

from .compare import (array_variants, assert_array_matches, assert_equal, call, require_callable, require_float,
                      to_array)
from .core import CheckFailed, implemented_by, reference, register

# ----------------------------------------------------------------------------------------------------------
# references (torch, float64)


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(a, dtype=np.float64, copy=True))


def ref_conv2d(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """x: (N, C, H, W), w: (K, C, F_h, F_w), b: (K,) or None -> (N, K, H - F_h + 1, W - F_w + 1)."""
    return F.conv2d(_t(x), _t(w), None if b is None else _t(b)).numpy()


def ref_corr2d(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    """x: (H, W), k: (F_h, F_w) -> (H - F_h + 1, W - F_w + 1): cross-correlation, valid."""
    return ref_conv2d(np.asarray(x)[None, None], np.asarray(k)[None, None])[0, 0]


def ref_multi_in(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    """x: (C, H, W), k: (C, F_h, F_w) -> (H', W'): summed over channels."""
    return ref_conv2d(np.asarray(x)[None], np.asarray(k)[None])[0, 0]


def _flip(k: np.ndarray) -> np.ndarray:
    """Reverse the two last (spatial) axes."""
    return k[..., ::-1, ::-1]


def _per_channel(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    """x: (C, H, W), k: (C, F_h, F_w) -> (C, H', W'): one 2-D map per channel, not summed."""
    return np.stack([ref_corr2d(x[c], k[c]) for c in range(len(x))])


# ----------------------------------------------------------------------------------------------------------
# shared helpers


def _require_ndarray(got, case: str, what: str = "the result") -> None:
    """Later cells slice and convert these results with numpy: a torch tensor or a list would break them."""
    if got is None or isinstance(got, np.ndarray):
        return  # None gets its own message from to_array
    if isinstance(got, torch.Tensor):
        raise CheckFailed(
            f"failed on case {case}:\n  {what} is a torch tensor; return a numpy array (the inputs are numpy "
            "arrays, and later cells use numpy on your result).\n  hint: build the output with np.zeros(...) and "
            "numpy operations, or convert at the end with .numpy()."
        )
    if isinstance(got, (list, tuple)):
        to_array(got, case=case, what=what)  # the standard message for Python lists
    raise CheckFailed(f"failed on case {case}:\n  {what} should be a numpy array, got {type(got).__name__}.")


def _describe(a: np.ndarray) -> str:
    return "x".join(str(s) for s in a.shape)


def _layout_hint(label: str) -> str:
    """The end of a hint: what matters about a case whose input comes in another dtype or memory layout."""
    if "non-contiguous" in label or "Fortran" in label:
        return (". In this case an input is not a C-contiguous array (a view into a larger array, or Fortran "
                "order): slice it (x[i:i + kh, j:j + kw]) rather than computing strides from its shape, or use "
                "the array's own .strides.")
    if "float32" in label:
        return ". In this case the input is float32: its entries take 4 bytes, not 8."
    return "."


def _cases_in_variants(cases, names: tuple[str, ...]):
    """Each case in every dtype and layout of ``_variants``, plain float64 first: ``(*arrays, label)``."""
    for arrays in cases:
        for label, variant in _variants(*arrays, names=names):
            yield (*variant, label)


def _variants(*arrays: np.ndarray, names: tuple[str, ...]):
    """The case in every dtype and layout of ``array_variants`` for the first array (the image), then with an
    integer and a non-contiguous version of each other array (kernels, bias): ``(label, arrays)``, where the
    label goes into the case name ("" for the plain float64 case)."""
    first, rest = arrays[0], arrays[1:]
    for label, variant in array_variants(first):
        yield ("" if label == "float64" else f" [{names[0]}: {label}]"), (variant,) + rest
    for position, other in enumerate(rest, start=1):
        for label, variant in array_variants(other, float32=False):
            if label in ("integer", "non-contiguous"):
                changed = list(arrays)
                changed[position] = variant
                yield f" [{names[position]}: {label}]", tuple(changed)


def _random_cases_2d(rng: np.random.Generator):
    """Single-channel (x, k) pairs: worked examples first, then non-square, 1x1, kernel equal to the input."""
    # small and readable, but not a linear ramp: on a ramp different mistakes give identical results
    yield np.array([[3.0, 1.0, 4.0], [1.0, 5.0, 9.0], [2.0, 6.0, 5.0]]) / 2, np.array([[0.0, 1.0], [2.0, 3.0]])
    yield (np.arange(20.0).reshape(4, 5) * 7 % 11) * 0.3 - 1.1, np.array([[1.0, 2.0, -1.5]])  # 1x3, non-square x
    for (h, w), (kh, kw) in [((6, 6), (3, 3)), ((5, 8), (2, 3)), ((9, 4), (4, 2)), ((7, 7), (1, 1)),
                             ((4, 6), (4, 6)), ((3, 5), (3, 1)), ((10, 7), (5, 5)), ((1, 6), (1, 2)),
                             ((8, 5), (3, 4)), ((6, 9), (2, 7))]:
        yield rng.normal(size=(h, w)), rng.normal(size=(kh, kw))


def _spatial_mistakes(expected: np.ndarray, x: np.ndarray, k: np.ndarray, fn_ref, flip_is_mistake: bool) -> dict:
    """Known wrong answers for a sliding window over the two last axes of x / k.

    fn_ref(x, k) is the reference operation; flip_is_mistake says whether flipping the kernel is the bug
    (cross-correlation) or the fix (convolution), which the caller handles.
    """
    mistakes: dict[str, np.ndarray] = {}
    kh, kw = k.shape[-2:]
    if flip_is_mistake and not np.allclose(k, _flip(k)):
        mistakes["your result is the kernel-flipped version (true convolution). Cross-correlation does not "
                  "flip: y[i, j] = sum_u sum_v x[i + u, j + v] * k[u, v]."] = fn_ref(x, _flip(k))
    if kh == kw and kh > 1 and not np.allclose(k, np.swapaxes(k, -1, -2)):
        mistakes["your result uses the transposed kernel: k[u, v] multiplies x[i + u, j + v], with u along the "
                  "rows (height F_h) and v along the columns (width F_w). Check the order of your indices."] = \
            fn_ref(x, np.swapaxes(k, -1, -2))
    if expected.shape[-2] > 1:
        mistakes["your output is one row short: the last window starts at row H - F_h, so there are "
                 "H - F_h + 1 rows (range(H - F_h + 1))."] = expected[..., :-1, :]
    if expected.shape[-1] > 1:
        mistakes["your output is one column short: there are W - F_w + 1 columns (range(W - F_w + 1))."] = \
            expected[..., :, :-1]
    if expected.shape[-2] > 1 and expected.shape[-1] > 1:
        mistakes["your output is one row and one column short: an output of size (H - F_h + 1, W - F_w + 1) "
                 "has a window starting at every row 0..H-F_h and column 0..W-F_w."] = expected[..., :-1, :-1]
    return mistakes


def _check_shape(got, expected: np.ndarray, x: np.ndarray, k: np.ndarray, case: str, what: str = "the result"):
    """Shape-only mistakes, recognised before the values are compared: F_h and F_w swapped."""
    got_array = to_array(got, case=case, what=what)
    kh, kw = k.shape[-2:]
    swapped = expected.shape[:-2] + (x.shape[-2] - kw + 1, x.shape[-1] - kh + 1)
    if kh != kw and got_array.shape != expected.shape and got_array.shape == swapped:
        raise CheckFailed(
            f"failed on case {case}:\n  expected shape {expected.shape}, got {got_array.shape}\n  hint: your output "
            "has the shape for a transposed kernel: the number of rows comes from the kernel's height "
            "F_h = k.shape[-2], the number of columns from its width F_w = k.shape[-1].")


# ----------------------------------------------------------------------------------------------------------
# conv.corr2d and conv.convolve2d


implemented_by("conv.corr2d", "utils.checks.ch02_convolution_and_channels.ref_corr2d",
               "utils.layers.convolution.conv_forward_naive", "utils.layers.convolution.conv_forward_fast",
               "utils.layers.convolution.im2col")


@register("conv.corr2d")
def check_corr2d(answer) -> str:
    fn = require_callable(answer, "corr2d(x, k)")
    rng = np.random.default_rng(20)
    count = 0
    for x, k, label in _cases_in_variants(_random_cases_2d(rng), names=("x", "k")):
        case = f"x {_describe(x)}, k {_describe(k)}{label}"
        got = call(fn, x, k, case=case)
        _require_ndarray(got, case)
        require_float(got, case=case)
        expected = ref_corr2d(x, k)
        _check_shape(got, expected, x, k, case)
        mistakes = _spatial_mistakes(expected, x, k, ref_corr2d, flip_is_mistake=True)
        assert_array_matches(got, expected, case=case, known_mistakes=mistakes,
                             hint="y[i, j] = sum_u sum_v x[i + u, j + v] * k[u, v] for i < H - F_h + 1, "
                                  "j < W - F_w + 1" + _layout_hint(label))
        count += 1
    return f"{count} cases, integer, float32 and strided inputs among them"


implemented_by("conv.convolve2d", builds_on=("conv.corr2d",))


@register("conv.convolve2d")
def check_convolve2d(answer) -> str:
    fn = require_callable(answer, "convolve2d(x, k)")
    rng = np.random.default_rng(21)
    count = 0
    for x, k, label in _cases_in_variants(_random_cases_2d(rng), names=("x", "k")):
        case = f"x {_describe(x)}, k {_describe(k)}{label}"
        got = call(fn, x, k, case=case)
        _require_ndarray(got, case)
        require_float(got, case=case)
        expected = ref_corr2d(x, _flip(k))
        _check_shape(got, expected, x, k, case)
        mistakes = {}
        if not np.allclose(k, _flip(k)):
            mistakes["your result is the cross-correlation: true convolution flips the kernel in both "
                     "directions first, y = corr2d(x, k[::-1, ::-1])."] = ref_corr2d(x, k)
        if k.shape[0] > 1 and not np.allclose(k, k[::-1, :]):
            mistakes["you flipped the kernel upside down only; flip the columns too: k[::-1, ::-1]."] = \
                ref_corr2d(x, k[::-1, :])
        if k.shape[1] > 1 and not np.allclose(k, k[:, ::-1]):
            mistakes["you flipped the kernel left-right only; flip the rows too: k[::-1, ::-1]."] = \
                ref_corr2d(x, k[:, ::-1])
        if k.shape[0] == k.shape[1] and not np.allclose(k.T, _flip(k)):
            mistakes["you transposed the kernel (k.T) instead of flipping it; the flip reverses both axes, "
                     "k[::-1, ::-1] (a rotation by 180 degrees)."] = ref_corr2d(x, k.T)
        mistakes.update(_spatial_mistakes(expected, x, _flip(k), ref_corr2d, flip_is_mistake=False))
        assert_array_matches(got, expected, case=case, known_mistakes=mistakes,
                             hint="(x * k)[i, j] = sum_u sum_v x[i + u, j + v] * k[F_h-1-u, F_w-1-v]: "
                                  "cross-correlation with the flipped kernel" + _layout_hint(label))
        count += 1
    return f"{count} cases, integer, float32 and strided inputs among them"


# ----------------------------------------------------------------------------------------------------------
# conv.multi_in


def _multi_in_cases(rng: np.random.Generator):
    yield (np.arange(18.0) * 5 % 7).reshape(2, 3, 3) / 4 + 0.1, np.array([[[0.0, 1.0], [2.0, 3.0]], [[1.0, 2.0], [3.0, 4.0]]])
    for c, (h, w), (kh, kw) in [(1, (5, 5), (3, 3)), (3, (6, 6), (3, 3)), (3, (7, 5), (2, 3)), (2, (4, 9), (3, 2)),
                                (4, (5, 5), (1, 1)), (3, (4, 6), (4, 6)), (5, (6, 7), (3, 3)), (2, (8, 3), (5, 2)),
                                (3, (9, 9), (5, 5))]:
        yield rng.normal(size=(c, h, w)), rng.normal(size=(c, kh, kw))


implemented_by("conv.multi_in", "utils.checks.ch02_convolution_and_channels.ref_multi_in",
               builds_on=("conv.corr2d",))


@register("conv.multi_in")
def check_multi_in(answer) -> str:
    fn = require_callable(answer, "corr2d_multi_in(x, k)")
    rng = np.random.default_rng(22)
    count = 0
    for x, k, label in _cases_in_variants(_multi_in_cases(rng), names=("x", "k")):
        case = f"x (C, H, W) = {x.shape}, k (C, F_h, F_w) = {k.shape}{label}"
        got = call(fn, x, k, case=case)
        require_float(got, case=case)
        expected = ref_multi_in(x, k)
        _check_shape(got, expected, x, k, case)
        per_channel = _per_channel(x, k)
        c = len(x)
        mistakes = {}
        if c > 1:
            mistakes["only the last channel made it into your result: did you write `=` instead of `+=` "
                     "when accumulating over channels?"] = per_channel[-1]
            mistakes["only the first channel made it into your result: loop over (and add up) every "
                     "channel."] = per_channel[0]
            mistakes["you averaged over the channels; the formula sums them (no division by C)."] = \
                per_channel.mean(axis=0)
            mistakes["you returned one map per input channel: the output of one filter is their sum over "
                     "the channel axis (axis 0), a single (H', W') map."] = per_channel
            mistakes["you summed the per-channel maps over axis 1 (the rows); the channels are axis 0."] = \
                per_channel.sum(axis=1)
            mistakes["you summed the per-channel maps over axis 2 (the columns); the channels are axis 0."] = \
                per_channel.sum(axis=2)
            mistakes["channel c of x must be paired with channel c of k; your result pairs them in reverse "
                     "order."] = ref_multi_in(x, k[::-1])
            mistakes["channel c of x must be paired with channel c of k, not with every kernel channel: "
                     "sum over c of corr2d(x[c], k[c])."] = sum(ref_corr2d(x[i], k[j]) for i in range(c)
                                                                 for j in range(c))
        mistakes.update(_spatial_mistakes(expected, x, k, ref_multi_in, flip_is_mistake=True))
        assert_array_matches(got, expected, case=case, known_mistakes=mistakes,
                             hint="y[i, j] = sum_c sum_u sum_v x[c, i + u, j + v] * k[c, u, v]: the sum of "
                                  "corr2d(x[c], k[c]) over the channels c" + _layout_hint(label))
        count += 1
    return f"{count} cases, integer, float32 and strided inputs among them"


# ----------------------------------------------------------------------------------------------------------
# conv.conv2d (batched, several output channels, bias)


def _conv2d_cases(rng: np.random.Generator):
    def case(n, c, k, h, w, fh, fw):
        return rng.normal(size=(n, c, h, w)), rng.normal(size=(k, c, fh, fw)), rng.normal(size=k)

    yield ((np.arange(18.0) * 5 % 7).reshape(1, 2, 3, 3) / 4 + 0.1,
           np.array([[[[0.0, 1.0], [2.0, 3.0]], [[1.0, 2.0], [3.0, 4.0]]]]), np.array([0.5]))
    for shape in [(1, 1, 1, 5, 5, 3, 3), (1, 3, 4, 8, 8, 5, 5), (2, 3, 2, 6, 7, 3, 3), (3, 2, 3, 5, 9, 2, 4),
                  (2, 1, 4, 7, 5, 3, 2), (4, 3, 2, 4, 4, 1, 1), (2, 2, 3, 5, 6, 5, 6), (3, 4, 3, 6, 6, 3, 3),
                  (2, 2, 2, 9, 4, 4, 1), (1, 3, 5, 6, 8, 3, 3)]:
        yield case(*shape)


implemented_by("conv.conv2d", "utils.checks.ch02_convolution_and_channels.ref_conv2d", builds_on=("conv.multi_in",))


@register("conv.conv2d")
def check_conv2d(answer) -> str:
    fn = require_callable(answer, "conv2d(x, w, b)")
    rng = np.random.default_rng(23)
    count = 0
    for x, w, b, label in _cases_in_variants(_conv2d_cases(rng), names=("x", "w", "b")):
        n, c = x.shape[:2]
        o = w.shape[0]
        case = f"x (N, C, H, W) = {x.shape}, w (K, C, F_h, F_w) = {w.shape}, b ({o},){label}"
        got = call(fn, x, w, b, case=case)
        require_float(got, case=case)
        expected = ref_conv2d(x, w, b)
        _check_shape(got, expected, x, w, case)
        no_bias = ref_conv2d(x, w)
        mistakes = {
            "the bias is missing: add b[o] once to every entry of output channel o.": no_bias,
            "you added the bias once per input channel (inside the channel loop); add b[o] once, after "
            "summing over the C channels.": no_bias + c * b[None, :, None, None] if c > 1 else None,
            "the bias of output channel o is b[o]: you added the wrong entry (or the whole vector b) to "
            "each map.": no_bias + b.sum() if o > 1 else None,
            "you subtracted the bias: y = corr + b.": no_bias - b[None, :, None, None],
        }
        if c > 1:
            per_channel_last = ref_conv2d(x[:, -1:], w[:, -1:], b)
            mistakes["only the last input channel made it into your result: did you write `=` instead of "
                     "`+=` when accumulating over channels?"] = per_channel_last
            mistakes["only the first input channel made it into your result: sum over every input "
                     "channel."] = ref_conv2d(x[:, :1], w[:, :1], b)
            mistakes["you averaged over the input channels; the formula sums them."] = no_bias / c + b[None, :, None, None]
        if n > 1:
            mistakes["every example of the batch must use its own image: your result repeats example 0 "
                     "for all n."] = np.broadcast_to(expected[:1], expected.shape)
            mistakes["you summed over the batch axis (axis 0) instead of the channel axis: examples are "
                     "independent, channels are summed."] = np.broadcast_to(
                (no_bias.sum(axis=0, keepdims=True) + b[None, :, None, None]), expected.shape)
        if n != o:
            mistakes["your result has the axes (K, N, H', W'); PyTorch's layout is (N, K, H', W'): batch "
                     "first, then the K output channels."] = np.swapaxes(expected, 0, 1)
        elif n > 1:
            mistakes["your result has the batch and output-channel axes swapped: the layout is "
                     "(N, K, H', W')."] = np.swapaxes(expected, 0, 1)
        if o == c and o > 1:
            mistakes["you indexed the weights as w[c, o]; the layout is w[o, c, u, v] (output channel "
                     "first, shape (K, C, F_h, F_w))."] = ref_conv2d(x, np.swapaxes(w, 0, 1), b)
        if o > 1:
            mistakes["every output channel must use its own filter w[o]: your maps all come from w[0]."] = \
                ref_conv2d(x, np.broadcast_to(w[:1], w.shape), b)
        mistakes.update(_spatial_mistakes(expected, x, w, lambda x_, w_: ref_conv2d(x_, w_, b),
                                          flip_is_mistake=True))
        assert_array_matches(got, expected, case=case, known_mistakes=mistakes,
                             hint="y[n, o, i, j] = b[o] + sum_c sum_u sum_v x[n, c, i + u, j + v] * w[o, c, u, v]"
                                  + _layout_hint(label))
        count += 1
    return f"{count} cases, integer, float32 and strided inputs among them"


# ----------------------------------------------------------------------------------------------------------
# conv.output_shape


def _as_tuple(got, case: str) -> tuple:
    """The spec asks for a tuple (a torch.Size, a tuple subclass, is fine too). Its entries are judged by
    ``assert_equal``'s one integer rule: Python, NumPy and torch integers count, floats and bools do not."""
    if got is None:
        raise CheckFailed(f"failed on case {case}:\n  the output shape is None. Did you forget to `return` it?")
    if not isinstance(got, tuple):
        how = {"list": "tuple(...) or write (n, k, h, w) with round brackets",
               "ndarray": "a tuple of integers, not a numpy array"}.get(type(got).__name__, "a tuple")
        raise CheckFailed(f"failed on case {case}:\n  expected a tuple of 4 integers (N, K, H', W'), got a "
                          f"{type(got).__name__} {got!r}.\n  hint: return {how}.")
    return tuple(got)


implemented_by("conv.output_shape", "utils.shapes.conv_output_size")


@register("conv.output_shape")
def check_output_shape(answer) -> str:
    fn = require_callable(answer, "conv_output_shape(x_shape, w_shape)")
    cases = [((1, 3, 32, 32), (4, 3, 5, 5)), ((1, 1, 28, 28), (6, 1, 5, 5)), ((8, 3, 227, 227), (96, 3, 11, 11)),
             ((2, 128, 14, 14), (64, 128, 3, 3)), ((5, 2, 10, 7), (3, 2, 4, 2)), ((1, 1, 6, 9), (1, 1, 6, 9)),
             ((3, 16, 7, 5), (32, 16, 1, 1)), ((4, 2, 9, 12), (7, 2, 2, 5)), ((6, 5, 3, 8), (2, 5, 3, 1))]
    for x_shape, w_shape in cases:
        case = f"x_shape={x_shape}, w_shape={w_shape}"
        got = _as_tuple(call(fn, x_shape, w_shape, case=case), case)
        (n, c, h, w), (k, _, fh, fw) = x_shape, w_shape
        expected = (n, k, h - fh + 1, w - fw + 1)
        hints = {
            (n, k, h - fh, w - fw): "one short in each direction: a window of height F_h fits at H - F_h + 1 "
                                    "positions.",
            (n, c, h - fh + 1, w - fw + 1): "the output has one channel per filter: K = w_shape[0], not the "
                                            "input's C.",
            (n, h - fh + 1, w - fw + 1, k): "PyTorch's order is (N, K, H', W'): channels before height and width.",
            (n, k, h - fw + 1, w - fh + 1): "the height shrinks by F_h - 1 (F_h = w_shape[2]) and the width by "
                                            "F_w - 1 (F_w = w_shape[3]).",
            (n, k, h, w): "without padding the output is smaller than the input: H' = H - F_h + 1.",
            (k, n, h - fh + 1, w - fw + 1): "batch first: (N, K, H', W').",
        }
        if any(isinstance(v, float) for v in got):
            hint = "sizes are whole numbers: use integer arithmetic (// rather than /) or int(...)."
        else:
            try:
                hint = hints.get(got, "")
            except TypeError:  # unhashable entries: no known mistake to name
                hint = ""
        assert_equal(got, expected, case=case, what="the output shape",
                     hint=hint or "(N, C, H, W) with K filters of size (C, F_h, F_w) gives "
                                  "(N, K, H - F_h + 1, W - F_w + 1).")
    return f"{len(cases)} cases"


# ----------------------------------------------------------------------------------------------------------
# conv.param_count


@register("conv.param_count")
def check_param_count(answer) -> str:
    fn = require_callable(answer, "param_count(c_in, c_out, kh, kw, bias=True)")
    shapes = [(1, 1, 1, 1), (1, 1, 3, 3), (3, 4, 5, 5), (128, 64, 3, 3), (64, 128, 3, 3), (3, 96, 11, 11),
              (96, 256, 5, 5), (256, 384, 3, 3), (16, 32, 1, 1), (2, 5, 3, 7), (7, 3, 1, 4), (512, 512, 3, 3)]
    count = 0
    for c_in, c_out, kh, kw in shapes:
        for bias in (True, False):
            case = f"c_in={c_in}, c_out={c_out}, kh={kh}, kw={kw}, bias={bias}"
            got = call(fn, c_in, c_out, kh, kw, bias=bias, case=case)
            weights = c_out * c_in * kh * kw
            expected = weights + (c_out if bias else 0)
            wrong = {}  # value -> hint; where two mistakes give the same number, the first (commoner) wins
            for value, text in [
                (weights, "the bias is missing: with bias=True add one bias per output channel (c_out)."),
                (weights + c_out, "with bias=False there is no bias to count."),
                (weights + c_in, "there is one bias per output channel (c_out), not per input channel."),
                (c_in * kh * kw + (c_out if bias else 0), "there are c_out kernels, each of shape "
                                                          "(c_in, kh, kw): multiply by c_out."),
                (c_out * kh * kw + (c_out if bias else 0), "each kernel spans all c_in input channels: "
                                                           "its shape is (c_in, kh, kw)."),
                (weights + c_out * c_in, "one bias per output channel (c_out), not per (in, out) pair."),
                (c_out * c_in * kh * kh + (c_out if bias else 0), "use both kernel sizes, kh * kw."),
                (c_out * c_in * (kh + kw) + (c_out if bias else 0), "a kernel has kh * kw weights per "
                                                                    "channel, not kh + kw."),
            ]:
                if value != expected:
                    wrong.setdefault(value, text)
            hint = wrong.get(got, "") if isinstance(got, numbers.Number) else ""
            if isinstance(got, float) and not got.is_integer():
                hint = "a parameter count is a whole number."
            assert_equal(got, expected, case=case, what="the parameter count",
                         hint=hint or "c_out kernels of shape (c_in, kh, kw), plus c_out biases when bias=True.")
            count += 1
    return f"{count} cases"


# ----------------------------------------------------------------------------------------------------------
# conv.learn_kernel


DEFAULT_LR = 0.3  # the defaults of the spec, learn_kernel(x, y, kernel_shape, steps=300, lr=0.3)
DEFAULT_STEPS = 300


def _learn_cases():
    """(name, x, true kernel, steps, lr): converged, part-way, barely started, not started."""
    rng = np.random.default_rng(24)
    edge = np.array([[-1.0, 0.0, 1.0]] * 3)
    x_edge = rng.normal(size=(4, 10, 12))
    x_rand, k_rand = rng.normal(size=(3, 9, 8)), np.round(rng.normal(size=(2, 4)), 1)
    yield "the vertical edge detector", x_edge, edge, DEFAULT_STEPS, DEFAULT_LR
    yield "a random 2x4 kernel", x_rand, k_rand, 8, 0.004
    yield "the vertical edge detector, a few small steps", x_edge, edge, 4, 0.02
    yield "a random 2x4 kernel, no steps", x_rand, k_rand, 0, DEFAULT_LR


def gd_path(x: np.ndarray, y: np.ndarray, shape: tuple, steps: int, lr: float, *, accumulate: bool = False,
            broadcast: bool = False, summed: bool = False) -> np.ndarray:
    """Plain gradient descent on the mean squared error of corr(x, k) against y, from k = 0, in closed form.

    Every prediction is linear in k: with P the matrix of flattened windows, the loss is mean((P k - y)^2)
    and its gradient 2/M P^T (P k - y). The flags reproduce known mistakes: gradients never zeroed
    (``accumulate``), y without its channel axis so the difference broadcasts to (N, N, H', W')
    (``broadcast``), and the squared errors summed instead of averaged (``summed``).
    """
    n = len(x)
    windows = np.lib.stride_tricks.sliding_window_view(x, shape, axis=(1, 2))   # (N, H', W', kh, kw)
    p = windows.reshape(n, -1, int(np.prod(shape)))                              # (N, H'W', kh kw)
    m = p.shape[0] * p.shape[1]
    flat = p.reshape(m, -1)
    a = flat.T @ flat
    if broadcast:  # mean over (n, n') of (P_n k - y_n')^2: every image is fitted to the mean target
        c = p.sum(axis=0).T @ y.reshape(n, -1).sum(axis=0) / n
    else:
        c = flat.T @ y.ravel()
    scale = 2.0 if summed else 2.0 / m
    k = np.zeros(a.shape[0])
    g_total = np.zeros_like(k)
    with np.errstate(all="ignore"):
        for _ in range(steps):
            g = scale * (a @ k - c)
            g_total = g_total + g if accumulate else g
            k = k - lr * g_total
    return k.reshape(shape)


implemented_by("conv.learn_kernel", "utils.checks.ch02_convolution_and_channels.gd_path")


@register("conv.learn_kernel")
def check_learn_kernel(answer) -> str:
    fn = require_callable(answer, "learn_kernel(x, y, kernel_shape, steps, lr)")
    watch = _StepWatch()
    handle = register_optimizer_step_pre_hook(watch)
    try:
        return _check_learn_kernel(fn, watch)
    finally:
        handle.remove()


class _StepWatch:
    """Optimizer steps taken during the check, and how many of them found no gradient to apply.

    At the starting kernel 0 the gradient is never zero (the targets are not), so an optimizer step that
    finds every gradient None or zero means the gradient was cleared between ``backward()`` and ``step()``.
    """

    def __init__(self) -> None:
        self.steps = self.empty = 0

    def reset(self) -> None:
        self.steps = self.empty = 0

    def __call__(self, optimizer, args, kwargs) -> None:
        grads = [p.grad for group in optimizer.param_groups for p in group["params"]]
        self.steps += 1
        if all(g is None or not bool(g.any()) for g in grads):
            self.empty += 1


# The errors a literal reading of "kernel <- kernel - lr * kernel.grad" runs into, and what to do instead.
_UPDATE = ("update the kernel in place where autograd does not record it: `with torch.no_grad(): kernel -= lr * "
           "kernel.grad`, then `kernel.grad.zero_()`; or let torch.optim.SGD([kernel], lr=lr) do it with "
           "optimizer.zero_grad(), loss.backward(), optimizer.step() (see \"Autograd and optimizers\" above).")
_ERROR_HINTS = [
    (("unsupported operand", "NoneType"),
     "kernel.grad is None. After `kernel = kernel - lr * kernel.grad` the name `kernel` holds a new tensor "
     "computed from the old one, not a leaf, and backward() fills in .grad only for leaves, so on the next step "
     "there is no gradient. Keep the one leaf tensor and " + _UPDATE),
    (("leaf Variable", "in-place"),
     "`kernel -= ...` on a tensor with requires_grad=True would itself be recorded in the autograd graph, "
     "which PyTorch forbids for a leaf. Wrap the update in `with torch.no_grad():` (then "
     "`kernel.grad.zero_()`), or let torch.optim.SGD([kernel], lr=lr) make it with optimizer.step()."),
    (("NoneType", "zero_"),
     "kernel.grad is None until the first loss.backward(): clear it after the update (kernel.grad.zero_()), or "
     "set kernel.grad = None, or use optimizer.zero_grad(), which copes with a missing gradient."),
    (("does not require grad",),
     "create the kernel with requires_grad=True (torch.zeros(1, 1, kh, kw, dtype=torch.float64, "
     "requires_grad=True)): otherwise autograd computes no gradient for it."),
    (("backward through the graph a second time",),
     "compute the prediction and the loss inside the loop, once per step: each loss.backward() frees the graph "
     "of the loss it came from."),
]


def _with_error_hint(failure: CheckFailed) -> CheckFailed:
    message = str(failure)
    for words, hint in _ERROR_HINTS:
        if all(word in message for word in words):
            return CheckFailed(f"{message}\n  hint: {hint}")
    return failure


def _not_moved_hint(watch: _StepWatch) -> str:
    """Why the kernel is still all zeros, from what the optimizer steps saw."""
    if watch.steps and watch.empty == watch.steps:
        return ("your kernel did not move from zeros: optimizer.step() ran, but found no gradient every time. "
                "optimizer.zero_grad() sits between loss.backward() and optimizer.step(), so it wipes out the "
                "gradient that step() needs. Clear the gradient at the start of each step (zero_grad(), then the "
                "loss, backward(), step()), or right after step().")
    if watch.steps:
        return ("your kernel did not move from zeros although optimizer.step() ran: is the kernel you return the "
                "tensor the optimizer was given (torch.optim.SGD([kernel], lr=lr))?")
    return ("your kernel did not move from zeros: nothing updated it, or the gradient was cleared before the "
            "update used it. In each step, after loss.backward(), call optimizer.step(), or update by hand "
            "`with torch.no_grad(): kernel -= lr * kernel.grad`; clear the gradient only after the update (or "
            "before backward()).")


def _learned_kernel(got, shape: tuple, case: str) -> np.ndarray:
    """The answer must be a detached torch tensor of shape kernel_shape: the notebook calls .numpy() on it."""
    if got is None:
        raise CheckFailed(f"failed on case {case}:\n  the learned kernel is None. Did you forget to `return` it?")
    if not isinstance(got, torch.Tensor):
        raise CheckFailed(
            f"failed on case {case}:\n  the learned kernel is a {type(got).__name__}; return a torch tensor "
            "of shape kernel_shape = (kh, kw), detached from the graph: kernel.detach()[0, 0]."
        )
    if got.requires_grad:
        raise CheckFailed(
            f"failed on case {case}:\n  the learned kernel still requires grad (it is part of the autograd "
            "graph), so .numpy() on it fails.\n  hint: return kernel.detach()[0, 0]."
        )
    array = to_array(got, case=case, what="the learned kernel")
    if array.shape != tuple(shape):
        if array.shape == (1, 1) + tuple(shape):
            hint = "return the (kh, kw) kernel itself, kernel[0, 0], not the (1, 1, kh, kw) weight tensor."
        elif array.shape == tuple(shape)[::-1]:
            hint = "return the kernel with shape kernel_shape = (kh, kw), not transposed."
        else:
            hint = "return a tensor of shape kernel_shape = (kh, kw)."
        raise CheckFailed(f"failed on case {case}:\n  expected shape {tuple(shape)}, got {array.shape}\n  hint: "
                          + hint)
    if not np.all(np.isfinite(array)):
        raise CheckFailed(f"failed on case {case}:\n  your kernel contains inf or nan: the loss blew up. Use "
                          "the lr you are given, and the mean (not the sum) of the squared errors.")
    return array


def _check_learn_kernel(fn, watch: _StepWatch) -> str:
    count = 0
    for name, x, k, steps, lr in _learn_cases():
        y = ref_conv2d(x[:, None], k[None, None])[:, 0]
        case = f"{name}: x {x.shape}, y {y.shape}, kernel_shape {k.shape}, steps={steps}, lr={lr}"
        watch.reset()
        try:
            got = call(fn, torch.from_numpy(x), torch.from_numpy(y), k.shape, steps=steps, lr=lr, case=case)
        except CheckFailed as failure:
            raise _with_error_hint(failure) from None
        got_array = _learned_kernel(got, k.shape, case)
        expected = gd_path(x, y, k.shape, steps, lr)
        mistakes = {
            _not_moved_hint(watch): np.zeros_like(k),
            "your gradients accumulate: backward() adds to kernel.grad and optimizer.step() does not clear it. "
            "Call optimizer.zero_grad() (or set kernel.grad = None) in every step, before loss.backward().":
                gd_path(x, y, k.shape, steps, lr, accumulate=True),
            "the target has no channel axis: F.conv2d(x, kernel) has shape (N, 1, H', W') and y (N, H', W'), so "
            "their difference silently broadcasts to (N, N, H', W'). Use y[:, None] (the target shape mismatch "
            "makes every image fit the mean target).": gd_path(x, y, k.shape, steps, lr, broadcast=True),
            "you summed the squared errors; the loss L is their mean (.mean()), which sets the step size.":
                gd_path(x, y, k.shape, steps, lr, summed=True),
            "your kernel is the flipped one: the targets were made by cross-correlation (F.conv2d), so fit "
            "with F.conv2d, not with a true convolution.": _flip(expected),
            "your kernel is transposed: weight k[u, v] multiplies x[i + u, j + v], u along the rows.":
                expected.T if k.shape[0] == k.shape[1] else None,
            f"your kernel is what {steps} steps with lr = {DEFAULT_LR} give: use the lr argument, not a fixed "
            "learning rate.": gd_path(x, y, k.shape, steps, DEFAULT_LR) if lr != DEFAULT_LR else None,
            f"your kernel is what {DEFAULT_STEPS} steps give: take exactly `steps` steps (the argument), not a "
            "fixed number.": gd_path(x, y, k.shape, DEFAULT_STEPS, lr) if steps != DEFAULT_STEPS else None,
            f"your kernel is the exact answer, but {steps} steps of gradient descent with lr = {lr}, starting "
            "from zeros, do not get there: take exactly `steps` plain gradient steps with learning rate lr (no "
            "closed-form solution, no extra iterations).": k,
        }
        assert_array_matches(got_array, expected, case=case, known_mistakes=mistakes,
                             what="the learned kernel",
                             hint=f"start from zeros and take exactly steps={steps} steps of plain gradient descent "
                                  f"(kernel -= lr * grad, lr={lr}, no momentum) on the mean squared error "
                                  "between F.conv2d(x[:, None], kernel) and y[:, None], zeroing the gradient "
                                  "each step.")
        count += 1
    return f"{count} runs follow gradient descent step by step"


# ----------------------------------------------------------------------------------------------------------
# the workbook's implementations, for demonstrations while an exercise is unsolved (``yours_or_reference``)


@reference("conv.corr2d")
def corr2d(x, k) -> np.ndarray:
    return ref_corr2d(x, k)


@reference("conv.convolve2d")
def convolve2d(x, k) -> np.ndarray:
    return ref_corr2d(x, _flip(np.asarray(k)))


@reference("conv.multi_in")
def corr2d_multi_in(x, k) -> np.ndarray:
    return ref_multi_in(x, k)


@reference("conv.conv2d")
def conv2d(x, w, b) -> np.ndarray:
    return ref_conv2d(x, w, b)


@reference("conv.output_shape")
def conv_output_shape(x_shape, w_shape) -> tuple:
    (n, _, h, w), (k, _, fh, fw) = x_shape, w_shape
    return (int(n), int(k), int(h - fh + 1), int(w - fw + 1))


@reference("conv.param_count")
def param_count(c_in, c_out, kh, kw, bias=True) -> int:
    return int(c_out * c_in * kh * kw + (c_out if bias else 0))


@reference("conv.learn_kernel")
def learn_kernel(x, y, kernel_shape, steps=300, lr=0.3) -> torch.Tensor:
    x = torch.as_tensor(x, dtype=torch.float64)[:, None]
    y = torch.as_tensor(y, dtype=torch.float64)[:, None]
    kernel = torch.zeros(1, 1, *kernel_shape, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([kernel], lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = ((F.conv2d(x, kernel) - y) ** 2).mean()
        loss.backward()
        optimizer.step()
    return kernel.detach()[0, 0]
