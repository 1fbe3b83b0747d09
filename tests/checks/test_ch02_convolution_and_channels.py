"""Mutation tests for chapter 02's checks: the solutions pass, "not implemented" is recognised, and every
planted bug (flipped or transposed kernel, off-by-one size, channels summed on the wrong axis, missing
or misplaced bias, ``=`` instead of ``+=``, outputs that inherit an integer dtype, strides computed from the
shape, partly written answers, updates that autograd refuses, ...) is rejected with its specific hint."""

from functools import partial

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from utils.checks import FAILED, NOT_ATTEMPTED, PASSED, get_reference, run_check

# the planted `kernel = kernel - lr * kernel.grad` makes torch warn, as it would warn the student
pytestmark = pytest.mark.filterwarnings("ignore:The .grad attribute of a Tensor that is not a leaf")

# ---------------------------------------------------------------------------------------------- solutions


def corr2d(x, k):
    x, k = np.asarray(x, dtype=np.float64), np.asarray(k, dtype=np.float64)
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
    return (int(n), int(o), int(h - kh + 1), int(w - kw + 1))


def param_count(c_in, c_out, kh, kw, bias=True):
    return c_out * c_in * kh * kw + (c_out if bias else 0)


def learn_kernel(x, y, kernel_shape, steps=300, lr=0.3, *, flip=False, zero_grad="first", y_channel=True,
                 summed=False, dtype=torch.float64):
    """zero_grad: "first" (correct), "between" (after backward, before step: the step sees no gradient) or None."""
    x = torch.as_tensor(x, dtype=dtype)[:, None]
    y = torch.as_tensor(y, dtype=dtype)
    if y_channel:
        y = y[:, None]
    k = torch.zeros(1, 1, *kernel_shape, dtype=dtype, requires_grad=True)
    optimizer = torch.optim.SGD([k], lr=lr)
    for _ in range(steps):
        if zero_grad == "first":
            optimizer.zero_grad()
        kernel = k.flip(-1, -2) if flip else k
        errors = (F.conv2d(x, kernel) - y) ** 2
        loss = errors.sum() if summed else errors.mean()
        loss.backward()
        if zero_grad == "between":
            optimizer.zero_grad()
        optimizer.step()
    return k.detach()[0, 0]


def learn_kernel_by_hand(x, y, kernel_shape, steps=300, lr=0.3, *, update="no_grad"):
    """The update written out: "no_grad" is right; the others are what a literal reading of
    "kernel <- kernel - lr * kernel.grad" gives, or clear the gradient at the wrong moment."""
    x = torch.as_tensor(x, dtype=torch.float64)[:, None]
    y = torch.as_tensor(y, dtype=torch.float64)[:, None]
    kernel = torch.zeros(1, 1, *kernel_shape, dtype=torch.float64, requires_grad=update != "no requires_grad")
    loss = ((F.conv2d(x, kernel) - y) ** 2).mean()
    for _ in range(steps):
        if update == "zero before backward":
            kernel.grad.zero_()
        if update != "loss outside the loop":
            loss = ((F.conv2d(x, kernel) - y) ** 2).mean()
        loss.backward()
        if update == "rebind":
            kernel = kernel - lr * kernel.grad
            continue
        if update == "in place, recorded":
            kernel -= lr * kernel.grad
            continue
        if update == "zero before update":
            kernel.grad.zero_()
        with torch.no_grad():
            kernel -= lr * kernel.grad
        kernel.grad.zero_()
    return kernel.detach()[0, 0]


def learn_kernel_lstsq(x, y, kernel_shape, steps=300, lr=0.3):
    """The closed-form least-squares kernel: right answer, but not what `steps` steps of descent give."""
    windows = np.lib.stride_tricks.sliding_window_view(np.asarray(x), kernel_shape, axis=(1, 2))
    solution = np.linalg.lstsq(windows.reshape(-1, int(np.prod(kernel_shape))), np.asarray(y).ravel(), rcond=None)[0]
    return torch.tensor(solution.reshape(kernel_shape))


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


def test_float32_and_torch_answers_are_accepted_where_the_notebook_allows_them():
    as_numpy32 = lambda fn: (lambda *a: np.asarray(fn(*a), dtype=np.float32))  # noqa: E731
    as_torch32 = lambda fn: (lambda *a: torch.tensor(fn(*a), dtype=torch.float32))  # noqa: E731
    for exercise_id in ("conv.corr2d", "conv.convolve2d", "conv.multi_in", "conv.conv2d"):
        result = run_check(exercise_id, as_numpy32(SOLUTIONS[exercise_id]))
        assert result.status == PASSED, result.message
    for exercise_id in ("conv.multi_in", "conv.conv2d"):  # their results are only compared, never sliced
        result = run_check(exercise_id, as_torch32(SOLUTIONS[exercise_id]))
        assert result.status == PASSED, result.message
    torch_conv2d = lambda x, w, b: F.conv2d(*(torch.tensor(a, dtype=torch.float64) for a in (x, w, b)))  # noqa: E731
    assert run_check("conv.conv2d", torch_conv2d).status == PASSED
    torch_shape = lambda xs, ws: torch.Size(conv_output_shape(xs, ws))  # noqa: E731  (a tuple of ints)
    assert run_check("conv.output_shape", torch_shape).status == PASSED
    numpy_shape = lambda xs, ws: tuple(np.int64(v) for v in conv_output_shape(xs, ws))  # noqa: E731
    assert run_check("conv.output_shape", numpy_shape).status == PASSED  # one integer rule, as param_count
    assert run_check("conv.param_count", lambda *a, **k: np.int64(param_count(*a, **k))).status == PASSED
    float32_learner = lambda *a, **k: learn_kernel(*a, **k, dtype=torch.float32)  # noqa: E731
    result = run_check("conv.learn_kernel", float32_learner)
    assert result.status == PASSED, result.message


@pytest.mark.parametrize("exercise_id", sorted(SOLUTIONS))
def test_the_references_that_demonstrations_fall_back_on_pass_their_checks(exercise_id):
    result = run_check(exercise_id, get_reference(exercise_id))
    assert result.status == PASSED, result.message


@pytest.mark.parametrize("exercise_id, arity", [("conv.corr2d", 2), ("conv.convolve2d", 2), ("conv.multi_in", 2),
                                                ("conv.conv2d", 3)])
def test_the_answer_receives_integer_float32_strided_and_fortran_order_arrays(exercise_id, arity):
    seen = set()

    def spy(*arrays):
        for a in arrays:
            seen.add((a.dtype.name, a.flags.c_contiguous, a.flags.f_contiguous))
        return SOLUTIONS[exercise_id](*arrays)

    assert run_check(exercise_id, spy).status == PASSED
    assert {dtype for dtype, _, _ in seen} >= {"float64", "float32", "int64"}
    assert any(not c and not f for _, c, f in seen), "no strided view reached the answer"
    assert any(f and not c for _, c, f in seen), "no Fortran-order array reached the answer"


def test_learn_kernel_accepts_an_update_by_hand_under_no_grad():
    result = run_check("conv.learn_kernel", learn_kernel_by_hand)
    assert result.status == PASSED, result.message


def test_zero_grad_in_the_wrong_place_is_named_not_a_missing_step():
    message = run_check("conv.learn_kernel", LEARN_KERNEL_BUGS["zero_grad() between backward() and step()"][0]).message
    assert "call optimizer.step()" not in message and "nothing updated it" not in message
    message = run_check("conv.learn_kernel", LEARN_KERNEL_BUGS["no optimizer step"][0]).message
    assert "nothing updated it" in message


def test_learn_kernel_follows_the_exact_gradient_descent_path():
    from utils.checks.ch02_convolution_and_channels import _learn_cases, gd_path, ref_conv2d

    for _, x, k, steps, lr in _learn_cases():
        y = ref_conv2d(x[:, None], k[None, None])[:, 0]
        got = learn_kernel(torch.from_numpy(x), torch.from_numpy(y), k.shape, steps=steps, lr=lr).numpy()
        assert np.allclose(got, gd_path(x, y, k.shape, steps, lr), rtol=1e-9, atol=1e-12)
    assert result_message_has("conv.learn_kernel", learn_kernel_lstsq, "exact answer")


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


def corr2d_zeros_like(x, k):
    """Allocates the output like the input: an integer image gives an integer (truncated) result."""
    kh, kw = k.shape
    y = np.zeros_like(x[:x.shape[0] - kh + 1, :x.shape[1] - kw + 1])
    for i in range(y.shape[0]):
        for j in range(y.shape[1]):
            y[i, j] = (x[i:i + kh, j:j + kw] * k).sum()
    return y


def corr2d_dtype_of_x(x, k):
    kh, kw = k.shape
    y = np.zeros((x.shape[0] - kh + 1, x.shape[1] - kw + 1), dtype=x.dtype)
    for i in range(y.shape[0]):
        for j in range(y.shape[1]):
            y[i, j] = (x[i:i + kh, j:j + kw] * k).sum()
    return y


def corr2d_as_strided(x, k):
    """All windows at once, with strides computed from the shape as if x were C-contiguous float64."""
    x = np.asarray(x, dtype=np.float64)  # converts float32 and integer images, but keeps a float64 view as it is
    (h, w), (kh, kw) = x.shape, k.shape
    windows = np.lib.stride_tricks.as_strided(x, shape=(h - kh + 1, w - kw + 1, kh, kw),
                                              strides=(8 * w, 8, 8 * w, 8))
    return np.einsum("ijuv,uv->ij", windows, k)


def corr2d_square_kernels_only(x, k):
    if k.shape[0] != k.shape[1]:
        raise NotImplementedError("non-square kernels: later")
    return corr2d(x, k)


CORR2D_BUGS = {
    "flipped kernel": (lambda x, k: corr2d(x, k[::-1, ::-1]), "flipped"),
    "transposed kernel": (lambda x, k: corr2d(x, k.T) if k.shape[0] == k.shape[1] else corr2d(x, k),
                          "uses the transposed kernel"),
    "flipped left-right only": (lambda x, k: corr2d(x, k[:, ::-1]), "y[i, j] = sum_u sum_v"),
    "returns a torch tensor": (lambda x, k: torch.from_numpy(corr2d(x, k)), "torch tensor; return a numpy array"),
    "returns a list": (lambda x, k: corr2d(x, k).tolist(), "Python list"),
    "one row short": (lambda x, k: corr2d(x, k)[:-1], "one row short"),
    "one column short": (lambda x, k: corr2d(x, k)[:, :-1], "one column short"),
    "one row and column short": (lambda x, k: corr2d(x, k)[:-1, :-1], "one row and one column short"),
    "integer output": (corr2d_int_output, "dtype"),
    "square window only": (corr2d_square_window, "y[i, j] = sum_u sum_v"),
    "kernel shape unpacked in the wrong order": (corr2d_swapped_kernel_shape, "transposed kernel"),
    "forgot to return": (lambda x, k: None, "None"),
    "returns an array of strings": (lambda x, k: np.array([["a"]]), "dtype"),
    "kernel ignored (window sums)": (lambda x, k: np.array([[x[i:i + k.shape[0], j:j + k.shape[1]].sum()
                                                           for j in range(x.shape[1] - k.shape[1] + 1)]
                                                          for i in range(x.shape[0] - k.shape[0] + 1)]),
                                     "y[i, j] = sum_u sum_v"),
    "mutates but returns input": (lambda x, k: x, "shape"),
    "output allocated with np.zeros_like(x)": (corr2d_zeros_like, "expected a floating-point array"),
    "output allocated with dtype=x.dtype": (corr2d_dtype_of_x, "expected a floating-point array"),
    "windows by as_strided with strides from the shape": (corr2d_as_strided, "not a C-contiguous array"),
    "partly written: square kernels only": (corr2d_square_kernels_only, "only partly written"),
}

CONVOLVE2D_BUGS = {
    "no flip (cross-correlation)": (corr2d, "cross-correlation"),
    "flipped rows only": (lambda x, k: corr2d(x, k[::-1, :]), "upside down"),
    "flipped columns only": (lambda x, k: corr2d(x, k[:, ::-1]), "left-right"),
    "transposed instead of flipped": (lambda x, k: corr2d(x, k.T) if k.shape[0] == k.shape[1] else convolve2d(x, k)[:-1],
                                      "instead of flipping"),
    "flipped and one row short": (lambda x, k: convolve2d(x, k)[:-1], "one row short"),
    "flips the image instead of the kernel": (lambda x, k: corr2d(x[::-1, ::-1], k), "cross-correlation with the flipped"),
    "returns a torch tensor": (lambda x, k: torch.from_numpy(convolve2d(x, k)), "torch tensor; return a numpy array"),
    "output allocated with np.zeros_like(x)": (lambda x, k: corr2d_zeros_like(x, k[::-1, ::-1]),
                                               "expected a floating-point array"),
    "windows by as_strided with strides from the shape": (lambda x, k: corr2d_as_strided(x, k[::-1, ::-1]),
                                                          "not a C-contiguous array"),
}


def multi_in_assign(x, k):
    y = 0
    for c in range(len(x)):
        y = corr2d(x[c], k[c])  # `=` instead of `+=`
    return y


def multi_in_zeros_like(x, k):
    """The accumulator takes the image's dtype: integer images are truncated."""
    y = np.zeros_like(x[0, :x.shape[1] - k.shape[1] + 1, :x.shape[2] - k.shape[2] + 1])
    for c in range(len(x)):
        y += corr2d(x[c], k[c]).astype(y.dtype)
    return y


MULTI_IN_BUGS = {
    "= instead of +=": (multi_in_assign, "+="),
    "first channel only": (lambda x, k: corr2d(x[0], k[0]), "first channel"),
    "mean over channels": (lambda x, k: corr2d_multi_in(x, k) / len(x), "averaged"),
    "per-channel maps not summed": (lambda x, k: np.stack([corr2d(x[c], k[c]) for c in range(len(x))]), "one map"),
    "summed over rows": (lambda x, k: np.stack([corr2d(x[c], k[c]) for c in range(len(x))]).sum(axis=1), "axis 1"),
    "last channel only": (lambda x, k: corr2d(x[-1], k[-1]), "`=` instead of `+=`"),
    "transposed kernel": (lambda x, k: corr2d_multi_in(x, np.swapaxes(k, 1, 2)) if k.shape[1] == k.shape[2]
                          else corr2d_multi_in(x, k)[:-1], "uses the transposed kernel"),
    "channels paired in reverse": (lambda x, k: corr2d_multi_in(x, k[::-1]), "reverse"),
    "every channel with every kernel": (lambda x, k: sum(corr2d(xc, kc) for xc in x for kc in k), "every kernel"),
    "flipped kernel": (lambda x, k: corr2d_multi_in(x, k[:, ::-1, ::-1]), "flipped"),
    "one row short": (lambda x, k: corr2d_multi_in(x, k)[:-1], "one row short"),
    "accumulator allocated with np.zeros_like(x[0])": (multi_in_zeros_like, "expected a floating-point array"),
    "partly written: at most two channels": (lambda x, k: corr2d_multi_in(x, k) if len(x) <= 2
                                             else not_implemented(), "only partly written"),
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


def conv2d_zeros_like_slice(x, w, b):
    """The output allocated as np.zeros_like(x[:, :m]) (then cropped): it inherits an integer image's dtype."""
    n, c, h, width = x.shape
    k, _, fh, fw = w.shape
    y = np.zeros_like(np.broadcast_to(x[:, :1], (n, k, h, width)))[:, :, :h - fh + 1, :width - fw + 1].copy()
    for i in range(n):
        for j in range(k):
            y[i, j] = corr2d_multi_in(x[i], w[j]) + b[j]
    return y


def conv2d_dtype_of_x(x, w, b):
    y = np.zeros((len(x), len(w), x.shape[2] - w.shape[2] + 1, x.shape[3] - w.shape[3] + 1), dtype=x.dtype)
    for i in range(len(x)):
        for j in range(len(w)):
            y[i, j] = corr2d_multi_in(x[i], w[j]) + b[j]
    return y


CONV2D_BUGS = {
    "bias missing": (lambda x, w, b: conv2d(x, w, np.zeros_like(b)), "bias is missing"),
    "bias added per input channel": (conv2d_bias_per_input_channel, "once per input channel"),
    "whole bias vector summed into each map": (lambda x, w, b: conv2d(x, w, np.zeros_like(b)) + b.sum(), "wrong entry"),
    "= instead of +=": (conv2d_assign, "+="),
    "flipped kernel": (lambda x, w, b: conv2d(x, w[:, :, ::-1, ::-1], b), "flipped"),
    "transposed kernel": (lambda x, w, b: conv2d(x, np.swapaxes(w, 2, 3), b) if w.shape[2] == w.shape[3]
                          else conv2d(x, w, b)[..., :-1, :], "uses the transposed kernel"),
    "one row short": (lambda x, w, b: conv2d(x, w, b)[:, :, :-1], "one row short"),
    "(K, N) layout": (lambda x, w, b: np.swapaxes(conv2d(x, w, b), 0, 1), "(N, K, H', W')"),
    "summed over the batch": (conv2d_sum_over_batch, "summed over the batch axis"),
    "first example repeated": (lambda x, w, b: np.broadcast_to(conv2d(x[:1], w, b), (len(x),) + conv2d(x[:1], w, b).shape[1:]),
                               "repeats example 0"),
    "first filter for every output": (lambda x, w, b: conv2d(x, np.broadcast_to(w[:1], w.shape), b), "from w[0]"),
    "mean over channels": (lambda x, w, b: conv2d(x, w / x.shape[1], b), "averaged over the input channels"),
    "first input channel only": (lambda x, w, b: conv2d(x[:, :1], w[:, :1], b), "only the first input channel"),
    "weights indexed w[c, o]": (lambda x, w, b: conv2d(x, np.swapaxes(w, 0, 1), b) if w.shape[0] == w.shape[1]
                                else conv2d(x, w, b), "w[c, o]"),  # the layouts differ only when O == C
    "bias subtracted": (lambda x, w, b: conv2d(x, w, -b), "subtracted"),
    "output allocated with np.zeros_like(x[:, :m])": (conv2d_zeros_like_slice, "expected a floating-point array"),
    "output allocated with dtype=x.dtype": (conv2d_dtype_of_x, "expected a floating-point array"),
    "partly written: one example only": (lambda x, w, b: conv2d(x, w, b) if len(x) == 1 else not_implemented(),
                                         "only partly written"),
}

def output_shape_square_only(x_shape, w_shape):
    if w_shape[2] != w_shape[3]:
        raise NotImplementedError()
    return conv_output_shape(x_shape, w_shape)


OUTPUT_SHAPE_BUGS = {
    "off by one": (lambda xs, ws: (xs[0], ws[0], xs[2] - ws[2], xs[3] - ws[3]), "one short"),
    "input channels kept": (lambda xs, ws: (xs[0], xs[1], xs[2] - ws[2] + 1, xs[3] - ws[3] + 1), "K = w_shape[0]"),
    "HWC order": (lambda xs, ws: (xs[0], xs[2] - ws[2] + 1, xs[3] - ws[3] + 1, ws[0]), "(N, K, H', W')"),
    "F_h and F_w swapped": (lambda xs, ws: (xs[0], ws[0], xs[2] - ws[3] + 1, xs[3] - ws[2] + 1), "F_h - 1"),
    "no shrinking": (lambda xs, ws: (xs[0], ws[0], xs[2], xs[3]), "smaller"),
    "batch dropped": (lambda xs, ws: (ws[0], xs[2] - ws[2] + 1, xs[3] - ws[3] + 1), "(N, C, H, W) with K filters"),
    "batch and channels swapped": (lambda xs, ws: (ws[0], xs[0], xs[2] - ws[2] + 1, xs[3] - ws[3] + 1), "batch first"),
    "returns a string": (lambda xs, ws: "(1, 4, 28, 28)", "tuple of 4 integers"),
    "returns a list": (lambda xs, ws: list(conv_output_shape(xs, ws)), "round brackets"),
    "returns a numpy array": (lambda xs, ws: np.array(conv_output_shape(xs, ws)), "not a numpy array"),
    "returns floats": (lambda xs, ws: tuple(float(v) for v in conv_output_shape(xs, ws)), "integer arithmetic"),
    "returns numpy floats": (lambda xs, ws: tuple(np.float64(v) for v in conv_output_shape(xs, ws)), "should be an int"),
    "partly written: square kernels only": (lambda xs, ws: output_shape_square_only(xs, ws), "only partly written"),
    "forgot to return": (lambda xs, ws: None, "None"),
}

PARAM_COUNT_BUGS = {
    "bias missing": (lambda ci, co, kh, kw, bias=True: co * ci * kh * kw, "bias is missing"),
    "bias always counted": (lambda ci, co, kh, kw, bias=True: co * ci * kh * kw + co, "no bias"),
    "bias per input channel": (lambda ci, co, kh, kw, bias=True: co * ci * kh * kw + (ci if bias else 0),
                               "per input channel"),
    "one kernel only": (lambda ci, co, kh, kw, bias=True: ci * kh * kw + (co if bias else 0), "multiply by c_out"),
    "kernels without input depth": (lambda ci, co, kh, kw, bias=True: co * kh * kw + (co if bias else 0),
                                    "spans all c_in"),
    "bias per (in, out) pair": (lambda ci, co, kh, kw, bias=True: co * ci * kh * kw + (co * ci if bias else 0),
                                "not per (in, out) pair"),
    "square kernel assumed": (lambda ci, co, kh, kw, bias=True: co * ci * kh * kh + (co if bias else 0), "kh * kw"),
    "kh + kw": (lambda ci, co, kh, kw, bias=True: co * ci * (kh + kw) + (co if bias else 0), "kh + kw"),
    "float division": (lambda ci, co, kh, kw, bias=True: (co * ci * kh * kw + (co if bias else 0)) / 2, "should be an int"),
    "float result": (lambda ci, co, kh, kw, bias=True: float(param_count(ci, co, kh, kw, bias)), "should be an int"),
}

def learn_kernel_without_step(x, y, kernel_shape, steps=300, lr=0.3):
    x, y = torch.as_tensor(x)[:, None], torch.as_tensor(y)[:, None]
    kernel = torch.zeros(1, 1, *kernel_shape, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([kernel], lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        ((F.conv2d(x, kernel) - y) ** 2).mean().backward()  # ... and no optimizer.step()
    return kernel.detach()[0, 0]


def by_hand(update):
    return partial(learn_kernel_by_hand, update=update)


LEARN_KERNEL_BUGS = {
    "no optimizer step": (lambda x, y, s, steps=300, lr=0.3: learn_kernel_without_step(x, y, s, steps, lr),
                          "did not move"),
    "true convolution fitted": (lambda x, y, s, steps=300, lr=0.3: learn_kernel(x, y, s, steps, lr, flip=True),
                                "flipped"),
    "fixed number of steps": (lambda x, y, s, steps=300, lr=0.3: learn_kernel(x, y, s, 300, lr),
                              "take exactly `steps` steps (the argument)"),
    "fixed learning rate": (lambda x, y, s, steps=300, lr=0.3: learn_kernel(x, y, s, steps, 0.3), "use the lr argument"),
    "three steps whatever steps says": (lambda x, y, s, steps=300, lr=0.3: learn_kernel(x, y, s, 3, lr),
                                        "exactly steps=300 steps"),
    "one step too few": (lambda x, y, s, steps=300, lr=0.3: learn_kernel(x, y, s, max(steps - 1, 0), lr),
                         "zeroing the gradient each step"),
    "closed-form least squares": (learn_kernel_lstsq, "exact answer"),
    "learning rate too large": (lambda x, y, s, steps=300, lr=0.3: learn_kernel(x, y, s, steps, 5.0), "inf or nan"),
    "transposed result": (lambda x, y, s, steps=300, lr=0.3: learn_kernel(x, y, s, steps, lr).T, "transposed"),
    "gradients never zeroed": (lambda x, y, s, steps=300, lr=0.3: learn_kernel(x, y, s, steps, lr, zero_grad=None),
                               "optimizer.zero_grad()"),
    "zero_grad() between backward() and step()": (partial(learn_kernel, zero_grad="between"),
                                                  "sits between loss.backward() and optimizer.step()"),
    "kernel = kernel - lr * kernel.grad": (by_hand("rebind"), "with torch.no_grad(): kernel -= lr * kernel.grad"),
    "kernel -= lr * kernel.grad outside no_grad": (by_hand("in place, recorded"),
                                                   "Wrap the update in `with torch.no_grad():`"),
    "kernel.grad.zero_() before the first backward": (by_hand("zero before backward"),
                                                      "None until the first loss.backward()"),
    "gradient cleared before the hand-made update": (by_hand("zero before update"), "cleared before the update used it"),
    "kernel without requires_grad": (by_hand("no requires_grad"), "requires_grad=True"),
    "loss computed once, outside the loop": (by_hand("loss outside the loop"), "inside the loop, once per step"),
    "partly written: no answer for steps=0": (
        lambda x, y, s, steps=300, lr=0.3: learn_kernel(x, y, s, steps, lr) if steps else not_implemented(),
        "only partly written"),
    "target without channel axis": (lambda x, y, s, steps=300, lr=0.3: learn_kernel(x, y, s, steps, lr,
                                                                                   y_channel=False),
                                    "silently broadcasts"),
    "squared errors summed": (lambda x, y, s, steps=300, lr=0.3: learn_kernel(x, y, s, steps, lr, summed=True),
                              "mean (not the sum)"),
    "returns a numpy array": (lambda x, y, s, steps=300, lr=0.3: learn_kernel(x, y, s, steps, lr).numpy(),
                              "return a torch tensor"),
    "returns a tensor that requires grad": (lambda x, y, s, steps=300, lr=0.3:
                                            learn_kernel(x, y, s, steps, lr).requires_grad_(),
                                            "still requires grad"),
    "returns the (1, 1, kh, kw) weight": (lambda x, y, s, steps=300, lr=0.3: learn_kernel(x, y, s, steps, lr)[None, None],
                                          "kernel[0, 0]"),
    "forgot to return": (lambda x, y, s, steps=300, lr=0.3: None, "None"),
}

BUGS = [(eid, name, fn, word) for eid, table in [
    ("conv.corr2d", CORR2D_BUGS), ("conv.convolve2d", CONVOLVE2D_BUGS), ("conv.multi_in", MULTI_IN_BUGS),
    ("conv.conv2d", CONV2D_BUGS), ("conv.output_shape", OUTPUT_SHAPE_BUGS), ("conv.param_count", PARAM_COUNT_BUGS),
    ("conv.learn_kernel", LEARN_KERNEL_BUGS)] for name, (fn, word) in table.items()]


@pytest.mark.parametrize("exercise_id, name, fn, word", BUGS, ids=[f"{b[0]}: {b[1]}" for b in BUGS])
def test_planted_bug_is_rejected(exercise_id, name, fn, word):
    result = run_check(exercise_id, fn)
    assert result.status == FAILED, f"{exercise_id} accepted the planted bug {name!r}"
    assert word in result.message, result.message


@pytest.mark.parametrize("exercise_id", sorted(SOLUTIONS))
def test_every_check_has_at_least_three_mutants(exercise_id):
    assert sum(1 for b in BUGS if b[0] == exercise_id) >= 3


def result_message_has(exercise_id, answer, word):
    result = run_check(exercise_id, answer)
    return result.status == FAILED and word in result.message


def test_every_planted_bug_names_its_own_mistake():
    assert all(word for *_, word in BUGS)
    # the readable first cases are not linear ramps, so these mistakes are told apart there
    assert result_message_has("conv.conv2d", CONV2D_BUGS["transposed kernel"][0], "x (N, C, H, W) = (1, 2, 3, 3)")
    assert result_message_has("conv.corr2d", CORR2D_BUGS["transposed kernel"][0], "x 3x3, k 2x2")
    assert result_message_has("conv.convolve2d", CONVOLVE2D_BUGS["transposed instead of flipped"][0], "x 3x3, k 2x2")


def test_requires_a_numpy_result_where_later_cells_use_numpy():
    message = run_check("conv.corr2d", CORR2D_BUGS["returns a torch tensor"][0]).message
    assert "x 3x3, k 2x2" in message


def test_learn_kernel_is_called_with_explicit_steps_and_lr():
    seen = []

    def spy(x, y, kernel_shape, steps=300, lr=0.3):
        seen.append((steps, lr))
        return learn_kernel(x, y, kernel_shape, steps, lr)

    assert run_check("conv.learn_kernel", spy).status == PASSED
    assert (0, 0.3) in seen and len({s for s, _ in seen}) > 2 and len({lr for _, lr in seen}) > 1


def test_failure_message_names_the_case():
    message = run_check("conv.conv2d", CONV2D_BUGS["bias missing"][0]).message
    assert "x (N, C, H, W) = (1, 2, 3, 3)" in message and "expected" in message and "got" in message
