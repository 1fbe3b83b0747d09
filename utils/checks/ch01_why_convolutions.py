"""Checks for chapter 01 (why convolutions): weight counts, convolution as a sparse weight-tied matrix,
circular convolution, translation equivariance and the receptive field of stacked layers.

References are independent of the answers: closed-form counts, ``torch.nn.functional.conv1d``/``conv2d``
in float64 applied to the standard basis (which yields the convolution matrix column by column),
``torch.roll`` for circular shifts, and autograd on stacks of strided convolutions for receptive fields.
Inputs that the specs allow as arrays are tried in every variant of ``array_variants`` (float32, integer,
non-contiguous, Fortran order). Notation as in docs/AUTHORING.md: F (F_h x F_w) filter size, S stride,
n / n' sizes along one axis, H' x W' the output.

Each exercise also has a registered reference (``@reference``) with the exercise's signature: the chapter's
demonstrations use it, through ``yours_or_reference``, until the student's answer passes.
"""

from __future__ import annotations

import numbers

import numpy as np
import torch
import torch.nn.functional as F

from ..receptive_field import receptive_field as closed_form_receptive_field
from .compare import array_variants, assert_array_matches, assert_equal, call, is_integer_array, require_callable
from .core import CheckFailed, implemented_by, reference, register


def _t(a) -> torch.Tensor:
    return torch.from_numpy(np.array(a, dtype=np.float64))


def _fmt_kernel(w: np.ndarray) -> str:
    return str(np.round(np.asarray(w, dtype=np.float64), 2).tolist())


def _memory_note(name: str, array: np.ndarray) -> str:
    """A sentence for the hint when ``array`` is not a C-ordered array of 8-byte numbers: code that computes
    strides from the shape (np.lib.stride_tricks.as_strided) reads the wrong memory then."""
    how = "index it normally, or copy it first with np.ascontiguousarray(" + name + ", dtype=float)"
    if not (array.flags.c_contiguous or array.flags.f_contiguous):
        return f" Here {name} is a strided view (not contiguous): {how}; do not compute strides from its shape."
    if not array.flags.c_contiguous:
        return f" Here {name} is stored column by column (Fortran order): {how}; do not compute strides from its shape."
    if array.dtype.itemsize != 8:
        size = array.dtype.itemsize
        return (f" Here {name} has dtype {array.dtype} ({size} byte{'s' if size > 1 else ''} per entry): strides "
                f"that assume 8-byte entries read the wrong memory; use {name}.strides or index normally.")
    return ""


def _assert_array(got, expected: np.ndarray, *, integer_hint: str, **kwargs) -> None:
    """``assert_array_matches``, with a hint about integer outputs written for this exercise."""
    assert_array_matches(got, expected, integer_hint=integer_hint, **kwargs)


# --------------------------------------------------------------------------------------------------
# why.param_counts


_PARAM_FORMULAS = {
    "fully connected": "every one of the n outputs is wired to every one of the n inputs: n * n weights.",
    "locally connected": "each of the n outputs has its own k weights: k * n weights.",
    "shared (convolutional)": "all n outputs use the same k weights: k weights, whatever n is.",
}


@reference("why.param_counts")
def reference_param_counts(n: int, k: int) -> tuple[int, int, int]:
    """(fully connected, locally connected, shared) weight counts, no biases."""
    return n * n, k * n, k


def _param_hint(name: str, g, e: int, n: int, k: int) -> str:
    """A hint for one wrong count: a named mistake only when the value is that mistake's (and not right)."""
    if hasattr(g, "item") and getattr(g, "ndim", None) == 0:  # a NumPy or torch scalar
        g = g.item()
    if not isinstance(g, numbers.Number) or isinstance(g, bool):
        return "return three integers, e.g. (n * n, k * n, k)."
    value = g
    if value == e:  # right value, wrong type (a float such as 25.0)
        return "the value is right, but a count is an int: use integer arithmetic (n * n, not n ** 2.0 or n / 1)."
    mistakes = []
    if name == "fully connected":
        mistakes = [(n * n + n, "count weights only, no biases: n outputs times n inputs."),
                    (k * n, "every one of the n outputs is wired to every one of the n inputs: n * n weights."),
                    (2 * n, "every one of the n outputs is wired to every one of the n inputs: n * n weights."),
                    (n, "every one of the n outputs is wired to every one of the n inputs: n * n weights.")]
    elif name == "locally connected":
        mistakes = [(k * (n - k + 1), "assume the input is padded so that all n nodes see k inputs each: "
                                      "k * n weights, every node with its own k."),
                    (k * n + n, "count weights only, no biases."),
                    (k, "without sharing, each of the n nodes has its own k weights."),
                    (n * n, "a local node sees only k inputs, not all n.")]
    else:
        mistakes = [(k * n, "with sharing every node uses the same k weights: the count does not depend on n."),
                    (k + 1, "count weights only, no bias.")]
    for wrong, hint in mistakes:
        if wrong != e and value == wrong:
            return hint
    return _PARAM_FORMULAS[name]


@register("why.param_counts")
def check_param_counts(answer) -> str:
    fn = require_callable(answer, "param_counts(n, k)")
    cases = [(5, 3), (8, 3), (1, 1), (7, 1), (6, 6), (10, 4), (100, 5), (1000, 9), (28 * 28, 9),
             (224 * 224, 49), (10**6, 100), (12 * 10**6, 121)]
    names = ("fully connected", "locally connected", "shared (convolutional)")
    for n, k in cases:
        case = f"n={n}, k={k}"
        got = call(fn, n, k, case=case)
        if not isinstance(got, (tuple, list)) or len(got) != 3:
            raise CheckFailed(
                f"failed on case {case}:\n  expected a tuple of three integers "
                f"(fully connected, locally connected, shared), got {got!r}"
            )
        expected = (n * n, k * n, k)
        if n > k > 1 and tuple(got) == expected[::-1]:
            raise CheckFailed(f"failed on case {case}:\n  expected {expected}, got {tuple(got)}\n"
                              "  hint: the order is (fully connected, locally connected, shared).")
        for name, g, e in zip(names, got, expected):
            assert_equal(g, e, case=case, what=f"the {name} count", hint=_param_hint(name, g, e, n, k))
    return f"{len(cases)} cases"


# --------------------------------------------------------------------------------------------------
# why.conv_matrix_1d and why.conv_matrix_2d


@reference("why.conv_matrix_1d")
def reference_matrix_1d(w: np.ndarray, n: int) -> np.ndarray:
    """(n - F + 1, n) with F = len(w): column j is conv1d applied to the j-th unit vector."""
    basis = torch.eye(n, dtype=torch.float64)[:, None, :]
    columns = F.conv1d(basis, _t(w)[None, None, :])[:, 0, :]  # (n, n - k + 1): row j = M[:, j]
    return columns.T.numpy()


@reference("why.conv_matrix_2d")
def reference_matrix_2d(w: np.ndarray, height: int, width: int) -> np.ndarray:
    """(H' W', H W) with H' = H - F_h + 1, W' = W - F_w + 1; rows and columns in row-major (C) order."""
    basis = torch.eye(height * width, dtype=torch.float64).reshape(height * width, 1, height, width)
    columns = F.conv2d(basis, _t(w)[None, None])  # (H*W, 1, Ho, Wo)
    return columns.reshape(height * width, -1).T.numpy()


def _cases_1d():
    """(w, n, variant label): small readable cases, random ones, then one kernel in every array variant."""
    rng = np.random.default_rng(10)
    yield np.array([1.0, 2.0, 3.0]), 5, ""
    yield np.array([-1.0, 0.0, 1.0]), 6, ""
    for k in range(1, 6):
        for extra in (0, 1, 4, 9):
            yield rng.normal(size=k), k + extra, ""
    for label, w in array_variants(rng.normal(size=4)):
        yield w, 9, label


def _variant(label: str, name: str, array: np.ndarray) -> str:
    """The part of a case name that says which array variant ``name`` is (empty for the plain cases)."""
    return f" ({name} {label}, dtype {array.dtype})" if label else ""


@register("why.conv_matrix_1d")
def check_conv_matrix_1d(answer) -> str:
    fn = require_callable(answer, "conv_matrix_1d(w, n)")
    count = 0
    for w, n, label in _cases_1d():
        k = len(w)
        case = f"w = {_fmt_kernel(w)}, n={n}" + _variant(label, "w", w)
        got = call(fn, w, n, case=case)
        expected = reference_matrix_1d(w, n)
        mistakes = {
            "your matrix is transposed: it must have one ROW per output (n' = n - F + 1 rows, F = len(w)) "
            "and one column per input (n columns), so that M @ x gives the outputs.": expected.T,
        }
        if k > 1 and not np.allclose(w, w[::-1]):
            mistakes["your matrix flips the kernel: row i holds w[0], ..., w[F-1] in columns "
                     "i, ..., i + F - 1 (no flip, like conv1d)."] = reference_matrix_1d(w[::-1], n)
        if n > k:
            mistakes["your matrix lacks the last output row: there are n - F + 1 window positions."] = expected[:-1]
        _assert_array(got, expected, case=case, what="the matrix", known_mistakes=mistakes,
                      hint=f"M[i, i + j] = w[j]; shape (n - F + 1, n) = {expected.shape} with F = len(w) = {k}; "
                           "all other entries are 0." + _memory_note("w", w),
                      integer_hint="your matrix has an integer dtype, so the weights were cut off: create it "
                                   "with floats, np.zeros((n - k + 1, n)), not with dtype=int or np.zeros_like "
                                   "of an integer array.")
        count += 1
    return f"{count} cases"


def _cases_2d():
    """(w, height, width, variant label); the last kernel is non-square, in every array variant."""
    rng = np.random.default_rng(11)
    yield np.arange(1.0, 5.0).reshape(2, 2), 3, 3, ""
    shapes = [((3, 3), 5, 6), ((3, 3), 6, 5), ((2, 3), 4, 7), ((3, 2), 5, 5), ((1, 1), 3, 4),
              ((3, 3), 3, 3), ((4, 4), 6, 9), ((1, 3), 2, 5), ((2, 2), 7, 3), ((5, 5), 5, 8)]
    for (kh, kw), height, width in shapes:
        yield rng.normal(size=(kh, kw)), height, width, ""
    for label, w in array_variants(rng.normal(size=(2, 3))):
        yield w, 4, 6, label


def _column_major(matrix: np.ndarray, w: np.ndarray, height: int, width: int) -> np.ndarray:
    ho, wo = height - w.shape[0] + 1, width - w.shape[1] + 1
    return matrix.reshape(ho, wo, height, width).transpose(1, 0, 3, 2).reshape(ho * wo, height * width)


@register("why.conv_matrix_2d")
def check_conv_matrix_2d(answer) -> str:
    fn = require_callable(answer, "conv_matrix_2d(w, height, width)")
    count = 0
    for w, height, width, label in _cases_2d():
        case = f"w of shape {w.shape} = {_fmt_kernel(w)}, image {height}x{width}" + _variant(label, "w", w)
        got = call(fn, w, height, width, case=case)
        expected = reference_matrix_2d(w, height, width)
        mistakes = {
            "your matrix is transposed: one ROW per output pixel, one column per input pixel.": expected.T,
        }
        if not np.allclose(w, w[::-1, ::-1]):
            mistakes["your matrix flips the kernel: output (i, j) weighs input (i + a, j + b) with "
                     "w[a, b], no flip (like conv2d)."] = reference_matrix_2d(w[::-1, ::-1], height, width)
        column_major = _column_major(expected, w, height, width)
        column_hint = ("your matrix flattens images column by column; flatten row by row (C order, "
                       "x.reshape(-1)): pixel (i, j) has index i * width + j.")
        transposed_hint = ("your matrix uses the transposed kernel: w[a, b] belongs to row offset a "
                           "and column offset b.")
        kernel_t = (reference_matrix_2d(w.T, height, width)
                    if w.shape[0] == w.shape[1] and not np.allclose(w, w.T) else None)
        if kernel_t is not None and np.allclose(kernel_t, column_major):
            mistakes["your matrix either uses the transposed kernel or flattens images column by column "
                     "(on a square image both give this result). w[a, b] belongs to row offset a and "
                     "column offset b, and pixel (i, j) has index i * width + j (row by row)."] = kernel_t
        else:
            if kernel_t is not None:
                mistakes[transposed_hint] = kernel_t
            if not np.allclose(column_major, expected):
                mistakes[column_hint] = column_major
        ho, wo = height - w.shape[0] + 1, width - w.shape[1] + 1
        _assert_array(got, expected, case=case, what="the matrix", known_mistakes=mistakes,
                      hint=f"row i * {wo} + j (output pixel (i, j)) holds w[a, b] in column "
                           f"(i + a) * {width} + (j + b); shape ({ho}*{wo}, {height}*{width})."
                           + _memory_note("w", w),
                      integer_hint="your matrix has an integer dtype, so the weights were cut off: create it "
                                   "with floats, np.zeros((out_h * out_w, height * width)), not with dtype=int "
                                   "or np.zeros_like of an integer array.")
        count += 1
    return f"{count} cases"


# --------------------------------------------------------------------------------------------------
# why.circular_conv2d


@reference("why.circular_conv2d")
def reference_circular_conv2d(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Cross-correlation of x (H, W) with an odd F_h x F_w kernel w, circular padding: shape (H, W)."""
    w = np.asarray(w)
    ph, pw = w.shape[0] // 2, w.shape[1] // 2
    padded = F.pad(_t(x)[None, None], (pw, pw, ph, ph), mode="circular")
    return F.conv2d(padded, _t(w)[None, None])[0, 0].numpy()


def _cases_circular():
    """(x, w, case name): readable and random cases, integer images, then x and w in every array variant."""
    rng = np.random.default_rng(12)

    def name(x, w, note=""):
        return f"x of shape {x.shape}, w of shape {w.shape}" + note

    x = np.zeros((5, 5))
    x[0, 0] = 1.0  # a single bright pixel in the corner: its response wraps around
    w = np.arange(1.0, 10.0).reshape(3, 3)
    yield x, w, name(x, w)
    shapes = [((6, 8), (3, 3)), ((7, 4), (3, 1)), ((4, 9), (1, 5)), ((8, 8), (5, 5)), ((5, 7), (3, 5)),
              ((3, 3), (3, 3)), ((6, 6), (1, 1)), ((9, 5), (5, 3)), ((10, 12), (3, 3))]
    for (h, w_), (kh, kw) in shapes:
        x, w = rng.normal(size=(h, w_)), rng.normal(size=(kh, kw))
        yield x, w, name(x, w)
    # integer images (as loaded from disk) with a float kernel: the output must be float
    for x in (rng.integers(0, 256, size=(6, 7)).astype(np.uint8), rng.integers(-5, 6, size=(5, 8))):
        w = rng.normal(size=(3, 3)).round(2)
        yield x, w, f"x of shape {x.shape} with dtype {x.dtype}, w of shape {w.shape} (float)"
    x, w = rng.normal(size=(5, 7)), rng.normal(size=(3, 5))
    for label, variant in array_variants(x):
        yield variant, w, name(variant, w, _variant(label, "x", variant))
    for label, variant in array_variants(w):
        yield x, variant, name(x, variant, _variant(label, "w", variant))


@register("why.circular_conv2d")
def check_circular_conv2d(answer) -> str:
    fn = require_callable(answer, "circular_conv2d(x, w)")
    count = 0
    for x, w, case in _cases_circular():
        ph, pw = w.shape[0] // 2, w.shape[1] // 2
        integer_input = ("x is an integer image" if np.issubdtype(x.dtype, np.integer) else
                         "w is an integer kernel" if np.issubdtype(w.dtype, np.integer) else "")
        try:
            got = call(fn, x, w, case=case)
        except CheckFailed as failure:
            if integer_input and "cast" in str(failure).lower():
                raise CheckFailed(f"{failure}\n  hint: {integer_input} here; an output made with "
                                  "np.zeros_like or with the dtype of an integer input is integer too and cannot "
                                  "hold the float results. Create it with np.zeros(x.shape) (float).") from None
            raise
        expected = reference_circular_conv2d(x, w)
        mistakes = {}
        if ph or pw:
            mistakes["you padded with zeros: circular padding wraps around, so the row above row 0 "
                     "is row H - 1 (index with % H)."] = F.conv2d(_t(x)[None, None], _t(w)[None, None],
                                                                  padding=(ph, pw))[0, 0].numpy()
            mistakes["your output is shifted: centre the kernel, y[i, j] uses x[(i + a - F_h//2) % H, "
                     "(j + b - F_w//2) % W]."] = np.roll(expected, (-ph, -pw), axis=(0, 1))
            mistakes["your output is shifted the other way: y[i, j] uses x[(i + a - F_h//2) % H, "
                     "(j + b - F_w//2) % W]."] = np.roll(expected, (ph, pw), axis=(0, 1))
        if not np.allclose(w, w[::-1, ::-1]):
            mistakes["you flipped the kernel: no flip, as in conv2d."] = reference_circular_conv2d(x, w[::-1, ::-1])
        _assert_array(got, expected, case=case, known_mistakes=mistakes,
                      hint="y[i, j] = sum_{a, b} w[a, b] * x[(i + a - F_h//2) % H, (j + b - F_w//2) % W] "
                           "for w of shape (F_h, F_w); the output has the shape of x."
                           + _memory_note("x", x) + _memory_note("w", w),
                      integer_hint="your output has an integer dtype, so fractions were cut off"
                                   + (f" ({integer_input} here)" if integer_input else "")
                                   + ". Create the output with np.zeros(x.shape) (float), not np.zeros_like "
                                   "or the dtype of an integer input.")
        count += 1
    return f"{count} cases"


# --------------------------------------------------------------------------------------------------
# why.equivariance_error


def _roll(a: np.ndarray, dy: int, dx: int) -> np.ndarray:
    return torch.roll(_t(a), shifts=(dy, dx), dims=(0, 1)).numpy()


@reference("why.equivariance_error")
def reference_equivariance_error(layer, x: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """layer(T x) - T layer(x), T the circular shift by dy rows and dx columns (float64, shape of x)."""
    return _t(layer(_roll(x, dy, dx))).numpy() - _roll(layer(x), dy, dx)


def _probe_layers():
    """Layers mapping (H, W) -> (H, W), some translation-equivariant, some not. Deterministic."""
    def circular(x):
        return reference_circular_conv2d(x, np.array([[1.0, 2.0, 0.0], [-1.0, 0.5, 3.0], [0.0, 1.0, -2.0]]))

    def zero_padded(x):
        return F.conv2d(_t(x)[None, None], _t([[0.0, 1.0, 0.0], [2.0, -1.0, 0.5], [0.0, 3.0, 1.0]])[None, None],
                        padding=1)[0, 0].numpy()

    def relu(x):
        return np.maximum(np.asarray(x, dtype=np.float64), 0.0)

    def add_position(x):  # a bias that depends on the position: not equivariant
        h, w = np.shape(x)
        return np.asarray(x, dtype=np.float64) + np.arange(h)[:, None] * 10.0 + np.arange(w)[None, :] ** 2

    def corner_gate(x):  # multiplies by a fixed mask: not equivariant
        x = np.asarray(x, dtype=np.float64)
        mask = np.zeros_like(x)
        mask[: x.shape[0] // 2 + 1, : x.shape[1] // 3 + 1] = 1.0
        return x * mask

    def row_scale(x):  # depends on the row only: equivariant to horizontal shifts, not to vertical ones
        x = np.asarray(x, dtype=np.float64)
        return x * (1.0 + np.arange(x.shape[0]))[:, None]

    def column_bias(x):  # depends on the column only: equivariant to vertical shifts, not to horizontal ones
        x = np.asarray(x, dtype=np.float64)
        return np.tanh(x) + np.sqrt(np.arange(x.shape[1]) + 1.0)[None, :]

    def subsample(x):  # stride 2 then repeat: equivariant only to even shifts (on even sizes)
        x = np.asarray(x, dtype=np.float64)
        h, w = x.shape
        return np.repeat(np.repeat(x[::2, ::2], 2, axis=0), 2, axis=1)[:h, :w]

    def flip(x):  # upside down and mirrored: moves content the other way
        return np.asarray(x, dtype=np.float64)[::-1, ::-1] * 1.0

    return [("circular 3x3 conv", circular), ("zero-padded 3x3 conv", zero_padded), ("ReLU", relu),
            ("x + position-dependent bias", add_position), ("fixed mask", corner_gate),
            ("x * (1 + row index)", row_scale), ("tanh(x) + column-dependent bias", column_bias),
            ("stride 2 then repeat", subsample), ("flip both axes", flip)]


_EQUIVARIANCE_CASES = [
    ((5, 7), [(1, 2), (0, 3), (0, -2), (-3, 0)]),
    ((8, 6), [(2, 1), (-1, 2), (3, 0), (-2, -3), (1, -1)]),
    ((6, 6), [(1, 1), (0, 0), (-1, -1), (2, -4)]),
    ((7, 9), [(9, -11), (-8, 4)]),  # shifts larger than the image wrap around: 9 rows of 7 = 2 rows
]


def _equivariance_cases():
    """(layer name, layer, x, dy, dx, case name); at the end x in every array variant but float64."""
    rng = np.random.default_rng(13)
    for (h, w), shifts in _EQUIVARIANCE_CASES:
        x = rng.normal(size=(h, w))
        for name, layer in _probe_layers():
            for dy, dx in shifts:
                yield name, layer, x, dy, dx, f"layer = {name}, x of shape {x.shape}, dy={dy}, dx={dx}"
    for label, x in array_variants(rng.normal(size=(6, 8)))[1:]:
        for name, layer in _probe_layers():
            for dy, dx in [(2, -3), (1, 1)]:
                yield (name, layer, x, dy, dx,
                       f"layer = {name}, x of shape {x.shape}{_variant(label, 'x', x)}, dy={dy}, dx={dx}")


@register("why.equivariance_error")
def check_equivariance_error(answer) -> str:
    fn = require_callable(answer, "equivariance_error(layer, x, dy, dx)")
    count = 0
    for name, layer, x, dy, dx, case in _equivariance_cases():
        h, w = x.shape
        got = call(fn, layer, x, dy, dx, case=case)
        fx = layer(x)
        expected = layer(_roll(x, dy, dx)) - _roll(fx, dy, dx)
        mistakes = {
            "the sign is reversed: layer(shift(x)) - shift(layer(x)).": -expected,
            "take the signed difference, not its absolute value.": np.abs(expected),
        }
        if (dy, dx) != (-dy, -dx):
            mistakes["you shifted in the opposite direction: positive dy moves content DOWN "
                     "(np.roll(x, (dy, dx), axis=(0, 1)))."] = layer(_roll(x, -dy, -dx)) - _roll(fx, -dy, -dx)
        if dy != dx:
            mistakes["you swapped the axes: dy shifts rows (axis 0), dx columns (axis 1)."] = (
                layer(_roll(x, dx, dy)) - _roll(fx, dx, dy))
        hint = ("return layer(shift(x)) - shift(layer(x)), where shift rolls circularly by dy rows "
                "and dx columns; an array of the shape of x.")
        if dy < 0 or dx < 0 or dy >= h or dx >= w:
            hint += (" Negative shifts and shifts larger than the image must work too: "
                     "np.roll handles both (a shift by -1 moves content up/left, by H + 1 like 1).")
        _assert_array(got, expected, case=case, known_mistakes=mistakes, hint=hint + _memory_note("x", x),
                      integer_hint="the result has an integer dtype, so fractions were cut off: return the float "
                                   "difference itself"
                                   + (", not an array made with np.zeros_like(x) or dtype=x.dtype (x is an "
                                      "integer array here)." if np.issubdtype(x.dtype, np.integer) else "."))
        count += 1
    return f"{count} cases"


# --------------------------------------------------------------------------------------------------
# why.receptive_field


def autograd_receptive_field(layers) -> int:
    """Span of the input positions that output 0 of a 1-D stack of convolutions depends on.

    Weights are all ones (no cancellation); the input is long enough for at least one output.
    """
    length, step = 1, 1
    for kernel, stride in layers:
        length += kernel * step
        step *= stride
    x = torch.zeros(1, 1, length + 1, dtype=torch.float64, requires_grad=True)
    y = x
    for kernel, stride in layers:
        y = F.conv1d(y, torch.ones(1, 1, kernel, dtype=torch.float64), stride=stride)
    y[0, 0, 0].backward()
    support = torch.nonzero(x.grad[0, 0]).flatten()
    return int(support.max() - support.min() + 1)


def _random_stacks(count: int, seed: int):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        depth = int(rng.integers(1, 6))
        yield [(int(rng.integers(1, 8)), int(rng.integers(1, 4))) for _ in range(depth)]


_FIXED_STACKS = [
    [(3, 1)], [(3, 1), (3, 1)], [(3, 1)] * 3, [], [(5, 1)], [(3, 2), (3, 2)], [(2, 2)] * 3,
    [(3, 1), (3, 2), (3, 2)], [(7, 2), (3, 2), (3, 1), (3, 1)], [(5, 1), (2, 2), (5, 1), (2, 2)],
    [(3, 4), (1, 1)], [(1, 2), (3, 1)],
]
_REFERENCES: dict[tuple, int] = {}

# the demonstrations' reference: the closed form of utils.receptive_field (the check itself uses autograd)
reference("why.receptive_field")(closed_form_receptive_field)


def _reference(layers) -> int:
    key = tuple(layers)
    if key not in _REFERENCES:
        _REFERENCES[key] = autograd_receptive_field(layers)
    return _REFERENCES[key]


def _rf_correct(layers) -> int:
    size, jump = 1, 1
    for k, s in layers:
        size += (k - 1) * jump
        jump *= s
    return size


def _rf_own_stride(layers) -> int:
    size, jump = 1, 1
    for k, s in layers:
        jump *= s
        size += (k - 1) * jump
    return size


def _rf_all_strides(layers) -> int:
    total = int(np.prod([s for _, s in layers])) if layers else 1
    return 1 + sum((k - 1) * total for k, _ in layers)


# A named mistake is only shown when the answer gives that mistake's value on the failing stack AND on
# every stack below, where the mistakes (and the right answer) all give different values.
_RF_MISTAKES = [
    ("you ignored the strides: after a stride-2 layer, one step in the next layer's input is two input "
     "pixels, so (F_l - 1) is multiplied by the product of earlier strides.",
     lambda layers: 1 + sum(k - 1 for k, _ in layers)),
    ("multiply (F_l - 1) by the product of the strides of the layers BEFORE layer l; a layer's own stride "
     "does not widen its own window.", _rf_own_stride),
    ("you went through the layers in reverse order: layers[0] is the first layer, the one that reads the "
     "input, and the jump multiplies the strides of the layers before layer l.",
     lambda layers: _rf_correct(list(layers)[::-1])),
    ("multiply (F_l - 1) by the product of the strides of the layers BEFORE layer l only, not by the "
     "product of all strides.", _rf_all_strides),
    ("each layer widens the field by F - 1, not F: two layers with F = 3 see 5 pixels, not 6.",
     lambda layers: sum(k for k, _ in layers)),
    ("receptive fields grow by adding (F_l - 1) * (product of earlier strides), not by multiplying kernels.",
     lambda layers: int(np.prod([k for k, _ in layers]))),
    ("start from r_0 = 1: with no layers an output is one input pixel, and each layer adds (F_l - 1) * j_{l-1}.",
     lambda layers: _rf_correct(layers) - 1),
]
_RF_DIAGNOSTIC_STACKS = [[(3, 2), (5, 3), (2, 1)], [(4, 1), (2, 3), (3, 2), (5, 1)], [(2, 3), (4, 2), (3, 1)]]
_RF_GENERIC = ("r_0 = 1 and r_l = r_{l-1} + (F_l - 1) * S_1 * ... * S_{l-1}, where layer l is "
               "(kernel, stride) = (F_l, S_l).")


def _as_count(value):
    """An integer-valued answer as an int (3, np.int64(3), 3.0), else None."""
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        value = value.item()
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _rf_hint(fn, got, layers, expected: int) -> str:
    value = _as_count(got)
    integral = isinstance(got, numbers.Integral) or is_integer_array(got)  # also torch tensors
    if value is None:
        return "return one integer: the width, in input pixels, of what one output sees."
    if value == expected:  # right number, wrong type
        return "the value is right, but a receptive field is a count: return an int (e.g. int(size))."
    type_note = "" if integral else " Also return an int, not a float."
    if not layers:
        return "with no layers, an output is one input pixel: the receptive field is 1." + type_note
    for hint, mistake in _RF_MISTAKES:
        if mistake(layers) != value or mistake(layers) == expected:
            continue
        if all(_answer_on(fn, stack) == mistake(stack) for stack in _RF_DIAGNOSTIC_STACKS):
            return hint + type_note
    return _RF_GENERIC + type_note


def _answer_on(fn, layers):
    """The answer's value on a diagnostic stack, or None if it fails there in any way."""
    try:
        return _as_count(call(fn, list(layers), case="diagnosis"))
    except Exception:  # noqa: BLE001 - a crash just means: no diagnosis
        return None


implemented_by("why.receptive_field", "utils.receptive_field.receptive_field_table",
               "utils.checks.ch01_why_convolutions.autograd_receptive_field",
               "utils.checks.ch01_why_convolutions._reference")


@register("why.receptive_field")
def check_receptive_field(answer) -> str:
    fn = require_callable(answer, "receptive_field(layers)")
    stacks = list(_FIXED_STACKS) + list(_random_stacks(80, seed=14))
    for layers in stacks:
        case = f"layers (kernel, stride) = {layers}"
        try:
            got = call(fn, list(layers), case=case)
        except CheckFailed as failure:
            if "in place" in str(failure):
                message = str(failure).split("\n  hint: ")[0]
                raise CheckFailed(f"{message}\n  hint: loop over the list (for kernel, stride in layers: ...) "
                                  "instead of removing its items with pop(); the caller still needs it.") from None
            raise
        expected = _reference(layers)
        try:
            assert_equal(got, expected, case=case, what="the receptive field")
        except CheckFailed as failure:
            raise CheckFailed(f"{failure}\n  hint: {_rf_hint(fn, got, layers, expected)}") from None
    return f"{len(stacks)} stacks, verified by autograd"
