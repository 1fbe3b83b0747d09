"""Checks for chapter 05 (1x1 convolutions and Network in Network).

References are independent of the answers: PyTorch in float64 (``F.conv2d`` with 1x1 kernels, with a stride for
the shortcut, ``F.unfold`` with a 1x1 window for the pixel rows), layers built on PyTorch's ``meta`` device for
parameter counts and output shapes, and a stack of 1x1 convolutions probed with unit vectors for the collapsed
linear map. Array inputs are tried in each variant of ``array_variants`` (float32, integer, non-contiguous,
Fortran order), the reference recomputed from each.

Notation as in the workbook: x (N, C, H, W), a 1x1 layer's weight matrix w (K, C), bias b (K,), y (N, K, H', W'),
stride S, filter size F (F_h x F_w).

The ``@reference`` functions at the end are the workbook's own answers, which demonstrations use while the
student's answer is missing or does not pass its check.
"""

from __future__ import annotations

import numbers

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from utils.nets.nin import nin_block as _nin_block_reference

from .compare import (array_variants, assert_array_matches, assert_equal, call, require_callable, require_float,
                      to_array)
from .core import CheckFailed, implemented_by, reference, register
from .modules import is_module, layers, parameter_shapes, run_module, type_name


def _t(a) -> torch.Tensor:
    return torch.from_numpy(np.array(a, dtype=np.float64))


def _torch_1x1(x, w, b, stride=1):
    """The 1x1 layer by PyTorch: the (K, C) matrix as K filters of shape (C, 1, 1)."""
    return F.conv2d(_t(x), _t(w)[:, :, None, None], _t(b), stride=stride).numpy()


def _variant_hint(label: str, hint: str) -> str:
    if label == "integer":
        return ("this input holds integers: convert it first (np.asarray(x, dtype=float)), so the result is a "
                "float array. " + hint)
    if label in ("non-contiguous", "Fortran order"):
        return (f"the same case passed on a C-ordered array; this input is {label}: use x.shape and axes "
                "(einsum, transpose, reshape), never strides computed by hand. " + hint)
    return hint


# --------------------------------------------------------------------------------------------- 1x1 layer
def _layer_configs():
    """(x shape, K): square weight matrices (K == C) first, so that a transposed matrix gives wrong numbers
    instead of a crash; W == K so that a bias broadcast along W shows up; then non-square, batches, C != K."""
    yield (1, 2, 3, 2), 2          # K == C == W, H != W
    yield (1, 3, 4, 3), 3          # K == C == W: b broadcast along W is a bias per column position
    yield (2, 4, 3, 4), 4
    yield (3, 5, 2, 4), 4          # the seed's example: 5 channels, 4 filters
    yield (2, 3, 5, 2), 2          # K == W
    yield (1, 1, 3, 5), 3          # one input channel
    yield (2, 6, 4, 7), 1          # one filter
    yield (4, 3, 6, 5), 7
    yield (2, 8, 3, 3), 5
    yield (3, 2, 7, 9), 6


def _layer_cases():
    rng = np.random.default_rng(50)
    cases = []
    for shape, k in _layer_configs():
        cases.append((rng.normal(size=shape), rng.normal(size=(k, shape[1])), rng.normal(size=k)))
    for x, w, b in cases:
        yield "float64", x, w, b
    for x, w, b in cases:
        for label, variant in array_variants(x)[1:]:
            yield label, variant, w, b


def _layer_mistakes(x, w, b, expected):
    xf = np.asarray(x, dtype=float)
    m = {}
    if w.shape[0] == w.shape[1]:
        m["w[k, c] is the weight from input channel c to output channel k (row k belongs to filter k); you used "
          "w[c, k], the transposed matrix."] = _torch_1x1(xf, w.T, b)
    if xf.shape[3] == w.shape[0]:
        m["a bias per position: b broadcasts against the last axis (W), so column j got b[j]. Add b[k] to every "
          "position of output channel k: b[:, None, None]."] = _torch_1x1(xf, w, 0 * b) + b
    m["the bias is missing: add b[k] to every position of output channel k."] = _torch_1x1(xf, w, 0 * b)
    m["the bias is added once per input channel: add b[k] once to each output."] = \
        _torch_1x1(xf, w, 0 * b) + xf.shape[1] * b[:, None, None]
    m["return (N, K, H, W), channels first: your result is channels-last (N, H, W, K)."] = \
        expected.transpose(0, 2, 3, 1)
    N, C, H, W = xf.shape
    m["channels mixed with positions: x.reshape(-1, C) is not one row per pixel; move the channels last first, "
      "x.transpose(0, 2, 3, 1).reshape(-1, C)."] = \
        (xf.reshape(-1, C) @ w.T + b).reshape(N, H, W, -1).transpose(0, 3, 1, 2)
    return m


implemented_by("onebyone.conv1x1", "utils.checks.ch05_one_by_one_convolutions._torch_1x1",
               "utils.layers.convolution.conv_forward_naive", "utils.layers.convolution.conv_forward_fast",
               "utils.layers.convolution.im2col")


@register("onebyone.conv1x1")
def check_conv1x1(answer) -> str:
    fn = require_callable(answer, "conv1x1(x, w, b)")
    count = 0
    for label, x, w, b in _layer_cases():
        case = f"x {x.shape} ({label}), w {w.shape}, b {b.shape}"
        got = call(fn, x, w, b, case=case)
        require_float(got, case=case)
        expected = _torch_1x1(x, w, b)
        assert_array_matches(got, expected, case=case, known_mistakes=_layer_mistakes(x, w, b, expected),
                             hint=_variant_hint(label, "y[n, k, i, j] = b[k] + sum_c w[k, c] * x[n, c, i, j], "
                                                       "e.g. np.einsum('kc,nchw->nkhw', w, x) + b[:, None, None]."))
        count += 1
    return f"{count} cases, every dtype and memory layout of x"


# --------------------------------------------------------------------------------------------- pixel rows
def _unfold_rows(x):
    """Row (n*H + i)*W + j is the C-vector of pixel (i, j) of image n: F.unfold with a 1x1 window."""
    cols = F.unfold(_t(x), 1)                      # (N, C, H*W)
    return cols.permute(0, 2, 1).reshape(-1, cols.shape[1]).numpy()


implemented_by("onebyone.pixel_rows", "utils.checks.ch05_one_by_one_convolutions._unfold_rows",
               "utils.layers.convolution.im2col")


@register("onebyone.pixel_rows")
def check_pixel_rows(answer) -> str:
    fn = require_callable(answer, "pixel_rows(x)")
    rng = np.random.default_rng(51)
    shapes = [(1, 2, 2, 3), (1, 3, 3, 2), (2, 2, 2, 2), (2, 3, 4, 5), (3, 4, 2, 6), (1, 5, 3, 3), (2, 1, 4, 3),
              (4, 6, 5, 2)]
    count = 0
    for shape in shapes:
        base = rng.normal(size=shape) if count else np.arange(float(np.prod(shape))).reshape(shape)
        for label, x in array_variants(base):
            case = f"x {x.shape} ({label})"
            got = call(fn, x, case=case)
            expected = _unfold_rows(x)
            N, C, H, W = x.shape
            xf = np.asarray(x, dtype=float)
            mistakes = {
                "channels mixed with positions: x.reshape(-1, C) takes C consecutive numbers of one channel's "
                "row, not the C channels of one pixel. Move the channel axis last first: "
                "x.transpose(0, 2, 3, 1).reshape(-1, C).": xf.reshape(-1, C),
                "the rows are in (n, j, i) order: pixel (i, j) of image n goes to row (n*H + i)*W + j, so the "
                "axes must be (N, H, W, C) before the reshape: transpose(0, 2, 3, 1).":
                    xf.transpose(0, 3, 2, 1).reshape(-1, C),
                "images are mixed up: keep the batch axis first, x.transpose(0, 2, 3, 1), so that the rows of "
                "image 0 come first.": xf.transpose(2, 3, 0, 1).reshape(-1, C),
                "that is the transpose: one row per pixel (N*H*W rows), one column per channel.": expected.T,
            }
            assert_array_matches(got, expected, case=case, known_mistakes=mistakes,
                                 hint="rows[(n*H + i)*W + j] = x[n, :, i, j]; shape (N*H*W, C).")
            count += 1
    return f"{count} cases, every dtype and memory layout"


# --------------------------------------------------------------------------------------------- dense per pixel
def _linear(c, k, seed):
    generator = torch.Generator().manual_seed(seed)
    layer = nn.Linear(c, k).double()
    with torch.no_grad():
        layer.weight.copy_(torch.randn(k, c, generator=generator, dtype=torch.float64))
        layer.bias.copy_(torch.randn(k, generator=generator, dtype=torch.float64))
    return layer


def _tensor_variants(x: torch.Tensor):
    """x as a contiguous tensor and in two non-contiguous layouts. Both are dense, so the copy the answer gets
    keeps their strides (a copy of a strided slice would arrive contiguous)."""
    yield "contiguous", x
    yield "non-contiguous (a permuted view)", x.permute(0, 1, 3, 2).contiguous().permute(0, 1, 3, 2)
    yield "non-contiguous (channels-last memory)", x.contiguous(memory_format=torch.channels_last)


implemented_by("onebyone.dense_per_pixel", "utils.checks.ch05_one_by_one_convolutions._torch_1x1")


@register("onebyone.dense_per_pixel")
def check_dense_per_pixel(answer) -> str:
    fn = require_callable(answer, "dense_per_pixel(x, linear)")
    rng = np.random.default_rng(52)
    count = 0
    for index, (shape, k) in enumerate(_layer_configs()):
        linear = _linear(shape[1], k, 520 + index)
        x0 = torch.from_numpy(rng.normal(size=shape))
        for label, x in _tensor_variants(x0):
            case = f"x of shape {tuple(x.shape)} ({label}), linear = nn.Linear({shape[1]}, {k})"
            w, b = linear.weight.detach().numpy().copy(), linear.bias.detach().numpy().copy()
            try:
                got = call(fn, x, linear, case=case)
            except CheckFailed as failure:
                if "view size is not compatible" not in str(failure):
                    raise
                raise CheckFailed(f"{failure}\n  hint: this x is not contiguous in memory: use .reshape (which "
                                  "copies when it must), not .view.") from None
            if not isinstance(got, torch.Tensor):
                raise CheckFailed(f"failed on case {case}:\n  expected a torch tensor, got {type(got).__name__}.\n"
                                  "  hint: keep x a tensor and return linear(...) reshaped and permuted.")
            if not (np.array_equal(linear.weight.detach().numpy(), w) and np.array_equal(linear.bias.detach().numpy(), b)):
                raise CheckFailed(f"failed on case {case}:\n  your code changed linear's weight or bias in place.\n"
                                  "  hint: use the layer as it is given, linear(rows); never write into its parameters.")
            xf = x0.numpy()
            expected = _torch_1x1(xf, w, b)
            N, C, H, W = shape
            rows = xf.transpose(0, 2, 3, 1).reshape(-1, C)
            mixed_in = xf.reshape(-1, C) @ w.T + b
            mistakes = {
                "channels mixed with positions on the way back: (N*H*W, K) rows reshape to (N, H, W, K); then "
                "move the channels forward with .permute(0, 3, 1, 2).": (rows @ w.T + b).reshape(N, K := k, H, W),
                "channels mixed with positions on the way in: x.reshape(-1, C) is not one row per pixel; "
                "permute to (N, H, W, C) first.": mixed_in.reshape(N, H, W, k).transpose(0, 3, 1, 2),
                "return (N, K, H, W): your result is channels-last (N, H, W, K); .permute(0, 3, 1, 2).":
                    expected.transpose(0, 2, 3, 1),
            }
            if k == C:
                mistakes["linear.weight has shape (K, C): the layer computes rows @ weight.T + bias; you used the "
                         "weight matrix untransposed."] = (rows @ w + b).reshape(N, H, W, k).transpose(0, 3, 1, 2)
            hint = ("rows = x.permute(0, 2, 3, 1).reshape(-1, C); linear(rows).reshape(N, H, W, K)"
                    ".permute(0, 3, 1, 2).")
            if label.startswith("non-contiguous"):
                hint = "this x is not contiguous in memory: use .reshape (which copies when it must), not .view. " + hint
            assert_array_matches(got.detach(), expected, case=case, known_mistakes=mistakes, hint=hint)
            count += 1
    return f"{count} cases, contiguous and non-contiguous inputs"


# --------------------------------------------------------------------------------------------- collapse
def _stack_1x1(x, weights, biases):
    y = _t(x)
    for w, b in zip(weights, biases):
        y = F.conv2d(y, _t(w)[:, :, None, None], _t(b))
    return y.numpy()


def _probe_collapse(weights, biases):
    """The affine map of a stack of 1x1 layers, read off by running it: b = stack(0), column c = stack(e_c) - b."""
    c0 = np.asarray(weights[0]).shape[1]
    probes = np.concatenate([np.zeros((1, c0)), np.eye(c0)])[:, :, None, None]     # (1 + C, C, 1, 1)
    out = _stack_1x1(probes, weights, biases)[:, :, 0, 0]                            # (1 + C, K)
    return out[1:].T - out[0][:, None], out[0]


def _collapse_cases():
    rng = np.random.default_rng(53)
    chains = [[(2, 2)], [(2, 2), (2, 2)], [(3, 3), (3, 3), (3, 3)], [(4, 3)], [(4, 3), (2, 4)],
              [(5, 6), (5, 5), (3, 5)], [(8, 4), (8, 8), (2, 8), (6, 2)], [(3, 3), (3, 3)], [(1, 4), (4, 1)]]
    cases = []
    for chain in chains:
        weights = [rng.normal(size=s) for s in chain]
        biases = [rng.normal(size=s[0]) for s in chain]
        cases.append((weights, biases))
    for weights, biases in cases:
        yield "float64", weights, biases
    for weights, biases in cases[1:]:
        for index, label in enumerate(("float32", "integer", "non-contiguous", "Fortran order"), start=1):
            yield label, [array_variants(w)[index][1] for w in weights], [array_variants(b)[index][1] for b in biases]


implemented_by("onebyone.collapse", "utils.checks.ch05_one_by_one_convolutions._probe_collapse")


@register("onebyone.collapse")
def check_collapse(answer) -> str:
    fn = require_callable(answer, "collapse(weights, biases)")
    count = 0
    rng = np.random.default_rng(54)
    for label, weights, biases in _collapse_cases():
        shapes = " -> ".join(f"{np.shape(w)}" for w in weights)
        case = f"{len(weights)} layer(s) with weights {shapes} ({label})"
        got = call(fn, weights, biases, case=case)
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            raise CheckFailed(f"failed on case {case}:\n  expected a pair (w, b), got {type(got).__name__}.\n"
                              "  hint: return w_total, b_total.")
        require_float(got[0], case=case, what="the matrix w")
        require_float(got[1], case=case, what="the bias b")
        w_exp, b_exp = _probe_collapse(weights, biases)
        wf = [np.asarray(w, dtype=float) for w in weights]
        bf = [np.asarray(b, dtype=float) for b in biases]
        reversed_w = None
        if all(w.shape[0] == w.shape[1] for w in wf):
            reversed_w = wf[0].copy()
            for w in wf[1:]:
                reversed_w = reversed_w @ w
        assert_array_matches(got[0], w_exp, case=case, what="the matrix", known_mistakes={
            "the first layer acts first, so its matrix stands on the right: w = w_L @ ... @ w_2 @ w_1.": reversed_w,
            "w[k, c] maps channel c to channel k: the collapsed matrix has shape (K_last, C_first), not its "
            "transpose.": w_exp.T},
            hint="y = w_L(...(w_2(w_1 x + b_1) + b_2)...) + b_L: multiply out the matrices, last layer on the left.")
        last_only = bf[-1]
        summed = sum(bf) if all(b.shape == bf[-1].shape for b in bf) else None
        assert_array_matches(got[1], b_exp, case=case, what="the bias", known_mistakes={
            "every later layer multiplies an earlier bias: b = w_L(...(w_2 b_1 + b_2)...) + b_L.": summed,
            "the earlier biases are missing: they pass through every later layer, b = w_L(...(w_2 b_1 + b_2)...) "
            "+ b_L.": last_only},
            hint="run the stack on x = 0: what comes out is the collapsed bias.")
        # and the collapsed layer really is the stack, on images
        x = rng.normal(size=(2, wf[0].shape[1], 3, 4))
        assert_array_matches(_torch_1x1(x, to_array(got[0], case=case), to_array(got[1], case=case)),
                             _stack_1x1(x, weights, biases), case=case + ", applied to images (2, C, 3, 4)")
        count += 1
    return f"{count} stacks, every dtype and memory layout"


# --------------------------------------------------------------------------------------------- costs
def _pair(v):
    return (int(v[0]), int(v[1])) if isinstance(v, (tuple, list)) else (int(v), int(v))


def _meta_cost(h, w, layers):
    """(multiplies, parameters) of a stack of stride-1, same-padded convolutions [(c_in, c_out, (F_h, F_w))],
    counted from layers built on the meta device: one multiply per weight per output position."""
    multiplies = parameters = 0
    with torch.device("meta"):
        y = torch.empty(1, layers[0][0], h, w)
        for c_in, c_out, (fh, fw) in layers:
            conv = nn.Conv2d(c_in, c_out, (fh, fw), padding=(fh // 2, fw // 2))
            y = conv(y)
            multiplies += y.numel() * c_in * fh * fw
            parameters += sum(p.numel() for p in conv.parameters())
    return int(multiplies), int(parameters)


def _check_counts(got, expected, case, hints):
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        raise CheckFailed(f"failed on case {case}:\n  expected a pair (multiplies, parameters), got {got!r}")
    for index, (name, g, e) in enumerate(zip(("multiplies", "parameters"), got, expected)):
        value = g.item() if hasattr(g, "item") and getattr(g, "ndim", None) == 0 else g
        hint = ""
        if isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value):
            if value == e:
                if not isinstance(value, numbers.Integral):
                    hint = ("the value is right but it is a float: counts are whole numbers, so compute them with "
                            "ints only (no /, float() or np.prod of floats).")
            elif value == expected[1 - index]:
                hint = "the pair is (multiplies, parameters), in that order."
            elif float(value).is_integer():
                hint = hints[index].get(int(value), "")
        assert_equal(g, e, case=case, what=f"the number of {name}", hint=hint or hints[index]["formula"])


COST_CASES = [(28, 28, 192, 32, 5), (28, 28, 192, 16, 1), (20, 20, 192, 192, 1), (6, 6, 5, 4, 1), (6, 6, 32, 32, 1),
              (7, 9, 3, 8, 3), (14, 10, 16, 24, (3, 1)), (5, 12, 7, 2, (1, 5)), (1, 1, 4, 6, 1), (56, 56, 64, 64, 3),
              (9, 4, 2, 3, (5, 3))]


implemented_by("onebyone.conv_cost", "utils.checks.ch05_one_by_one_convolutions._meta_cost")


@register("onebyone.conv_cost")
def check_conv_cost(answer) -> str:
    fn = require_callable(answer, "conv_cost(h, w, c_in, c_out, kernel)")
    for h, w, c_in, c_out, kernel in COST_CASES:
        case = f"h={h}, w={w}, c_in={c_in}, c_out={c_out}, kernel={kernel}"
        got = call(fn, h, w, c_in, c_out, kernel, case=case)
        fh, fw = _pair(kernel)
        expected = _meta_cost(h, w, [(c_in, c_out, (fh, fw))])
        per_position = c_out * c_in * fh * fw
        hints = ({"formula": "one multiply per weight per output position: H' * W' * K * C * F_h * F_w (same "
                             "padding, stride 1: H' = H, W' = W).",
                  c_out * fh * fw * h * w: "every filter spans all C input channels: multiply by C too.",
                  per_position: "that is the count for one position: multiply by the H * W output positions.",
                  per_position * h * w + c_out * h * w: "count multiplications only; the bias is an addition.",
                  2 * per_position * h * w: "that is twice the count: count the multiplications only (a multiply-add "
                                            "is one multiply; FLOP counts that add the additions double it).",
                  **({(h - fh + 1) * (w - fw + 1) * per_position: "same padding keeps the output h x w: there are h * w "
                                                                  "output positions, not (h - F_h + 1)(w - F_w + 1)."}
                     if (fh, fw) != (1, 1) else {})},
                 {"formula": "K * C * F_h * F_w weights + K biases, independent of H and W.",
                  per_position: "add the K biases, one per filter.",
                  per_position * h * w + c_out: "the weights are shared by all positions: the count does not "
                                                "depend on H and W.",
                  c_out * fh * fw + c_out: "each filter has C * F_h * F_w weights: it spans every input channel."})
        _check_counts(got, expected, case, hints)
    return f"{len(COST_CASES)} layers"


BOTTLENECK_CASES = [(28, 28, 192, 16, 32, 5), (28, 28, 192, 64, 32, 5), (20, 20, 192, 32, 192, 3),
                    (7, 9, 12, 4, 8, 3), (14, 10, 16, 16, 24, (3, 1)), (5, 12, 64, 8, 2, (1, 5)), (1, 1, 4, 2, 6, 1),
                    (56, 56, 256, 64, 64, 3), (9, 4, 6, 3, 5, (5, 3))]


implemented_by("onebyone.bottleneck_cost", builds_on=("onebyone.conv_cost",))


@register("onebyone.bottleneck_cost")
def check_bottleneck_cost(answer) -> str:
    fn = require_callable(answer, "bottleneck_cost(h, w, c_in, c_mid, c_out, kernel)")
    for h, w, c_in, c_mid, c_out, kernel in BOTTLENECK_CASES:
        case = f"h={h}, w={w}, c_in={c_in}, c_mid={c_mid}, c_out={c_out}, kernel={kernel}"
        got = call(fn, h, w, c_in, c_mid, c_out, kernel, case=case)
        fh, fw = _pair(kernel)
        expected = _meta_cost(h, w, [(c_in, c_mid, (1, 1)), (c_mid, c_out, (fh, fw))])
        squeeze = _meta_cost(h, w, [(c_in, c_mid, (1, 1))])
        spatial = _meta_cost(h, w, [(c_mid, c_out, (fh, fw))])
        wrong_in = [a + b for a, b in zip(squeeze, _meta_cost(h, w, [(c_in, c_out, (fh, fw))]))]
        direct = _meta_cost(h, w, [(c_in, c_out, (fh, fw))])
        swapped = _meta_cost(h, w, [(c_in, c_mid, (fh, fw)), (c_mid, c_out, (1, 1))])
        hints = tuple(
            {"formula": ("1x1 layer c_in -> c_mid, then the F_h x F_w layer c_mid -> c_out; add the two counts "
                         "(conv_cost of each)."),
             spatial[i]: "add the cost of the 1x1 layer (c_in -> c_mid) too: it is not free.",
             squeeze[i]: "add the cost of the F_h x F_w layer (c_mid -> c_out).",
             wrong_in[i]: "the F_h x F_w layer reads the c_mid channels of the bottleneck, not the c_in of the input.",
             direct[i]: "that is the direct layer c_in -> c_out without the bottleneck.",
             **({swapped[i]: "the 1x1 layer comes first (c_in -> c_mid), then the F_h x F_w layer (c_mid -> c_out)."}
                if (fh, fw) != (1, 1) else {})}
            for i in range(2))
        _check_counts(got, expected, case, hints)
    return f"{len(BOTTLENECK_CASES)} bottlenecks"


# --------------------------------------------------------------------------------------------- shortcut
def _shortcut_cases():
    """(x shape, K, S): channels change only (S = 1), channels and resolution (S = 2, odd sizes too), S = 3."""
    rng = np.random.default_rng(55)
    configs = [((1, 2, 4, 4), 3, 1), ((1, 2, 4, 6), 4, 2), ((2, 3, 5, 7), 6, 2), ((2, 4, 6, 6), 4, 2),
               ((3, 2, 8, 5), 5, 1), ((2, 3, 9, 7), 4, 3), ((1, 4, 7, 4), 8, 2), ((2, 6, 6, 9), 3, 3),
               ((4, 8, 4, 4), 16, 2), ((2, 3, 7, 5), 3, 2), ((1, 4, 5, 8), 4, 1)]
    cases = [(rng.normal(size=shape), rng.normal(size=(k, shape[1])), rng.normal(size=k), s)
             for shape, k, s in configs]
    for x, w, b, s in cases:
        yield "float64", x, w, b, s
    for x, w, b, s in cases:
        for label, variant in array_variants(x)[1:]:
            yield label, variant, w, b, s


implemented_by("onebyone.shortcut", builds_on=("onebyone.conv1x1",))


@register("onebyone.shortcut")
def check_shortcut(answer) -> str:
    fn = require_callable(answer, "shortcut(x, w, b, stride)")
    count = 0
    for label, x, w, b, s in _shortcut_cases():
        case = f"x {x.shape} ({label}), w {w.shape}, stride={s}"
        got = call(fn, x, w, b, s, case=case)
        require_float(got, case=case)
        expected = _torch_1x1(x, w, b, s)
        # the main path it must match: a 3x3 convolution with padding 1 and the same stride
        main_shape = F.conv2d(torch.zeros(x.shape), torch.zeros(w.shape[0], x.shape[1], 3, 3), stride=s,
                              padding=1).shape
        assert tuple(main_shape) == expected.shape
        xf = np.asarray(x, dtype=float)
        mistakes = {}
        if s == 1:
            mistakes["stride=1 here: the main path keeps H and W, so the shortcut must not subsample (you applied "
                     "a stride of 2 anyway)."] = _torch_1x1(xf, w, b, 2)
        else:
            mistakes["the stride is missing: the shortcut must subsample like the main path, keeping rows and "
                     "columns 0, S, 2S, ..."] = _torch_1x1(xf, w, b, 1)
            mistakes["start at row and column 0: a 1x1 window with stride S reads x[:, :, ::S, ::S], not "
                     "x[:, :, S-1::S, S-1::S]."] = _torch_1x1(xf[:, :, s - 1::s, s - 1::s], w, b)
            mistakes["a 1x1 convolution with stride S reads one pixel every S, it does not average S x S blocks."] = \
                _torch_1x1(F.avg_pool2d(_t(xf), s, ceil_mode=True, count_include_pad=False).numpy(), w, b)
            cropped = expected[:, :, :xf.shape[2] // s, :xf.shape[3] // s]
            if cropped.shape != expected.shape and cropped.size:
                mistakes["for a size not divisible by S the main path has (H - 1)//S + 1 rows, one more than H//S: "
                         "keep every row x[:, :, ::S] gives."] = cropped
        if w.shape[0] == w.shape[1]:
            mistakes["w[k, c] maps input channel c to output channel k; you used the transposed matrix."] = \
                _torch_1x1(xf, w.T, b, s)
        mistakes["the bias is missing: add b[k] to every position of output channel k."] = _torch_1x1(xf, w, 0 * b, s)
        assert_array_matches(got, expected, case=case, known_mistakes=mistakes,
                             hint=_variant_hint(label, "y[n, k, i, j] = b[k] + sum_c w[k, c] * x[n, c, i*S, j*S]: "
                                                       "subsample x[:, :, ::S, ::S], then the 1x1 layer; shape "
                                                       "(N, K, (H - 1)//S + 1, (W - 1)//S + 1)."))
        count += 1
    return f"{count} cases, every dtype and memory layout of x"


# --------------------------------------------------------------------------------------------- NiN block
NIN_CONFIGS = [  # (C, K, kernel_size, stride, padding, x shape)
    (1, 4, 3, 1, 1, (2, 1, 6, 5)),
    (3, 5, 3, 1, 0, (2, 3, 7, 9)),
    (2, 6, 5, 2, 2, (3, 2, 9, 8)),
    (4, 3, 3, 2, 1, (2, 4, 8, 11)),
    (3, 8, 1, 1, 0, (1, 3, 4, 6)),
    (2, 4, 4, 3, 1, (2, 2, 12, 10)),
    (1, 16, 11, 4, 0, (1, 1, 35, 31)),      # AlexNet's first layer, scaled down
]


def _nin_params(c, k, f):
    return k * c * f * f + k + 2 * (k * k + k)


def _nin_with(block, x, relus=(True, True, True), one_by_one_stride=1, one_by_one_padding=0):
    """The reference block's computation with its own weights, changed as a known mistake would change it."""
    convs = [block[0], block[2], block[4]]
    y = x
    for index, (conv, relu) in enumerate(zip(convs, relus)):
        stride, padding = (conv.stride, conv.padding) if index == 0 else (one_by_one_stride, one_by_one_padding)
        y = F.conv2d(y, conv.weight, conv.bias, stride=stride, padding=padding)
        if relu:
            y = F.relu(y)
    return y.detach().numpy()


implemented_by("onebyone.nin_block", "utils.nets.nin.SmallNiN",
               "utils.checks.ch05_one_by_one_convolutions._nin_with")


@register("onebyone.nin_block")
def check_nin_block(answer) -> str:
    fn = require_callable(answer, "nin_block(in_channels, out_channels, kernel_size, stride, padding)")
    generator = torch.Generator().manual_seed(56)
    count = 0
    for c, k, f, s, p, x_shape in NIN_CONFIGS:
        case = f"nin_block({c}, {k}, kernel_size={f}, stride={s}, padding={p})"
        block = call(fn, c, k, f, s, p, case=case)
        if not is_module(block):
            raise CheckFailed(f"failed on case {case}:\n  expected a torch nn.Module, got {type_name(block)}.\n"
                              "  hint: return nn.Sequential(conv, ReLU, 1x1 conv, ReLU, 1x1 conv, ReLU).")
        expected_shapes = [(k, c, f, f), (k,), (k, k, 1, 1), (k,), (k, k, 1, 1), (k,)]
        got_shapes = [shape for _, shape in parameter_shapes(block)]
        n_got, n_expected = sum(int(np.prod(q)) for q in got_shapes), _nin_params(c, k, f)
        if n_got != n_expected or got_shapes != expected_shapes:
            hint = "the parameters in order: the spatial convolution's weight and bias, then the two 1x1 layers'."
            if n_got == k * c * f * f + k + 2 * (k * k * f * f + k):
                hint = "the second and third convolutions are 1x1 (kernel_size=1), not F x F."
            elif n_got == k * c * f * f + 2 * k * k:
                hint = "every convolution has a bias (nn.Conv2d's default bias=True)."
            elif len(got_shapes) == 2:
                hint = "a NiN block has three convolutions: the spatial one and two 1x1 layers."
            elif not got_shapes:
                hint = ("your module has no parameters: layers kept in a plain Python list or dict are invisible to "
                        "nn.Module; use nn.Sequential (or nn.ModuleList, or one attribute per layer).")
            raise CheckFailed(f"failed on case {case}:\n  expected {n_expected:,} parameters with shapes "
                              f"{expected_shapes},\n  got {n_got:,} with shapes {got_shapes}\n  hint: {hint}")
        # only the spatial convolution strides and pads; a stride on a 1x1 layer after it computes the same
        # numbers (ReLU and 1x1 layers commute with subsampling) from S^2 times more work, so look at the layers
        convs = [layer["config"] for layer in layers(block) if layer["type"] == "Conv2d"]
        if len(convs) == 3:
            got_settings = [(tuple(m["stride"]), tuple(m["padding"])) for m in convs]
            expected_settings = [((s, s), (p, p)), ((1, 1), (0, 0)), ((1, 1), (0, 0))]
            if got_settings != expected_settings:
                if any(stride != (1, 1) for stride, _ in got_settings[1:]):
                    hint = ("only the spatial convolution has the stride; the 1x1 convolutions keep the size of its "
                            "output (stride 1). A stride there gives the same numbers only after computing the "
                            "spatial layer at positions nobody reads.")
                elif got_settings[1:] != expected_settings[1:]:
                    hint = ("only the spatial convolution is padded; a padded 1x1 convolution grows the map by a "
                            "border that holds nothing but its bias (padding=0 for the 1x1 layers).")
                elif got_settings[0] == ((p, p), (s, s)):
                    hint = ("stride and padding are swapped: nn.Conv2d's positional order is (in_channels, "
                            "out_channels, kernel_size, stride, padding); pass them by name to be safe.")
                else:
                    hint = ("the spatial convolution takes the stride and padding it is given: "
                            "nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding).")
                raise CheckFailed(f"failed on case {case}:\n  expected (stride, padding) of the three convolutions "
                                  f"{expected_settings},\n  got {got_settings}\n  hint: {hint}")
        # the same random weights in both, copied by parameter order (He-scaled: every ReLU has work to do)
        reference_block = _nin_block_reference(c, k, f, s, p).double()
        with torch.no_grad():
            for mine in reference_block.parameters():
                fan_in = mine[0].numel() if mine.ndim > 1 else 1
                mine.copy_(torch.randn(mine.shape, generator=generator, dtype=torch.float64) * (2 / fan_in) ** 0.5)
        weights = [q.detach().numpy() for q in reference_block.parameters()]
        for trial in range(2):
            x = torch.randn(*x_shape, generator=generator, dtype=torch.float64)
            trial_case = f"{case} on x of shape {x_shape}" + (" (a second input)" if trial else "")
            got = run_module(block, x.numpy(), parameters=weights, case=trial_case)
            expected = _nin_with(reference_block, x)
            mistakes = {
                "the last ReLU is missing: the block ends with a ReLU after the second 1x1 convolution.":
                    _nin_with(reference_block, x, relus=(True, True, False)),
                "a ReLU is missing after the first 1x1 convolution: without it the two 1x1 layers collapse into one.":
                    _nin_with(reference_block, x, relus=(True, False, True)),
                "a ReLU is missing after the spatial convolution.": _nin_with(reference_block, x, relus=(False, True, True)),
                "no ReLU at all: a NiN block is conv, ReLU, 1x1 conv, ReLU, 1x1 conv, ReLU.":
                    _nin_with(reference_block, x, relus=(False, False, False)),
            }
            if s > 1:
                mistakes["only the spatial convolution has the stride; the 1x1 convolutions keep the size of its "
                         "output (stride 1)."] = _nin_with(reference_block, x, one_by_one_stride=s)
            if p > 0:
                mistakes["only the spatial convolution is padded; a 1x1 convolution needs no padding to keep the "
                         "size."] = _nin_with(reference_block, x, one_by_one_padding=p)
            with torch.no_grad():
                ours = reference_block(x).numpy()
            assert np.allclose(ours, expected)
            assert_array_matches(got, expected, case=trial_case, known_mistakes=mistakes,
                                 hint="layers in this order: Conv2d(C, K, kernel_size, stride, padding), ReLU, "
                                      "Conv2d(K, K, 1), ReLU, Conv2d(K, K, 1), ReLU.")
            count += 1
    return f"{len(NIN_CONFIGS)} blocks: parameter shapes and counts, outputs with copied weights on {count} inputs"


# --------------------------------------------------------------------------------------------- references
# The workbook's own answers, for demonstrations while the student's answer is missing or wrong (never used by
# the checks above, whose expected values come from PyTorch).
@reference("onebyone.conv1x1")
def _conv1x1_reference(x, w, b):
    return np.einsum("kc,nchw->nkhw", w, np.asarray(x, dtype=float)) + np.asarray(b)[:, None, None]


@reference("onebyone.pixel_rows")
def _pixel_rows_reference(x):
    x = np.asarray(x)
    return x.transpose(0, 2, 3, 1).reshape(-1, x.shape[1])


@reference("onebyone.dense_per_pixel")
def _dense_per_pixel_reference(x, linear):
    N, C, H, W = x.shape
    rows = x.permute(0, 2, 3, 1).reshape(-1, C)
    return linear(rows).reshape(N, H, W, -1).permute(0, 3, 1, 2)


@reference("onebyone.collapse")
def _collapse_reference(weights, biases):
    w_total = np.eye(np.shape(weights[0])[1])
    b_total = np.zeros(np.shape(weights[0])[1])
    for w, b in zip(weights, biases):
        w_total, b_total = np.asarray(w, dtype=float) @ w_total, np.asarray(w, dtype=float) @ b_total + b
    return w_total, b_total


@reference("onebyone.conv_cost")
def _conv_cost_reference(h, w, c_in, c_out, kernel):
    fh, fw = _pair(kernel)
    return h * w * c_out * c_in * fh * fw, c_out * c_in * fh * fw + c_out


@reference("onebyone.bottleneck_cost")
def _bottleneck_cost_reference(h, w, c_in, c_mid, c_out, kernel):
    first, second = _conv_cost_reference(h, w, c_in, c_mid, 1), _conv_cost_reference(h, w, c_mid, c_out, kernel)
    return first[0] + second[0], first[1] + second[1]


@reference("onebyone.shortcut")
def _shortcut_reference(x, w, b, stride):
    return _conv1x1_reference(np.asarray(x, dtype=float)[:, :, ::stride, ::stride], w, b)


reference("onebyone.nin_block")(_nin_block_reference)
