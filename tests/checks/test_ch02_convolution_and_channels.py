"""Mutation tests for chapter 02's checks: the solutions pass, "not implemented" is recognised, and every
planted bug (flipped or transposed kernel, off-by-one size, channels summed on the wrong axis, missing
or misplaced bias, ``=`` instead of ``+=``, ...) is rejected, most of them with their specific hint."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from utils.checks import FAILED, NOT_ATTEMPTED, PASSED, run_check

# ---------------------------------------------------------------------------------------------- solutions


def corr2d(x, k):
    kh, kw = k.shape
    y = np.zeros((x.shape[0] - kh + 1, x.shape[1] - kw + 1))
    for i in range(y.shape[0]):
        for j in range(y.shape[1]):
            y[i, j] = (x[i:i + kh, j:j + kw] * k).sum()
    return y


def convolve2d(x, k):
    return corr2d(x, k[::-1, ::-1])


def corr2d_multi_in(x, k):
    return sum(corr2d(x[c], k[c]) for c in range(len(x)))


def conv2d(x, w, b):
    return np.stack([np.stack([corr2d_multi_in(x[n], w[o]) + b[o] for o in range(len(w))])
                     for n in range(len(x))])


def conv_output_shape(x_shape, w_shape):
    n, _, h, w = x_shape
    o, _, kh, kw = w_shape
    return (n, o, h - kh + 1, w - kw + 1)


def param_count(c_in, c_out, kh, kw, bias=True):
    return c_out * c_in * kh * kw + (c_out if bias else 0)


def learn_kernel(x, y, kernel_shape, steps=300, lr=0.1, start=None, flip=False, zero_grad=True):
    x = torch.as_tensor(x, dtype=torch.float64)[:, None]
    y = torch.as_tensor(y, dtype=torch.float64)[:, None]
    k = torch.zeros(1, 1, *kernel_shape, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([k], lr=lr)
    for _ in range(steps):
        if zero_grad:
            optimizer.zero_grad()
        kernel = k.flip(-1, -2) if flip else k
        loss = ((F.conv2d(x, kernel) - y) ** 2).mean()
        loss.backward()
        optimizer.step()
    return k.detach()[0, 0]


SOLUTIONS = {
    "conv.corr2d": corr2d,
    "conv.convolve2d": convolve2d,
    "conv.multi_in": corr2d_multi_in,
    "conv.conv2d": conv2d,
    "conv.output_shape": conv_output_shape,
    "conv.param_count": param_count,
    "conv.learn_kernel": learn_kernel,
}


def not_implemented(*args, **kwargs):
    raise NotImplementedError()


@pytest.mark.parametrize("exercise_id", sorted(SOLUTIONS))
def test_solution_passes(exercise_id):
    result = run_check(exercise_id, SOLUTIONS[exercise_id])
    assert result.status == PASSED, result.message


@pytest.mark.parametrize("exercise_id", sorted(SOLUTIONS))
@pytest.mark.parametrize("answer", [not_implemented, ..., None])
def test_not_attempted(exercise_id, answer):
    assert run_check(exercise_id, answer).status == NOT_ATTEMPTED


def test_torch_and_float32_answers_are_accepted():
    as_torch32 = lambda fn: (lambda *a: torch.tensor(fn(*a), dtype=torch.float32))  # noqa: E731
    for exercise_id in ("conv.corr2d", "conv.convolve2d", "conv.multi_in", "conv.conv2d"):
        result = run_check(exercise_id, as_torch32(SOLUTIONS[exercise_id]))
        assert result.status == PASSED, result.message
    torch_conv2d = lambda x, w, b: F.conv2d(torch.tensor(x), torch.tensor(w), torch.tensor(b))  # noqa: E731
    assert run_check("conv.conv2d", torch_conv2d).status == PASSED
    assert run_check("conv.output_shape", lambda xs, ws: np.array(conv_output_shape(xs, ws))).status == PASSED
    assert run_check("conv.param_count", lambda *a, **k: np.int64(param_count(*a, **k))).status == PASSED


def test_not_a_function_is_rejected():
    assert run_check("conv.corr2d", np.zeros(3)).status == FAILED


# ----------------------------------------------------------------------------------------------- mutants
# Each entry: name -> (wrong answer, a word the failure message must contain, or None).


def corr2d_int_output(x, k):
    kh, kw = k.shape
    y = np.zeros((x.shape[0] - kh + 1, x.shape[1] - kw + 1), dtype=int)
    for i in range(y.shape[0]):
        for j in range(y.shape[1]):
            y[i, j] = (x[i:i + kh, j:j + kw] * k).sum()
    return y


def corr2d_square_window(x, k):
    kh = k.shape[0]
    y = np.zeros((x.shape[0] - kh + 1, x.shape[1] - kh + 1))
    for i in range(y.shape[0]):
        for j in range(y.shape[1]):
            y[i, j] = (x[i:i + kh, j:j + kh] * k).sum()
    return y


def corr2d_swapped_kernel_shape(x, k):
    kw, kh = k.shape  # unpacked in the wrong order
    y = np.zeros((x.shape[0] - kh + 1, x.shape[1] - kw + 1))
    for i in range(y.shape[0]):
        for j in range(y.shape[1]):
            y[i, j] = (x[i:i + kh, j:j + kw] * k.T).sum()
    return y


CORR2D_BUGS = {
    "flipped kernel": (lambda x, k: corr2d(x, k[::-1, ::-1]), "flipped"),
    "transposed kernel": (lambda x, k: corr2d(x, k.T) if k.shape[0] == k.shape[1] else corr2d(x, k), "transposed"),
    "one row short": (lambda x, k: corr2d(x, k)[:-1], "one row short"),
    "one column short": (lambda x, k: corr2d(x, k)[:, :-1], "one column short"),
    "one row and column short": (lambda x, k: corr2d(x, k)[:-1, :-1], "one row and one column short"),
    "integer output": (corr2d_int_output, "dtype"),
    "square window only": (corr2d_square_window, None),
    "kernel shape unpacked in the wrong order": (corr2d_swapped_kernel_shape, "transposed kernel"),
    "forgot to return": (lambda x, k: None, "None"),
    "returns an array of strings": (lambda x, k: np.array([["a"]]), "dtype"),
    "products not summed": (lambda x, k: np.array([[x[i:i + k.shape[0], j:j + k.shape[1]].ravel() @ np.ones(k.size)
                                                   for j in range(x.shape[1] - k.shape[1] + 1)]
                                                  for i in range(x.shape[0] - k.shape[0] + 1)]), None),
    "mutates but returns input": (lambda x, k: x, "shape"),
}

CONVOLVE2D_BUGS = {
    "no flip (cross-correlation)": (corr2d, "cross-correlation"),
    "flipped rows only": (lambda x, k: corr2d(x, k[::-1, :]), "upside down"),
    "flipped columns only": (lambda x, k: corr2d(x, k[:, ::-1]), "left-right"),
    "transposed instead of flipped": (lambda x, k: corr2d(x, k.T) if k.shape[0] == k.shape[1] else convolve2d(x, k)[:-1],
                                      None),
    "flipped and one row short": (lambda x, k: convolve2d(x, k)[:-1], "one row short"),
    "flips the image instead of the kernel": (lambda x, k: corr2d(x[::-1, ::-1], k), None),
}


def multi_in_assign(x, k):
    y = 0
    for c in range(len(x)):
        y = corr2d(x[c], k[c])  # `=` instead of `+=`
    return y


MULTI_IN_BUGS = {
    "= instead of +=": (multi_in_assign, "+="),
    "first channel only": (lambda x, k: corr2d(x[0], k[0]), "first channel"),
    "mean over channels": (lambda x, k: corr2d_multi_in(x, k) / len(x), "averaged"),
    "per-channel maps not summed": (lambda x, k: np.stack([corr2d(x[c], k[c]) for c in range(len(x))]), "one map"),
    "summed over rows": (lambda x, k: np.stack([corr2d(x[c], k[c]) for c in range(len(x))]).sum(axis=1), "axis 1"),
    "channels paired in reverse": (lambda x, k: corr2d_multi_in(x, k[::-1]), "reverse"),
    "every channel with every kernel": (lambda x, k: sum(corr2d(xc, kc) for xc in x for kc in k), "every kernel"),
    "flipped kernel": (lambda x, k: corr2d_multi_in(x, k[:, ::-1, ::-1]), "flipped"),
    "one row short": (lambda x, k: corr2d_multi_in(x, k)[:-1], "one row short"),
}


def conv2d_bias_per_input_channel(x, w, b):
    out = np.zeros((len(x), len(w), x.shape[2] - w.shape[2] + 1, x.shape[3] - w.shape[3] + 1))
    for n in range(len(x)):
        for o in range(len(w)):
            for c in range(x.shape[1]):
                out[n, o] += corr2d(x[n, c], w[o, c]) + b[o]
    return out


def conv2d_assign(x, w, b):
    out = np.zeros((len(x), len(w), x.shape[2] - w.shape[2] + 1, x.shape[3] - w.shape[3] + 1))
    for n in range(len(x)):
        for o in range(len(w)):
            for c in range(x.shape[1]):
                out[n, o] = corr2d(x[n, c], w[o, c])  # `=` instead of `+=`
            out[n, o] += b[o]
    return out


def conv2d_sum_over_batch(x, w, b):
    total = sum(np.stack([corr2d_multi_in(x[n], w[o]) for o in range(len(w))]) for n in range(len(x)))
    return np.stack([total + b[:, None, None]] * len(x))


CONV2D_BUGS = {
    "bias missing": (lambda x, w, b: conv2d(x, w, np.zeros_like(b)), "bias is missing"),
    "bias added per input channel": (conv2d_bias_per_input_channel, "once per input channel"),
    "whole bias vector summed into each map": (lambda x, w, b: conv2d(x, w, np.zeros_like(b)) + b.sum(), "wrong entry"),
    "= instead of +=": (conv2d_assign, "+="),
    "flipped kernel": (lambda x, w, b: conv2d(x, w[:, :, ::-1, ::-1], b), "flipped"),
    "transposed kernel": (lambda x, w, b: conv2d(x, np.swapaxes(w, 2, 3), b) if w.shape[2] == w.shape[3]
                          else conv2d(x, w, b)[..., :-1, :], None),
    "one row short": (lambda x, w, b: conv2d(x, w, b)[:, :, :-1], "one row short"),
    "(O, N) layout": (lambda x, w, b: np.swapaxes(conv2d(x, w, b), 0, 1), None),
    "summed over the batch": (conv2d_sum_over_batch, None),
    "first example repeated": (lambda x, w, b: np.broadcast_to(conv2d(x[:1], w, b), (len(x),) + conv2d(x[:1], w, b).shape[1:]), None),
    "first filter for every output": (lambda x, w, b: conv2d(x, np.broadcast_to(w[:1], w.shape), b), None),
    "mean over channels": (lambda x, w, b: conv2d(x, w / x.shape[1], b), None),
    "bias subtracted": (lambda x, w, b: conv2d(x, w, -b), "subtracted"),
}

OUTPUT_SHAPE_BUGS = {
    "off by one": (lambda xs, ws: (xs[0], ws[0], xs[2] - ws[2], xs[3] - ws[3]), "one short"),
    "input channels kept": (lambda xs, ws: (xs[0], xs[1], xs[2] - ws[2] + 1, xs[3] - ws[3] + 1), "O = w_shape[0]"),
    "HWC order": (lambda xs, ws: (xs[0], xs[2] - ws[2] + 1, xs[3] - ws[3] + 1, ws[0]), "(N, O, H', W')"),
    "kh and kw swapped": (lambda xs, ws: (xs[0], ws[0], xs[2] - ws[3] + 1, xs[3] - ws[2] + 1), "kh - 1"),
    "no shrinking": (lambda xs, ws: (xs[0], ws[0], xs[2], xs[3]), "smaller"),
    "batch dropped": (lambda xs, ws: (ws[0], xs[2] - ws[2] + 1, xs[3] - ws[3] + 1), None),
    "returns a string": (lambda xs, ws: "(1, 4, 28, 28)", "tuple of 4 integers"),
}

PARAM_COUNT_BUGS = {
    "bias missing": (lambda ci, co, kh, kw, bias=True: co * ci * kh * kw, "bias is missing"),
    "bias always counted": (lambda ci, co, kh, kw, bias=True: co * ci * kh * kw + co, "no bias"),
    "bias per input channel": (lambda ci, co, kh, kw, bias=True: co * ci * kh * kw + (ci if bias else 0),
                               "per input channel"),
    "one kernel only": (lambda ci, co, kh, kw, bias=True: ci * kh * kw + (co if bias else 0), "multiply by c_out"),
    "kernels without input depth": (lambda ci, co, kh, kw, bias=True: co * kh * kw + (co if bias else 0),
                                    "spans all c_in"),
    "bias per (in, out) pair": (lambda ci, co, kh, kw, bias=True: co * ci * kh * kw + (co * ci if bias else 0), None),
    "square kernel assumed": (lambda ci, co, kh, kw, bias=True: co * ci * kh * kh + (co if bias else 0), "kh * kw"),
    "kh + kw": (lambda ci, co, kh, kw, bias=True: co * ci * (kh + kw) + (co if bias else 0), "kh + kw"),
    "float division": (lambda ci, co, kh, kw, bias=True: (co * ci * kh * kw + (co if bias else 0)) / 2, None),
}

LEARN_KERNEL_BUGS = {
    "no optimizer step": (lambda x, y, s: torch.zeros(s, dtype=torch.float64), "did not move"),
    "true convolution fitted": (lambda x, y, s: learn_kernel(x, y, s, flip=True), "flipped"),
    "too few steps": (lambda x, y, s: learn_kernel(x, y, s, steps=3), None),
    "learning rate too large": (lambda x, y, s: learn_kernel(x, y, s, lr=5.0), "inf or nan"),
    "transposed result": (lambda x, y, s: learn_kernel(x, y, s).T, "transposed"),
}

BUGS = [(eid, name, fn, word) for eid, table in [
    ("conv.corr2d", CORR2D_BUGS), ("conv.convolve2d", CONVOLVE2D_BUGS), ("conv.multi_in", MULTI_IN_BUGS),
    ("conv.conv2d", CONV2D_BUGS), ("conv.output_shape", OUTPUT_SHAPE_BUGS), ("conv.param_count", PARAM_COUNT_BUGS),
    ("conv.learn_kernel", LEARN_KERNEL_BUGS)] for name, (fn, word) in table.items()]


@pytest.mark.parametrize("exercise_id, name, fn, word", BUGS, ids=[f"{b[0]}: {b[1]}" for b in BUGS])
def test_planted_bug_is_rejected(exercise_id, name, fn, word):
    result = run_check(exercise_id, fn)
    assert result.status == FAILED, f"{exercise_id} accepted the planted bug {name!r}"
    if word is not None:
        assert word in result.message, result.message


@pytest.mark.parametrize("exercise_id", sorted(SOLUTIONS))
def test_every_check_has_at_least_three_mutants(exercise_id):
    assert sum(1 for b in BUGS if b[0] == exercise_id) >= 3


def test_failure_message_names_the_case():
    message = run_check("conv.conv2d", CONV2D_BUGS["bias missing"][0]).message
    assert "x (N, C, H, W) = (1, 2, 3, 3)" in message and "expected" in message and "got" in message
