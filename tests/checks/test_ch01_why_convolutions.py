"""Mutation tests for chapter 01's checks: the solutions pass, "not implemented" is recognised, and planted
bugs (off-by-one sizes, transposed matrices, flipped kernels, zero instead of circular padding, forgotten
strides, biases counted, ...) are rejected, most with the hint written for that mistake."""

import numpy as np
import pytest
import torch

from utils.checks import FAILED, NOT_ATTEMPTED, PASSED, run_check
from utils.receptive_field import receptive_field as utils_receptive_field
from utils.receptive_field import receptive_field_table
from tests.checks.mutants import partly_written

# ---------------------------------------------------------------------------------------------- solutions


def param_counts(n, k):
    return n * n, k * n, k


def conv_matrix_1d(w, n):
    w = np.asarray(w, dtype=np.float64)
    k = len(w)
    m = np.zeros((n - k + 1, n))
    for i in range(n - k + 1):
        m[i, i:i + k] = w
    return m


def conv_matrix_2d(w, height, width):
    w = np.asarray(w, dtype=np.float64)
    kh, kw = w.shape
    out_h, out_w = height - kh + 1, width - kw + 1
    m = np.zeros((out_h * out_w, height * width))
    for i in range(out_h):
        for j in range(out_w):
            for a in range(kh):
                start = (i + a) * width + j
                m[i * out_w + j, start:start + kw] = w[a]
    return m


def circular_conv2d(x, w):
    x, w = np.asarray(x, dtype=np.float64), np.asarray(w, dtype=np.float64)
    kh, kw = w.shape
    y = np.zeros_like(x)
    for a in range(kh):
        for b in range(kw):
            y += w[a, b] * np.roll(x, (kh // 2 - a, kw // 2 - b), axis=(0, 1))
    return y


def equivariance_error(layer, x, dy, dx):
    def shift(z):
        return np.roll(z, (dy, dx), axis=(0, 1))
    return layer(shift(x)) - shift(layer(x))


def receptive_field(layers):
    size, jump = 1, 1
    for kernel, stride in layers:
        size += (kernel - 1) * jump
        jump *= stride
    return size


SOLUTIONS = {
    "why.param_counts": param_counts,
    "why.conv_matrix_1d": conv_matrix_1d,
    "why.conv_matrix_2d": conv_matrix_2d,
    "why.circular_conv2d": circular_conv2d,
    "why.equivariance_error": equivariance_error,
    "why.receptive_field": receptive_field,
}


def not_implemented(*args):
    raise NotImplementedError()


@pytest.mark.parametrize("exercise_id", sorted(SOLUTIONS))
def test_solution_passes(exercise_id):
    result = run_check(exercise_id, SOLUTIONS[exercise_id])
    assert result.status == PASSED, result.message


@pytest.mark.parametrize("exercise_id", sorted(SOLUTIONS))
@pytest.mark.parametrize("answer", [not_implemented, ..., None])
def test_not_attempted(exercise_id, answer):
    assert run_check(exercise_id, answer).status == NOT_ATTEMPTED


def test_alternative_correct_answers_pass():
    assert run_check("why.param_counts", lambda n, k: [n**2, n * k, k]).status == PASSED
    assert run_check("why.conv_matrix_1d", lambda w, n: torch.tensor(conv_matrix_1d(w, n), dtype=torch.float32)).status == PASSED
    assert run_check("why.conv_matrix_2d", lambda *a: conv_matrix_2d(*a).astype(np.float32)).status == PASSED
    assert run_check("why.receptive_field", utils_receptive_field).status == PASSED

    def circular_by_index(x, w):
        h, wd = x.shape
        kh, kw = w.shape
        y = np.zeros((h, wd))
        for i in range(h):
            for j in range(wd):
                for a in range(kh):
                    for b in range(kw):
                        y[i, j] += w[a, b] * x[(i + a - kh // 2) % h, (j + b - kw // 2) % wd]
        return y

    assert run_check("why.circular_conv2d", circular_by_index).status == PASSED

    def equivariance_torch(layer, x, dy, dx):
        def shift(z):
            return torch.roll(torch.as_tensor(z), (dy, dx), dims=(0, 1)).numpy()
        return torch.as_tensor(layer(shift(x)) - shift(layer(x)))

    assert run_check("why.equivariance_error", equivariance_torch).status == PASSED


def test_integer_scalars_count_as_integers():
    assert run_check("why.param_counts", lambda n, k: tuple(np.int64(c) for c in param_counts(n, k))).status == PASSED
    assert run_check("why.param_counts", lambda n, k: tuple(torch.tensor(c) for c in param_counts(n, k))).status == PASSED
    assert run_check("why.receptive_field", lambda layers: np.int64(receptive_field(layers))).status == PASSED
    assert run_check("why.receptive_field", lambda layers: torch.tensor(receptive_field(layers))).status == PASSED


def test_a_matrix_in_the_kernels_dtype_passes():
    # an integer kernel gives an integer matrix with exactly the right entries: M @ x is still right
    def in_kernel_dtype(w, n):
        w = np.asarray(w)
        m = np.zeros((n - len(w) + 1, n), dtype=w.dtype)
        for i in range(n - len(w) + 1):
            m[i, i:i + len(w)] = w
        return m

    assert run_check("why.conv_matrix_1d", in_kernel_dtype).status == PASSED


def test_the_checks_try_every_array_variant():
    seen = {}

    def record(name, solution):
        def answer(*args):
            array = args[1] if name == "why.equivariance_error" else args[0]
            seen.setdefault(name, set()).add((array.dtype.kind, array.flags.c_contiguous, array.flags.f_contiguous))
            return solution(*args)
        return answer

    for exercise_id in ("why.conv_matrix_1d", "why.conv_matrix_2d", "why.circular_conv2d", "why.equivariance_error"):
        assert run_check(exercise_id, record(exercise_id, SOLUTIONS[exercise_id])).status == PASSED
        kinds = seen[exercise_id]
        assert {kind for kind, _, _ in kinds} >= {"f", "i"}, (exercise_id, kinds)
        assert any(not c and not f for _, c, f in kinds), f"{exercise_id}: no non-contiguous input reached the answer"
    assert (True, False) in {(f, c) for _, c, f in seen["why.conv_matrix_2d"]}, "no Fortran-order kernel"


@pytest.mark.parametrize("exercise_id", sorted(SOLUTIONS))
def test_the_registered_reference_passes_its_check(exercise_id):
    from utils.checks import get_reference

    assert run_check(exercise_id, get_reference(exercise_id)).status == PASSED


def test_demonstrations_fall_back_to_the_reference_in_one_line(capsys):
    from utils.checks import check, get_reference, yours_or_reference

    check("why.circular_conv2d", not_implemented)
    capsys.readouterr()
    assert yours_or_reference("why.circular_conv2d", not_implemented) is get_reference("why.circular_conv2d")
    assert capsys.readouterr().out.count("\n") == 1
    assert yours_or_reference("why.circular_conv2d", circular_conv2d) is circular_conv2d


def test_utils_receptive_field_module():
    assert utils_receptive_field([]) == 1
    assert utils_receptive_field([(3, 1)] * 3) == 7
    assert utils_receptive_field([(11, 4), (3, 2), (5, 1), (3, 2), (3, 1), (3, 1), (3, 1), (3, 2)]) == 195
    assert receptive_field_table([(3, 1), (3, 2), (3, 2)]) == [(3, 1, 3, 1), (3, 2, 5, 2), (3, 2, 9, 4)]
    with pytest.raises(ValueError):
        utils_receptive_field([(0, 1)])


def test_not_a_function_is_rejected():
    for exercise_id in SOLUTIONS:
        result = run_check(exercise_id, 42)
        assert result.status == FAILED and "function" in result.message


# ---------------------------------------------------------------------------------------------- mutants
# Each entry: (exercise id, wrong answer, a phrase the failure message must contain, or "").


def _rf_no_stride(layers):
    return 1 + sum(k - 1 for k, _ in layers)


def _rf_own_stride(layers):
    size, jump = 1, 1
    for k, s in layers:
        jump *= s
        size += (k - 1) * jump
    return size


def _rf_last_stride_ignored_wrongly(layers):  # uses the product of ALL strides for every layer
    total = int(np.prod([s for _, s in layers])) if layers else 1
    return 1 + sum((k - 1) * total for k, _ in layers)


def _rf_sum_kernels(layers):
    return sum(k for k, _ in layers) if layers else 1


def _rf_float_list(layers):
    return [float(receptive_field(layers))]


def _m1_flipped(w, n):
    return conv_matrix_1d(np.asarray(w)[::-1], n)


def _m1_transposed(w, n):
    return conv_matrix_1d(w, n).T


def _m1_one_row_short(w, n):
    return conv_matrix_1d(w, n)[:-1]


def _m1_full(w, n):  # one row per input: what "same" padding would give
    k = len(w)
    m = np.zeros((n, n))
    for i in range(n):
        for j in range(k):
            if 0 <= i + j - k // 2 < n:
                m[i, i + j - k // 2] = w[j]
    return m


def _m1_lower_band(w, n):  # kernel placed below the diagonal
    k = len(w)
    m = np.zeros((n - k + 1, n))
    for i in range(n - k + 1):
        for j in range(k):
            m[i, max(i + j - (k - 1), 0)] += w[j]
    return m


def _m2_flipped(w, h, wd):
    return conv_matrix_2d(np.asarray(w)[::-1, ::-1], h, wd)


def _m2_transposed(w, h, wd):
    return conv_matrix_2d(w, h, wd).T


def _m2_column_major(w, h, wd):
    w = np.asarray(w)
    kh, kw = w.shape
    oh, ow = h - kh + 1, wd - kw + 1
    m = np.zeros((oh * ow, h * wd))
    for i in range(oh):
        for j in range(ow):
            for a in range(kh):
                for b in range(kw):
                    m[i + j * oh, (i + a) + (j + b) * h] = w[a, b]
    return m


def _m2_wrong_width(w, h, wd):  # output row index uses the input width
    w = np.asarray(w)
    kh, kw = w.shape
    oh, ow = h - kh + 1, wd - kw + 1
    m = np.zeros((oh * ow, h * wd))
    for i in range(oh):
        for j in range(ow):
            for a in range(kh):
                for b in range(kw):
                    row = min(i * wd + j, oh * ow - 1)
                    m[row, (i + a) * wd + j + b] = w[a, b]
    return m


def _m2_kernel_transposed(w, h, wd):
    w = np.asarray(w)
    if w.shape[0] != w.shape[1]:
        return conv_matrix_2d(w, h, wd)[:, ::-1]
    return conv_matrix_2d(w.T, h, wd)


def _c_zero_padded(x, w):
    w = np.asarray(w)
    return torch.nn.functional.conv2d(torch.tensor(x)[None, None], torch.tensor(w.copy())[None, None],
                                      padding=(w.shape[0] // 2, w.shape[1] // 2))[0, 0].numpy()


def _c_flipped(x, w):
    return circular_conv2d(x, np.asarray(w)[::-1, ::-1])


def _c_uncentred(x, w):
    x, w = np.asarray(x), np.asarray(w)
    y = np.zeros_like(x)
    for a in range(w.shape[0]):
        for b in range(w.shape[1]):
            y += w[a, b] * np.roll(x, (-a, -b), axis=(0, 1))
    return y


def _c_roll_wrong_sign(x, w):
    x, w = np.asarray(x), np.asarray(w)
    kh, kw = w.shape
    y = np.zeros_like(x)
    for a in range(kh):
        for b in range(kw):
            y += w[a, b] * np.roll(x, (a - kh // 2, b - kw // 2), axis=(0, 1))
    return y


def _c_valid(x, w):
    return torch.nn.functional.conv2d(torch.tensor(x)[None, None], torch.tensor(np.asarray(w).copy())[None, None])[0, 0].numpy()


def _e_reversed(layer, x, dy, dx):
    return -equivariance_error(layer, x, dy, dx)


def _e_abs(layer, x, dy, dx):
    return np.abs(equivariance_error(layer, x, dy, dx))


def _e_opposite_direction(layer, x, dy, dx):
    return equivariance_error(layer, x, -dy, -dx)


def _e_swapped_axes(layer, x, dy, dx):
    return equivariance_error(layer, x, dx, dy)


def _e_max_only(layer, x, dy, dx):
    return float(np.abs(equivariance_error(layer, x, dy, dx)).max())


def _e_zero_fill_shift(layer, x, dy, dx):  # a translation that fills with zeros instead of wrapping around
    def shift(z):
        z = np.asarray(z, dtype=np.float64)
        out = np.zeros_like(z)
        h, w = z.shape
        out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = z[max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]
        return out
    return layer(shift(x)) - shift(layer(x))


def _rf_consumes_list(layers):  # empties the caller's list
    size, jump = 1, 1
    while layers:
        kernel, stride = layers.pop(0)
        size += (kernel - 1) * jump
        jump *= stride
    return size


def _rf_reversed(layers):  # the forward formula, applied from the last layer to the first
    return receptive_field(list(layers)[::-1])


def _rf_float(layers):
    return float(receptive_field(layers))


def _rf_float_no_stride(layers):
    return float(_rf_no_stride(layers))


def _m2_integer_dtype(w, h, wd):
    return conv_matrix_2d(w, h, wd).astype(int)


def _c_zeros_like_add(x, w):  # integer x: y += ... cannot store floats in an integer array
    w = np.asarray(w, dtype=np.float64)
    kh, kw = w.shape
    y = np.zeros_like(x)
    for a in range(kh):
        for b in range(kw):
            y += w[a, b] * np.roll(x, (kh // 2 - a, kw // 2 - b), axis=(0, 1))
    return y


def _c_zeros_like_assign(x, w):  # integer x: assigning into an integer array truncates silently
    y = np.zeros_like(x)
    y[...] = circular_conv2d(x, w)
    return y


def _e_positive_only_shift(layer, x, dy, dx):  # a hand-made shift that is right only for 0 <= dy < H, 0 <= dx < W
    def shift(z):
        z = np.asarray(z)
        h, w = z.shape
        z = np.concatenate([z[h - dy:], z[:h - dy]], axis=0)
        return np.concatenate([z[:, w - dx:], z[:, :w - dx]], axis=1)
    return layer(shift(x)) - shift(layer(x))


def _e_positive_only_columns(layer, x, dy, dx):  # rows by np.roll, columns by hand (wrong for dx < 0)
    def shift(z):
        z = np.roll(np.asarray(z), dy, axis=0)
        w = z.shape[1]
        return np.concatenate([z[:, w - dx:], z[:, :w - dx]], axis=1)
    return layer(shift(x)) - shift(layer(x))


def _e_positive_only_rows(layer, x, dy, dx):  # columns by np.roll, rows by hand (wrong for dy < 0)
    def shift(z):
        z = np.roll(np.asarray(z), dx, axis=1)
        h = z.shape[0]
        return np.concatenate([z[h - dy:], z[:h - dy]], axis=0)
    return layer(shift(x)) - shift(layer(x))


MUTANTS = [
    ("why.param_counts", lambda n, k: (n * n + n, k * n + n, k + 1), "bias"),
    ("why.param_counts", lambda n, k: (n * n, k * (n - k + 1), k), "padded"),
    ("why.param_counts", lambda n, k: (n * n, k * n, k * n), "same k weights"),
    ("why.param_counts", lambda n, k: (k, k * n, n * n), "order"),
    ("why.param_counts", lambda n, k: (n * n, k, k), "own k weights"),
    ("why.param_counts", lambda n, k: n * n, "tuple of three"),
    ("why.param_counts", lambda n, k: (2 * n, k * n, k), "n * n"),
    ("why.param_counts", lambda n, k: (float(n * n), k * n, k), "value is right"),
    ("why.param_counts", lambda n, k: (n * n, k * n, k / 1), "value is right"),
    ("why.param_counts", lambda n, k: (n * n + 1, k * n, k), "n * n weights"),
    ("why.conv_matrix_1d", _m1_flipped, "flips the kernel"),
    ("why.conv_matrix_1d", _m1_transposed, "transposed"),
    ("why.conv_matrix_1d", _m1_one_row_short, "last output row"),
    ("why.conv_matrix_1d", _m1_full, "expected shape"),
    ("why.conv_matrix_1d", _m1_lower_band, ""),
    ("why.conv_matrix_1d", lambda w, n: "matrix", "numpy array"),
    ("why.conv_matrix_1d", lambda w, n: conv_matrix_1d(w, n).tolist(), "numpy array"),
    ("why.conv_matrix_1d", lambda w, n: conv_matrix_1d(w, n).astype(int), "integer dtype"),
    ("why.conv_matrix_2d", _m2_flipped, "flips the kernel"),
    ("why.conv_matrix_2d", _m2_transposed, "transposed"),
    ("why.conv_matrix_2d", _m2_column_major, "column by column"),
    ("why.conv_matrix_2d", _m2_wrong_width, ""),
    ("why.conv_matrix_2d", _m2_kernel_transposed, ""),
    ("why.conv_matrix_2d", lambda w, h, wd: conv_matrix_2d(w, h, wd)[:, :-1], "expected shape"),
    ("why.conv_matrix_2d", lambda w, h, wd: conv_matrix_2d(w, h, wd).tolist(), "numpy array"),
    ("why.conv_matrix_2d", _m2_integer_dtype, "np.zeros((out_h * out_w, height * width))"),
    ("why.circular_conv2d", _c_zero_padded, "zeros"),
    ("why.circular_conv2d", _c_flipped, "flipped the kernel"),
    ("why.circular_conv2d", _c_uncentred, "shifted"),
    ("why.circular_conv2d", _c_roll_wrong_sign, ""),
    ("why.circular_conv2d", _c_valid, "expected shape"),
    ("why.circular_conv2d", lambda x, w: circular_conv2d(x, w).tolist(), "numpy array"),
    ("why.circular_conv2d", _c_zeros_like_add, "np.zeros(x.shape)"),
    ("why.circular_conv2d", _c_zeros_like_assign, "integer dtype"),
    ("why.equivariance_error", _e_reversed, "sign"),
    ("why.equivariance_error", _e_abs, "absolute"),
    ("why.equivariance_error", _e_opposite_direction, "opposite direction"),
    ("why.equivariance_error", _e_swapped_axes, "swapped the axes"),
    ("why.equivariance_error", _e_max_only, "expected shape"),
    ("why.equivariance_error", _e_zero_fill_shift, ""),
    ("why.equivariance_error", lambda *a: equivariance_error(*a).tolist(), "numpy array"),
    ("why.equivariance_error", _e_positive_only_shift, "Negative shifts"),
    ("why.equivariance_error", _e_positive_only_columns, "dx=-"),
    ("why.equivariance_error", _e_positive_only_rows, "dy=-"),
    ("why.receptive_field", _rf_no_stride, "ignored the strides"),
    ("why.receptive_field", _rf_own_stride, "BEFORE"),
    ("why.receptive_field", _rf_last_stride_ignored_wrongly, ""),
    ("why.receptive_field", _rf_sum_kernels, "not F"),
    ("why.receptive_field", lambda layers: receptive_field(layers) - 1, ""),
    ("why.receptive_field", _rf_float_list, "int"),
    ("why.receptive_field", _rf_consumes_list, "pop()"),
    ("why.receptive_field", _rf_reversed, "reverse order"),
    ("why.receptive_field", _rf_float, "value is right"),
    ("why.receptive_field", _rf_float_no_stride, "return an int"),
]



# ------------------------------------------------------------------ integer inputs, memory layout, partial answers
# Inputs that the specs allow as arrays come in every variant of array_variants: float32, integer, non-contiguous
# and Fortran order. Answers that allocate with the input's dtype truncate on integer inputs; answers that read
# the input's memory with strides computed from its shape misread float32, strided and column-major arrays.

as_strided = np.lib.stride_tricks.as_strided


def _c_kernel_dtype(x, w):  # an integer kernel: the output takes w's dtype and is truncated
    y = np.zeros(np.shape(x), dtype=np.asarray(w).dtype)
    y[...] = circular_conv2d(x, w)
    return y


def _c_kernel_dtype_add(x, w):  # the same with +=: NumPy refuses to cast the float sums into the integer array
    x, w = np.asarray(x, dtype=np.float64), np.asarray(w)
    kh, kw = w.shape
    y = np.zeros(x.shape, dtype=w.dtype)
    for a in range(kh):
        for b in range(kw):
            y += w[a, b] * np.roll(x, (kh // 2 - a, kw // 2 - b), axis=(0, 1))
    return y


def _c_strides_from_shape(x, w):  # reads x as if it were C-contiguous with 8-byte entries
    h, wd = x.shape
    return circular_conv2d(as_strided(x, shape=(h, wd), strides=(8 * wd, 8)), w)


def _c_strides_after_float(x, w):  # converts first (float32 and int are copied), then assumes C order
    x = np.asarray(x, dtype=np.float64)
    h, wd = x.shape
    return circular_conv2d(as_strided(x, shape=(h, wd), strides=(8 * wd, 8)), w)


def _e_zeros_like(layer, x, dy, dx):
    out = np.zeros_like(x)
    out[...] = equivariance_error(layer, x, dy, dx)
    return out


def _e_input_dtype(layer, x, dy, dx):
    return np.asarray(equivariance_error(layer, x, dy, dx), dtype=np.asarray(x).dtype)


def _e_strides_from_shape(layer, x, dy, dx):
    x = np.asarray(x, dtype=np.float64)
    h, w = x.shape
    return equivariance_error(layer, as_strided(x, shape=(h, w), strides=(8 * w, 8)), dy, dx)


def _m1_strides_from_shape(w, n):  # the kernel read through strides that assume 8-byte contiguous entries
    w = np.asarray(w)
    return conv_matrix_1d(as_strided(w, shape=w.shape, strides=(8,)), n)


def _m1_strides_after_float(w, n):
    w = np.asarray(w, dtype=np.float64)
    return conv_matrix_1d(as_strided(w, shape=w.shape, strides=(8,)), n)


def _m2_strides_after_float(w, h, wd):  # the kernel flattened through strides that assume C order
    w = np.asarray(w, dtype=np.float64)
    kh, kw = w.shape
    flat = as_strided(w, shape=(kh * kw,), strides=(8,))
    return conv_matrix_2d(flat.reshape(kh, kw), h, wd)


LAYOUT_AND_DTYPE_MUTANTS = [
    ("why.circular_conv2d", _c_kernel_dtype, "w is an integer kernel"),
    ("why.circular_conv2d", _c_kernel_dtype_add, "w is an integer kernel"),
    ("why.circular_conv2d", _c_strides_from_shape, "dtype uint8"),
    ("why.circular_conv2d", _c_strides_after_float, "x non-contiguous"),
    ("why.equivariance_error", _e_zeros_like, "np.zeros_like(x)"),
    ("why.equivariance_error", _e_input_dtype, "x integer, dtype int64"),
    ("why.equivariance_error", _e_strides_from_shape, "x is a strided view"),
    ("why.conv_matrix_1d", _m1_strides_from_shape, "4 bytes per entry"),
    ("why.conv_matrix_1d", _m1_strides_after_float, "w non-contiguous"),
    ("why.conv_matrix_2d", _m2_strides_after_float, "w non-contiguous"),
]
PARTLY_WRITTEN = [
    ("why.param_counts", partly_written(param_counts, lambda n, k: k == 1)),
    ("why.conv_matrix_1d", partly_written(conv_matrix_1d, lambda w, n: len(w) % 2 == 0)),
    ("why.conv_matrix_2d", partly_written(conv_matrix_2d, lambda w, h, wd: np.shape(w)[0] != np.shape(w)[1])),
    ("why.circular_conv2d", partly_written(circular_conv2d, lambda x, w: np.shape(w)[0] != np.shape(w)[1])),
    ("why.equivariance_error", partly_written(equivariance_error, lambda layer, x, dy, dx: dy < 0 or dx < 0)),
    ("why.receptive_field", partly_written(receptive_field, lambda layers: any(s > 1 for _, s in layers))),
]
MUTANTS += LAYOUT_AND_DTYPE_MUTANTS
MUTANTS += [(exercise_id, answer, "partly written") for exercise_id, answer in PARTLY_WRITTEN]
# one rule for counts: NumPy and torch integer scalars are integers, floats of any kind are not
MUTANTS += [
    ("why.param_counts", lambda n, k: (np.float64(n * n), np.int64(k * n), k), "value is right"),
    ("why.param_counts", lambda n, k: (n * n, torch.tensor(k * n, dtype=torch.float32), k), "value is right"),
    ("why.receptive_field", lambda layers: np.float64(receptive_field(layers)), "value is right"),
    ("why.receptive_field", lambda layers: torch.tensor(float(receptive_field(layers))), "value is right"),
]


@pytest.mark.parametrize("exercise_id, answer, phrase", MUTANTS,
                         ids=[f"{m[0]}-{i}" for i, m in enumerate(MUTANTS)])
def test_mutant_is_rejected(exercise_id, answer, phrase):
    result = run_check(exercise_id, answer)
    assert result.status == FAILED, f"planted bug passed: {result.message}"
    assert phrase in result.message, result.message


def test_every_check_has_three_mutants():
    counts = {exercise_id: sum(m[0] == exercise_id for m in MUTANTS) for exercise_id in SOLUTIONS}
    assert all(count >= 3 for count in counts.values()), counts


def test_crashing_answer_is_reported_with_its_case():
    def crashes(w, height, width):
        raise IndexError("index 30 is out of bounds")

    result = run_check("why.conv_matrix_2d", crashes)
    assert result.status == FAILED
    assert "IndexError" in result.message and "image 3x3" in result.message


def test_float_receptive_field_gets_no_mistake_hint():
    result = run_check("why.receptive_field", _rf_float)
    assert result.status == FAILED
    assert "should be an int" in result.message and "ignored" not in result.message, result.message


def test_reverse_order_is_not_called_own_stride():
    result = run_check("why.receptive_field", _rf_reversed)
    assert result.status == FAILED and "BEFORE" not in result.message.split("reverse order")[0], result.message


def test_receptive_field_diagnosis_needs_every_diagnostic_stack():
    # an answer that is right except on the failing stack's value must not be given a named mistake
    calls = []

    def wrong_once(layers):
        calls.append(layers)
        return _rf_no_stride(layers) if len(calls) == 6 else receptive_field(layers)

    result = run_check("why.receptive_field", wrong_once)
    assert result.status == FAILED and "ignored" not in result.message, result.message


def test_receptive_field_diagnostic_stacks_separate_the_mistakes():
    from utils.checks.ch01_why_convolutions import _RF_DIAGNOSTIC_STACKS, _RF_MISTAKES
    for stack in _RF_DIAGNOSTIC_STACKS:
        values = [receptive_field(stack)] + [mistake(stack) for _, mistake in _RF_MISTAKES]
        assert len(set(values)) == len(values), (stack, values)


def test_param_counts_float_gets_no_fallback_phrase():
    result = run_check("why.param_counts", lambda n, k: (float(n * n), k * n, k))
    assert result.status == FAILED and "neighbourhood" not in result.message, result.message


def test_conv_matrix_integer_hint_does_not_mention_x():
    for exercise_id, answer in [("why.conv_matrix_2d", _m2_integer_dtype),
                                ("why.conv_matrix_1d", lambda w, n: conv_matrix_1d(w, n).astype(int))]:
        result = run_check(exercise_id, answer)
        assert result.status == FAILED and "x.dtype" not in result.message, result.message
