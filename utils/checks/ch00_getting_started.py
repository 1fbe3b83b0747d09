"""Checks for chapter 00 (getting started): a filter slid along a sequence.

References are ``torch.nn.functional.conv1d`` in float64, which computes cross-correlation
(no kernel flip), the operation deep-learning libraries call "convolution".
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .compare import assert_array_matches, assert_equal, call, require_callable
from .core import register


def _reference_slide(x: np.ndarray, w: np.ndarray, bias: float = 0.0) -> np.ndarray:
    """x: (N, n), w: (k,) -> (N, n - k + 1), by torch."""
    out = F.conv1d(torch.from_numpy(np.array(x, dtype=np.float64))[:, None, :], torch.from_numpy(np.array(w, dtype=np.float64))[None, None, :],
                   bias=torch.tensor([bias], dtype=torch.float64))
    return out[:, 0, :].numpy()


def _cases(seed: int):
    """Sequences and filters of many sizes: k from 1 to 6, n from k (one output) to k + 14."""
    rng = np.random.default_rng(seed)
    yield np.array([1.0, 2.0, 4.0, 8.0, 16.0]), np.array([-1.0, 0.0, 1.0])  # the worked example
    yield np.array([0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0]), np.array([1.0, 2.0, 3.0])  # asymmetric kernel
    yield np.array([0, 3, 9, 4, 1, 7]), np.array([0.5, -1.0, 0.25])  # integer samples, like raw pixels
    for k in range(1, 7):
        for extra in (0, 1, 5, 14):
            yield rng.normal(size=k + extra), rng.normal(size=k)


def _describe(x: np.ndarray, w: np.ndarray) -> str:
    """Short inputs are shown in full so the student can redo the case by hand."""
    if len(x) <= 8:
        return f"x = {np.round(x, 2).tolist()}, w = {np.round(w, 2).tolist()}"
    return f"x of length {len(x)}, w = {np.round(w, 2).tolist()}"


@register("warmup.n_outputs")
def check_n_outputs(answer) -> str:
    fn = require_callable(answer, "n_outputs(n, k)")
    count = 0
    for n in range(1, 30):
        for k in range(1, n + 1):
            case = f"n={n}, k={k}"
            got = call(fn, n, k, case=case)
            hint = ("count the positions where all k taps land on the sequence: "
                    "the first is 0, the last is n - k.")
            assert_equal(got, n - k + 1, case=case, hint=hint, what="the number of outputs")
            count += 1
    return f"{count} cases"


@register("warmup.slide")
def check_slide(answer) -> str:
    fn = require_callable(answer, "slide_filter(x, w)")
    count = 0
    for x, w in _cases(seed=0):
        case = _describe(x, w)
        got = call(fn, x, w, case=case)
        expected = _reference_slide(x[None], w)[0]
        mistakes = {}
        if len(w) > 1 and not np.allclose(w, w[::-1]):
            mistakes["your output equals the sliding filter with the kernel flipped. Deep-learning "
                      "'convolution' does not flip: y[i] = sum_j w[j] * x[i + j]."] = _reference_slide(x[None], w[::-1])[0]
        if len(x) > len(w):
            mistakes["your output lacks the last position. The last window starts at i = n - k, "
                      "so range(n - k + 1) covers them all."] = expected[:-1]
        assert_array_matches(got, expected, case=case, known_mistakes=mistakes,
                             hint="y[i] = sum_j w[j] * x[i + j] for i = 0 .. n - k.")
        count += 1
    return f"{count} cases"


@register("warmup.layer")
def check_layer(answer) -> str:
    fn = require_callable(answer, "conv1d_layer(x, w, b, f)")
    rng = np.random.default_rng(1)
    activations = {"relu": lambda z: np.maximum(z, 0.0), "tanh": np.tanh, "identity": lambda z: z}
    count = 0
    for batch, n, k in [(1, 5, 3), (2, 7, 3), (3, 9, 2), (4, 6, 6), (5, 12, 4), (2, 10, 1)]:
        for name, f in activations.items():
            x = rng.normal(size=(batch, n))
            w = rng.normal(size=k)
            b = float(rng.normal())
            case = f"x of shape {(batch, n)}, w = {np.round(w, 2).tolist()}, b = {b:.2f}, f = {name}"
            got = call(fn, x, w, b, f, case=case)
            pre = _reference_slide(x, w, bias=b)
            mistakes = {
                "your output equals the layer with the kernel flipped: slide w as it is, "
                "y[s, i] = f(b + sum_j w[j] * x[s, i + j]).": f(_reference_slide(x, w[::-1].copy(), bias=b)),
                "the bias is missing: add b inside f, once per output.": f(_reference_slide(x, w)),
                "apply f to the weighted sum plus bias, not to the inputs before summing.": _reference_slide(f(x), w, bias=b),
                "the bias belongs inside f: y = f(sum + b), not f(sum) + b.": f(_reference_slide(x, w)) + b,
            }
            if batch > 1:
                mistakes["every sequence of the batch must use its own samples: row i of y "
                         "comes from row i of x only."] = np.broadcast_to(f(pre[:1]), pre.shape)
            assert_array_matches(got, f(pre), case=case, known_mistakes=mistakes,
                                 hint="y[s, i] = f(b + sum_j w[j] * x[s, i + j]) for every sequence s.")
            count += 1
    return f"{count} cases"
