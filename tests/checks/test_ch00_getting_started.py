"""Mutation tests for chapter 00's checks: the solution passes, planted bugs are rejected with a useful hint."""

import numpy as np
import pytest

from utils.checks import FAILED, NOT_ATTEMPTED, PASSED, run_check


def slide_filter(x, w):
    k = len(w)
    return np.array([np.dot(w, x[i:i + k]) for i in range(len(x) - k + 1)])


def conv1d_layer(x, w, b, f):
    return f(np.stack([slide_filter(s, w) for s in x]) + b)


def slide_into_input_dtype(x, w):
    y = np.zeros(len(x) - len(w) + 1, dtype=x.dtype)
    for i in range(len(y)):
        y[i] = np.dot(w, x[i:i + len(w)])
    return y


def slide_in_place(x, w):
    y = slide_filter(x, w)
    x[:len(y)] = y
    return x[:len(y)]


def n_outputs_without_the_one_output_case(n, k):
    if k == n:
        raise NotImplementedError()
    return n - k + 1


def slide_into_zeros_like(x, w):
    y = np.zeros_like(x[:len(x) - len(w) + 1])
    for i in range(len(y)):
        y[i] = np.dot(w, x[i:i + len(w)])
    return y


def slide_with_strides_from_shape(x, w):
    # windows as a strided view, with strides worked out for a contiguous array instead of read from x.strides
    step = x.itemsize
    windows = np.lib.stride_tricks.as_strided(x, shape=(len(x) - len(w) + 1, len(w)), strides=(step, step))
    return windows @ np.asarray(w, dtype=np.float64)


def slide_float64_only(x, w):
    assert x.dtype == np.float64 or x.dtype.kind == "i", "expected float64 samples"
    return slide_filter(x, w)


def slide_odd_filters_only(x, w):
    if len(w) % 2 == 0:
        raise NotImplementedError("even-length filters")
    return slide_filter(x, w)


def layer_into(allocate):
    def layer(x, w, b, f):
        y = allocate(x, x.shape[1] - len(w) + 1)
        for s in range(len(x)):
            y[s] = f(b + slide_filter(x[s], w))
        return y
    return layer


def layer_with_strides_from_shape(x, w, b, f):
    batch, n = x.shape
    step = x.itemsize
    windows = np.lib.stride_tricks.as_strided(x, shape=(batch, n - len(w) + 1, len(w)),
                                              strides=(n * step, step, step))
    return f(windows @ w + b)


def layer_rows_in_memory_order(x, w, b, f):
    rows = np.reshape(x.ravel(order="K"), x.shape)  # memory order: column by column for a Fortran array
    return conv1d_layer(rows, w, b, f)


def layer_single_sequence_only(x, w, b, f):
    if len(x) > 1:
        raise NotImplementedError("batches")
    return conv1d_layer(x, w, b, f)


def layer_float_inputs_only(x, w, b, f):
    if x.dtype.kind != "f":
        raise NotImplementedError("integer samples")
    return conv1d_layer(x, w, b, f)


def not_implemented(*args):
    raise NotImplementedError()


def test_solutions_pass():
    assert run_check("warmup.n_outputs", lambda n, k: n - k + 1).status == PASSED
    assert run_check("warmup.slide", slide_filter).status == PASSED
    assert run_check("warmup.layer", conv1d_layer).status == PASSED


def test_numpy_integer_counts_are_ints():
    assert run_check("warmup.n_outputs", lambda n, k: np.int64(n - k + 1)).status == PASSED
    assert run_check("warmup.n_outputs", lambda n, k: np.array(n - k + 1)).status == PASSED


def test_torch_and_float32_answers_are_accepted():
    import torch

    assert run_check("warmup.slide", lambda x, w: torch.tensor(slide_filter(x, w))).status == PASSED
    assert run_check("warmup.layer", lambda *a: conv1d_layer(*a).astype(np.float32)).status == PASSED


@pytest.mark.parametrize("exercise_id", ["warmup.n_outputs", "warmup.slide", "warmup.layer"])
@pytest.mark.parametrize("answer", [not_implemented, ..., None])
def test_not_attempted(exercise_id, answer):
    assert run_check(exercise_id, answer).status == NOT_ATTEMPTED


N_OUTPUTS_BUGS = {
    "off by one (short)": lambda n, k: n - k,
    "off by one (long)": lambda n, k: n - k + 2,
    "padded length": lambda n, k: n,
    "float answer": lambda n, k: (n - k + 1) / 1.0 + 0.5,
    "returns a string": lambda n, k: str(n - k + 1),
    "partly written: one-output case missing": n_outputs_without_the_one_output_case,
}

SLIDE_BUGS = {
    "flipped kernel": (lambda x, w: np.convolve(x, w, "valid"), "flipped"),
    "one position short": (lambda x, w: slide_filter(x, w)[:-1], "last position"),
    "one position too many (zero-padded end)": (
        lambda x, w: np.correlate(np.append(x, 0.0), w, "valid"), ""),
    "same-length output": (lambda x, w: np.correlate(x, w, "same"), ""),
    "window misaligned by one": (
        lambda x, w: np.array([np.dot(w, np.roll(x, 1)[i:i + len(w)]) for i in range(len(x) - len(w) + 1)]), ""),
    "only the middle tap": (lambda x, w: x[len(w) // 2: len(x) - len(w) + 1 + len(w) // 2] * w[len(w) // 2], ""),
    "returns a list of lists": (lambda x, w: [slide_filter(x, w).tolist()], ""),
    "returns None": (lambda x, w: None, "return"),
    "crashes": (lambda x, w: x[len(x) + 5], "IndexError"),
    "output in the input's integer dtype": (slide_into_input_dtype, "expected a floating-point array"),
    "output allocated with np.zeros_like(x)": (slide_into_zeros_like, "(integer x):\n  the result has dtype int64"),
    "strides computed from the shape": (slide_with_strides_from_shape, "(non-contiguous x)"),
    "float64 inputs only": (slide_float64_only, "(float32 x):\n  your code raised AssertionError"),
    "partly written: even-length filters missing": (slide_odd_filters_only, ("w = [-1.01, -0.21]:", "only partly written")),
    "overwrites its input": (slide_in_place, "in place"),
}

LAYER_BUGS = {
    "no bias": (lambda x, w, b, f: f(np.stack([slide_filter(s, w) for s in x])), "bias is missing"),
    "bias outside f": (lambda x, w, b, f: f(np.stack([slide_filter(s, w) for s in x])) + b, "inside f"),
    "f applied to inputs": (lambda x, w, b, f: np.stack([slide_filter(f(s), w) for s in x]) + b, "not to the inputs"),
    "first sequence only": (lambda x, w, b, f: np.broadcast_to(conv1d_layer(x[:1], w, b, f), (len(x), len(x[0]) - len(w) + 1)), "own samples"),
    "no activation": (lambda x, w, b, f: np.stack([slide_filter(s, w) for s in x]) + b, ""),
    "flipped kernel": (lambda x, w, b, f: conv1d_layer(x, w[::-1], b, f), "flipped"),
    "transposed output": (lambda x, w, b, f: conv1d_layer(x, w, b, f).T, "shape"),
    "output allocated with np.zeros_like(x[:, :n'])": (
        layer_into(lambda x, m: np.zeros_like(x[:, :m])), "(integer x), w = "),
    "output allocated with dtype=x.dtype": (
        layer_into(lambda x, m: np.zeros((len(x), m), dtype=x.dtype)), "expected a floating-point array"),
    "strides computed from the shape": (layer_with_strides_from_shape, "(non-contiguous x)"),
    "rows read in memory order": (layer_rows_in_memory_order, "(Fortran order x)"),
    "partly written: batches missing": (layer_single_sequence_only, "only partly written"),
    "partly written: integer inputs missing": (layer_float_inputs_only, ("(integer x), w = ", "only partly written")),
}


def _words(expected):
    return (expected,) if isinstance(expected, str) else expected


@pytest.mark.parametrize("name", N_OUTPUTS_BUGS)
def test_n_outputs_rejects(name):
    result = run_check("warmup.n_outputs", N_OUTPUTS_BUGS[name])
    assert result.status == FAILED
    assert "partly written" in result.message or not name.startswith("partly")


@pytest.mark.parametrize("name", SLIDE_BUGS)
def test_slide_rejects(name):
    bug, expected_words = SLIDE_BUGS[name]
    result = run_check("warmup.slide", bug)
    assert result.status == FAILED
    assert all(words in result.message for words in _words(expected_words))


@pytest.mark.parametrize("name", LAYER_BUGS)
def test_layer_rejects(name):
    bug, expected_words = LAYER_BUGS[name]
    result = run_check("warmup.layer", bug)
    assert result.status == FAILED
    assert all(words in result.message for words in _words(expected_words))


def test_failure_message_names_the_case_and_shows_numbers():
    message = run_check("warmup.slide", SLIDE_BUGS["flipped kernel"][0]).message
    assert "case x = [1.0, 2.0, 4.0, 8.0, 16.0], w = [-1.0, 0.0, 1.0]" in message
    assert "expected: [3.0 6.0 12.0]" in message and "got:      [-3.0 -6.0 -12.0]" in message
    assert message.count("\n") < 10  # a few lines, not a wall of numbers
