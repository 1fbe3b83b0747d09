"""Checks for chapter 00 (getting started): a filter slid along a sequence.

Notation: a sequence of n samples, a filter of F taps, n' = n - F + 1 outputs; a batch of N sequences.
References are ``torch.nn.functional.conv1d`` in float64, which computes cross-correlation
(no kernel flip), the operation deep-learning libraries call "convolution". The specs accept arrays, so
every case is also tried with the input in float32, of an integer dtype, as a non-contiguous view and
(2-D) in Fortran order (``array_variants``); the result must be a float array in every case.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .compare import array_variants, assert_array_matches, assert_equal, call, require_callable, require_float
from .core import implemented_by, register


def _reference_slide(x: np.ndarray, w: np.ndarray, bias: float = 0.0) -> np.ndarray:
    """x: (N, n), w: (F,) -> (N, n - F + 1), by torch."""
    out = F.conv1d(torch.from_numpy(np.array(x, dtype=np.float64))[:, None, :], torch.from_numpy(np.array(w, dtype=np.float64))[None, None, :],
                   bias=torch.tensor([bias], dtype=torch.float64))
    return out[:, 0, :].numpy()


def _cases(seed: int):
    """Sequences and filters of many sizes: F from 1 to 6, n from F (one output) to F + 14."""
    rng = np.random.default_rng(seed)
    yield np.array([1.0, 2.0, 4.0, 8.0, 16.0]), np.array([-1.0, 0.0, 1.0])  # the worked example
    yield np.array([0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0]), np.array([1.0, 2.0, 3.0])  # asymmetric kernel
    yield np.array([0, 3, 9, 4, 1, 7]), np.array([0.5, -1.0, 0.25])  # integer samples, like raw pixels
    for taps in range(1, 7):
        for extra in (0, 1, 5, 14):
            yield rng.normal(size=taps + extra), rng.normal(size=taps)


def _variants(x: np.ndarray):
    """``(label for the case name, x)`` for every dtype and layout of ``array_variants`` that differs from x.

    The first case keeps x as it is (it may hold integers already); a 1-D array in Fortran order is the
    same array, so it is left out."""
    yield "", x
    for label, variant in array_variants(x)[1:]:
        if not (label == "Fortran order" and x.ndim == 1):
            yield f" ({label} x)", variant


def _describe(x: np.ndarray, w: np.ndarray) -> str:
    """Short inputs are shown in full so the student can redo the case by hand."""
    if len(x) <= 8:
        return f"x = {np.round(x, 2).tolist()}, w = {np.round(w, 2).tolist()}"
    return f"x of length {len(x)}, w = {np.round(w, 2).tolist()}"


implemented_by("warmup.n_outputs", "utils.shapes.conv_output_size")


@register("warmup.n_outputs")
def check_n_outputs(answer) -> str:
    fn = require_callable(answer, "n_outputs(n, k)")
    count = 0
    # the worked example first: an answer written for some cases only has returned a value before it stops
    cases = [(5, 3)] + [(n, k) for n in range(1, 30) for k in range(1, n + 1)]
    for n, k in cases:
        case = f"n={n}, k={k}"
        got = call(fn, n, k, case=case)
        hint = ("count the positions where all F = k taps land on the sequence: "
                "the first is 0, the last is n - F, so n' = n - F + 1.")
        assert_equal(got, n - k + 1, case=case, hint=hint, what="the number of outputs n'")
        count += 1
    return f"{count} cases"


implemented_by("warmup.slide", "utils.checks.ch00_getting_started._reference_slide",
               "utils.layers.convolution.conv_forward_naive", "utils.layers.convolution.conv_forward_fast",
               "utils.layers.convolution.im2col")


@register("warmup.slide")
def check_slide(answer) -> str:
    fn = require_callable(answer, "slide_filter(x, w)")
    count = 0
    for base, w in _cases(seed=0):
        for label, x in _variants(base):
            case = _describe(x, w) + label
            w_given = dict(array_variants(w, integer=False, float32=False))["non-contiguous"] if "non-contiguous" in label else w
            got = call(fn, x, w_given, case=case)
            require_float(got, case=case)
            expected = _reference_slide(x[None], w)[0]
            mistakes = {}
            if len(w) > 1 and not np.allclose(w, w[::-1]):
                mistakes["your output equals the sliding filter with the kernel flipped. Deep-learning "
                          "'convolution' does not flip: y[i] = sum_j w[j] * x[i + j]."] = _reference_slide(x[None], w[::-1])[0]
            if len(x) > len(w):
                mistakes["your output lacks the last position. The last window starts at i = n - F, "
                          "so range(n - F + 1) covers them all."] = expected[:-1]
            assert_array_matches(got, expected, case=case, known_mistakes=mistakes,
                                 hint="y[i] = sum_j w[j] * x[i + j] for i = 0 .. n - F, with F = len(w).")
            count += 1
    return f"{count} cases"


implemented_by("warmup.layer", builds_on=("warmup.slide",))


@register("warmup.layer")
def check_layer(answer) -> str:
    fn = require_callable(answer, "conv1d_layer(x, w, b, f)")
    rng = np.random.default_rng(1)
    activations = {"relu": lambda z: np.maximum(z, 0.0), "tanh": np.tanh, "identity": lambda z: z}
    count = 0
    for batch, n, taps in [(1, 5, 3), (2, 7, 3), (3, 9, 2), (4, 6, 6), (5, 12, 4), (2, 10, 1)]:
        for name, f in activations.items():
            base = rng.normal(size=(batch, n))
            w = rng.normal(size=taps)
            b = float(rng.normal())
            for label, x in _variants(base):
                case = f"x of shape (N, n) = {(batch, n)}{label}, w = {np.round(w, 2).tolist()}, b = {b:.2f}, f = {name}"
                got = call(fn, x, w, b, f, case=case)
                require_float(got, case=case)
                pre = _reference_slide(x, w, bias=b)
                mistakes = {
                    "your output equals the layer with the kernel flipped: slide w as it is, "
                    "y[s, i] = f(b + sum_j w[j] * x[s, i + j]).": f(_reference_slide(x, w[::-1].copy(), bias=b)),
                    "the bias is missing: add b inside f, once per output.": f(_reference_slide(x, w)),
                    "apply f to the weighted sum plus bias, not to the inputs before summing.": _reference_slide(f(x), w, bias=b),
                    "the bias belongs inside f: y = f(sum + b), not f(sum) + b.": f(_reference_slide(x, w)) + b,
                }
                if batch > 1:
                    mistakes["every sequence of the batch must use its own samples: row s of y "
                             "comes from row s of x only."] = np.broadcast_to(f(pre[:1]), pre.shape)
                assert_array_matches(got, f(pre), case=case, known_mistakes=mistakes,
                                     hint="y[s, i] = f(b + sum_j w[j] * x[s, i + j]) for every sequence s; "
                                     "y has shape (N, n - F + 1).")
                count += 1
    return f"{count} cases"
