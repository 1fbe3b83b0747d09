"""Checks for chapter 09 (LeNet, AlexNet, VGG).

A network's layout is plain data, one tuple per layer: ``("conv", K, F, S, P)``, ``("pool", F, S)``,
``("flatten",)``, ``("fc", units)`` (activations and dropout change no shape and hold no parameters).

References are independent of the answers: shapes, parameter counts and multiply-adds come from the PyTorch
layers themselves, built on the ``meta`` device (no memory, no arithmetic) and run on a ``meta`` tensor;
receptive fields from autograd, as the input pixels that one output unit of a 1-D stack of the same windows
depends on; VGG blocks and LeNet-5 from ``F.conv2d``/``F.max_pool2d``/``F.avg_pool2d`` in float64. A module
answer is inspected only through ``utils.checks.modules`` (parameter shapes, layer settings, output shapes,
a float64 run with the check's weights), so the verdict is the same in the notebook and under the grader's
judge. Notation: x (N, C, H, W), w (K, C, F, F), b (K,), stride S, padding P.

The ``@reference`` functions at the end are the workbook's own answers, for demonstrations.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import utils.nets.summary  # noqa: F401  (loaded, so that the names declared below resolve)
from utils.nets.alexnet import ALEXNET_LAYERS
from utils.nets.lenet import LENET5_LAYERS
from utils.nets.vgg import VGG11_LAYERS

from . import modules
from .compare import assert_array_matches, assert_equal, call, require_callable
from .core import CheckFailed, implemented_by, may_use, reference, register

# (case name, input shape (C, H, W), layout): small non-square stacks first, so a failure is easy to read
LAYOUTS = [
    ("a conv on a 2 x 9 x 13 input", (2, 9, 13), [("conv", 4, 3, 2, 1), ("pool", 2, 2), ("flatten",), ("fc", 5)]),
    ("a padded stride-3 conv on 3 x 17 x 10", (3, 17, 10),
     [("conv", 5, 5, 3, 2), ("pool", 3, 2), ("conv", 6, 1, 1, 0), ("flatten",), ("fc", 7), ("fc", 2)]),
    ("two convs on 1 x 12 x 7", (1, 12, 7), [("conv", 3, 3, 1, 0), ("conv", 2, 2, 2, 1), ("pool", 2, 1),
                                             ("flatten",), ("fc", 4)]),
    ("LeNet-5 on 1 x 28 x 28", (1, 28, 28), LENET5_LAYERS),
    ("LeNet-5 without padding on 1 x 32 x 32 (the 1998 paper)", (1, 32, 32),
     [("conv", 6, 5, 1, 0)] + LENET5_LAYERS[1:]),
    ("AlexNet on 3 x 227 x 227", (3, 227, 227), ALEXNET_LAYERS),
    ("AlexNet on 3 x 224 x 224", (3, 224, 224), ALEXNET_LAYERS),
    ("AlexNet with 384 filters in conv 5, on 3 x 227 x 227", (3, 227, 227),
     ALEXNET_LAYERS[:6] + [("conv", 384, 3, 1, 1)] + ALEXNET_LAYERS[7:]),
    ("VGG-11 on 3 x 224 x 224", (3, 224, 224), VGG11_LAYERS),
    ("VGG-11's blocks on 3 x 100 x 75 (odd sizes)", (3, 100, 75), VGG11_LAYERS[:-4] + [("flatten",), ("fc", 10)]),
]
SPATIAL = ("conv", "pool")


def _describe(layer) -> str:
    kind = layer[0]
    if kind == "conv":
        return f"conv (K={layer[1]}, F={layer[2]}, S={layer[3]}, P={layer[4]})"
    if kind == "pool":
        return f"pool (F={layer[1]}, S={layer[2]})"
    return "flatten" if kind == "flatten" else f"fc ({layer[1]} units)"


# --------------------------------------------------------------------------------------------- the PyTorch way
def _measure(input_shape, layers):
    """Per layer: (output shape without N, parameters, multiply-adds), from PyTorch layers on the meta device."""
    x = torch.empty((1,) + tuple(input_shape), device="meta")
    rows = []
    for layer in layers:
        kind = layer[0]
        if kind == "conv":
            module = nn.Conv2d(x.shape[1], layer[1], layer[2], stride=layer[3], padding=layer[4], device="meta")
        elif kind == "pool":
            module = nn.MaxPool2d(layer[1], stride=layer[2])
        elif kind == "flatten":
            module = nn.Flatten()
        else:
            module = nn.Linear(x.shape[1], layer[1], device="meta")
        x = module(x)
        weight = getattr(module, "weight", None)
        positions = math.prod(x.shape[2:])                     # H' W' for a convolution, 1 for a linear layer
        rows.append((tuple(int(n) for n in x.shape[1:]), sum(p.numel() for p in module.parameters()),
                     0 if weight is None else weight.numel() * positions))
    return rows


# --------------------------------------------------------------------------------------------- planted mistakes
def _size(n, f, s, p, rule):
    if rule == "no padding":
        return (n - f) // s + 1
    if rule == "ceil":
        return -(-(n + 2 * p - f) // s) + 1
    if rule == "no +1":
        return (n + 2 * p - f) // s
    if rule == "padding once":
        return (n + p - f) // s + 1
    return (n + 2 * p - f) // s + 1


def _closed_form(input_shape, layers, rule="right"):
    """Per layer (shape, parameters, multiply-adds, and the parts they are made of), with a size rule that may be
    one of the known mistakes."""
    shape, rows = tuple(input_shape), []
    for layer in layers:
        kind = layer[0]
        if kind in SPATIAL:
            c, h, w = shape
            f, s = layer[2:4] if kind == "conv" else layer[1:3]
            p = layer[4] if kind == "conv" else 0
            k = layer[1] if kind == "conv" else c
            new = (k, _size(h, f, s, p, rule), _size(w, f, s, p, rule))
            weights = k * c * f * f if kind == "conv" else 0
            rows.append(dict(shape=new, weights=weights, biases=k if kind == "conv" else 0, channels=c,
                             out_positions=new[1] * new[2], in_positions=h * w, window=f * f * c))
        elif kind == "flatten":
            new = (math.prod(shape),)
            rows.append(dict(shape=new, weights=0, biases=0, channels=0, out_positions=1, in_positions=1, window=0))
        else:
            new = (layer[1],)
            rows.append(dict(shape=new, weights=shape[0] * layer[1], biases=layer[1], channels=shape[0],
                             out_positions=1, in_positions=1, window=0))
        rows[-1]["kind"] = kind
        shape = new
    return rows


def _with_wrong_sizes(input_shape, layers, per_row):
    """``per_row`` applied to the layout's rows computed with each wrong size rule: counts that follow from shapes
    with one of output_shapes' known mistakes."""
    return {f"your counts follow from shapes computed with {mistake}: fix output_shapes first (its check names "
            "the mistake), then use it here.": [per_row(r) for r in _closed_form(input_shape, layers, rule)]
            for rule, mistake in [("no padding", "the padding left out"), ("padding once", "padding on one side only"),
                                  ("ceil", "sizes rounded up"), ("no +1", "the +1 of the size rule missing")]}


def _as_list(got, layers, *, case, what, entry):
    if not isinstance(got, (list, tuple)):
        raise CheckFailed(f"failed on case {case}:\n  expected a list with one {entry} per layer, got "
                          f"{type(got).__name__}\n  hint: build a list and append one entry per layer; return it.")
    if len(got) != len(layers):
        raise CheckFailed(f"failed on case {case}:\n  expected {len(layers)} {what} (one per layer), got {len(got)}"
                          "\n  hint: one entry for every layer of the layout, flatten and pooling included.")
    return list(got)


def _first_difference(got, expected):
    return next(i for i, (g, e) in enumerate(zip(got, expected)) if g != e)


def _fail_at_layer(case, layers, index, expected, got, what, hint):
    raise CheckFailed(f"failed on case {case}:\n  layer {index}, {_describe(layers[index])}: expected {what} "
                      f"{expected[index]!r}, got {got[index]!r}\n  expected (all layers): {expected}\n"
                      f"  got:                  {got}\n  hint: {hint}")


def _which_mistake(got, variants):
    """The hints of every known mistake that gives exactly ``got`` (on a small case several may)."""
    return " Or: ".join(hint for hint, wrong in variants.items() if got == wrong)


# --------------------------------------------------------------------------------------------- output shapes
SHAPE_HINT = ("per axis n' = (n + 2P - F) // S + 1 for a convolution, P = 0 for a pooling window; flatten gives "
              "(C * H * W,), a fully connected layer (units,).")


def _plain_shapes(got, layers, *, case):
    got = _as_list(got, layers, case=case, what="shapes", entry="shape tuple")
    shapes = []
    for index, shape in enumerate(got):
        if isinstance(shape, (int, np.integer)):
            raise CheckFailed(f"failed on case {case}:\n  layer {index} ({_describe(layers[index])}) has shape "
                              f"{shape!r}, a number\n  hint: give flat shapes as one-entry tuples, (n,).")
        if not isinstance(shape, (tuple, list, torch.Size)):
            raise CheckFailed(f"failed on case {case}:\n  layer {index}'s shape is a {type(shape).__name__}\n"
                              "  hint: give each shape as a tuple of ints, (C, H, W) or (n,).")
        if any(isinstance(n, (float, np.floating)) for n in shape):
            raise CheckFailed(f"failed on case {case}:\n  layer {index}'s shape {tuple(shape)} holds floats\n"
                              "  hint: sizes are whole numbers: use // (floor division), not /.")
        shapes.append(tuple(int(n) if isinstance(n, (int, np.integer)) else n for n in shape))
    return shapes


@register("classic.output_shapes")
def check_output_shapes(answer) -> str:
    fn = require_callable(answer, "output_shapes(input_shape, layers)")
    for case, input_shape, layers in LAYOUTS:
        got = _plain_shapes(call(fn, input_shape, layers, case=case), layers, case=case)
        expected = [row[0] for row in _measure(input_shape, layers)]
        if got == expected:
            continue
        variants = {rule_hint: [r["shape"] for r in _closed_form(input_shape, layers, rule)] for rule, rule_hint in [
            ("no padding", "the padding is missing: a convolution with padding P reads n + 2P pixels per axis."),
            ("padding once", "pad both sides: the padded size is n + 2P, not n + P."),
            ("ceil", "round down: a window that does not fit is dropped, n' = (n + 2P - F) // S + 1."),
            ("no +1", "the +1 is missing: the first window is at position 0, then (n + 2P - F) // S more fit."),
        ]}
        hint = _which_mistake(got, variants)
        index = _first_difference(got, expected)
        if not hint and layers[index][0] == "flatten":
            hint = "flatten multiplies all three sizes of the volume before it: (C * H * W,)."
        if not hint and len(got[index]) == 3 and got[index][1:] == expected[index][2:0:-1]:
            hint = "height and width are swapped: shapes are (C, H, W), and the input may not be square."
        _fail_at_layer(case, layers, index, expected, got, "shape", hint or SHAPE_HINT)
    return f"{len(LAYOUTS)} layouts (LeNet-5, AlexNet on 224 and 227 pixels, VGG-11, small non-square stacks)"


# --------------------------------------------------------------------------------------------- parameter counts
def _plain_counts(got, layers, *, case, what):
    got = _as_list(got, layers, case=case, what=what, entry="count")
    counts = []
    for index, n in enumerate(got):
        if hasattr(n, "item") and getattr(n, "ndim", None) == 0:
            n = n.item()
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
            raise CheckFailed(f"failed on case {case}:\n  layer {index}'s count is {type(n).__name__} {n!r}\n"
                              "  hint: counts are whole numbers (ints); use // and int(), not / or floats.")
        counts.append(int(n))
    return counts


@register("classic.parameter_counts")
def check_parameter_counts(answer) -> str:
    fn = require_callable(answer, "parameter_counts(input_shape, layers)")
    for case, input_shape, layers in LAYOUTS:
        got = _plain_counts(call(fn, input_shape, layers, case=case), layers, case=case, what="counts")
        expected = [row[1] for row in _measure(input_shape, layers)]
        if got == expected:
            continue
        rows = _closed_form(input_shape, layers)
        variants = {
            "every convolution and fully connected layer has one bias per output (K, or units) as well as its "
            "weights.": [r["weights"] for r in rows],
            "a filter spans all C input channels: K * C * F * F weights, plus K biases.":
                [r["weights"] // r["channels"] + r["biases"] if r["kind"] == "conv" else r["weights"] + r["biases"]
                 for r in rows],
            "pooling and flatten have no parameters: only convolutions and fully connected layers learn.":
                [r["weights"] + r["biases"] + (r["window"] if r["kind"] == "pool" else 0) for r in rows],
            **_with_wrong_sizes(input_shape, layers, lambda r: r["weights"] + r["biases"]),
        }
        variants = {hint: wrong for hint, wrong in variants.items() if wrong != expected}
        hint = _which_mistake(got, variants)
        index = _first_difference(got, expected)
        layer, row = layers[index], rows[index]
        if layer[0] == "fc" and got[index] > layer[1] and (got[index] - layer[1]) % layer[1] == 0:
            fan_in = (got[index] - layer[1]) // layer[1]
            volume = _measure(input_shape, layers)[index - 1][0]
            if fan_in == 9216 and row["channels"] == 6400:
                hint = (hint + " Or: " if hint else "") + (
                    "256 x 6 x 6 = 9,216 inputs is the paper's number, which needs 227-pixel inputs: on 224 pixels "
                    "the last volume is 256 x 5 x 5 = 6,400.")
            elif not hint:
                hint = (f"this layer reads {row['channels']:,} numbers ({volume}), your count is that of {fan_in:,} "
                        "inputs: compute the fan-in from the shape before the layer.")
        _fail_at_layer(case, layers, index, expected, got, "count",
                       hint or "conv: K * C * F * F + K; fc: inputs * units + units; pool and flatten: 0.")
    return f"{len(LAYOUTS)} layouts (LeNet-5, AlexNet on 224 and 227 pixels, VGG-11, small non-square stacks)"


# --------------------------------------------------------------------------------------------- multiply-adds
@register("classic.multiply_adds")
def check_multiply_adds(answer) -> str:
    fn = require_callable(answer, "multiply_adds(input_shape, layers)")
    for case, input_shape, layers in LAYOUTS:
        got = _plain_counts(call(fn, input_shape, layers, case=case), layers, case=case, what="counts")
        expected = [row[2] for row in _measure(input_shape, layers)]
        if got == expected:
            continue
        rows = _closed_form(input_shape, layers)
        variants = {
            "a bias is added, not multiplied: count only the products w * x (K * C * F * F per output position).":
                [r["weights"] * r["out_positions"] + r["biases"] * r["out_positions"] for r in rows],
            "each of the K filters does its own C * F * F products at each output position: multiply by K "
            "(the output channels) too.":
                [r["window"] * r["out_positions"] if r["kind"] == "conv" else r["weights"] for r in rows],
            "count at the output positions H' x W' (where a filter is applied), not at the input's H x W.":
                [r["weights"] * r["in_positions"] for r in rows],
            "pooling multiplies nothing by a weight: count 0 multiply-adds for pooling and flatten.":
                [r["weights"] * r["out_positions"] + (r["window"] * r["out_positions"] if r["kind"] == "pool" else 0)
                 for r in rows],
            **_with_wrong_sizes(input_shape, layers, lambda r: r["weights"] * r["out_positions"]),
        }
        variants = {hint: wrong for hint, wrong in variants.items() if wrong != expected}
        hint = _which_mistake(got, variants)
        index = _first_difference(got, expected)
        _fail_at_layer(case, layers, index, expected, got, "multiply-adds", hint or
                       "conv: H' * W' * K * C * F * F (one product per weight and output position); fc: inputs * "
                       "units; pool and flatten: 0.")
    return f"{len(LAYOUTS)} layouts (LeNet-5, AlexNet on 224 and 227 pixels, VGG-11, small non-square stacks)"


# --------------------------------------------------------------------------------------------- receptive field
def _receptive_field_by_autograd(layers) -> int:
    """The span of input pixels that one unit in the middle of the last spatial layer depends on, found by
    backpropagating from it through a 1-D stack of the same windows (all weights one, so nothing cancels)."""
    windows = []
    for layer in layers:
        if layer[0] == "flatten":
            break
        if layer[0] in SPATIAL:
            windows.append(layer[2:4] if layer[0] == "conv" else layer[1:3])
    x = torch.zeros(1, 1, 1200, dtype=torch.float64, requires_grad=True)
    h = x
    for f, s in windows:
        h = F.conv1d(h, torch.ones(1, 1, f, dtype=torch.float64), stride=s)
    h[0, 0, h.shape[-1] // 2].backward()
    touched = torch.nonzero(x.grad[0, 0]).flatten()
    return int(touched.max() - touched.min() + 1)


RF_LAYOUTS = [(case, layers) for case, _, layers in LAYOUTS[:4] + LAYOUTS[5:6] + LAYOUTS[8:9]] + [
    ("three 3x3 convs", [("conv", 8, 3, 1, 1)] * 3),
    ("a 7x7 stride-2 conv and a 3x3 stride-2 pool", [("conv", 64, 7, 2, 3), ("pool", 3, 2)]),
    ("a 1x1 conv after a stride-2 pool", [("conv", 4, 3, 1, 1), ("pool", 2, 2), ("conv", 4, 1, 1, 0),
                                          ("conv", 4, 3, 1, 1)]),
]


def _rf_variant(layers, mistake):
    size, jump = 1, 1
    for layer in layers:
        if layer[0] == "flatten":
            break
        if layer[0] not in SPATIAL or (mistake == "pools skipped" and layer[0] == "pool"):
            continue
        f, s = layer[2:4] if layer[0] == "conv" else layer[1:3]
        if mistake == "jump after":
            jump *= s
        size += (f - 1) * (1 if mistake == "no jumps" else jump)
        if mistake == "padding":
            size += 2 * (layer[4] if layer[0] == "conv" else 0)
        if mistake != "jump after":
            jump *= s
    return size


@register("classic.receptive_field")
def check_receptive_field(answer) -> str:
    fn = require_callable(answer, "receptive_field_of(layers)")
    for case, layers in RF_LAYOUTS:
        got = call(fn, layers, case=case)
        expected = _receptive_field_by_autograd(layers)
        mistakes = {
            "pooling windows widen the field too: pass every conv and pool layer's (F, S) to receptive_field.":
                _rf_variant(layers, "pools skipped"),
            "strides matter: after a stride-S layer neighbouring units are S times farther apart (the jump), so "
            "pass (F, S), not just F.": _rf_variant(layers, "no jumps"),
            "padding moves the field, it does not widen it: pass (F, S) only.": _rf_variant(layers, "padding"),
            "a layer's window is spread by the jump of the layers before it, not including its own stride.":
                _rf_variant(layers, "jump after"),
        }
        hint = next((h for h, wrong in mistakes.items() if wrong != expected and got == wrong),
                    "collect (F, S) of each conv and pool layer before flatten, in order, and pass them to "
                    "utils.receptive_field.receptive_field.")
        assert_equal(got, expected, case=case, hint=hint, what="the receptive field")
    return f"{len(RF_LAYOUTS)} layouts (LeNet-5, AlexNet, VGG-11, small stacks), against autograd"


# --------------------------------------------------------------------------------------------- a VGG block
VGG_BLOCKS = [(1, 3, 8, (2, 3, 8, 6)), (2, 4, 6, (2, 4, 7, 10)), (3, 2, 5, (1, 2, 9, 8)), (2, 5, 5, (3, 5, 6, 6)),
              (1, 1, 4, (2, 1, 5, 11))]


def _vgg_reference(x, weights, relu=True, pool_first=False, pooling=F.max_pool2d):
    h = torch.from_numpy(np.asarray(x, dtype=np.float64))
    if pool_first:
        h = pooling(h, 2, 2)
    for w, b in zip(weights[::2], weights[1::2]):
        h = F.conv2d(h, torch.from_numpy(w), torch.from_numpy(b), padding=1)
        h = F.relu(h) if relu else h
    if not pool_first:
        h = pooling(h, 2, 2)
    return h.numpy()


def _draw(shapes, rng):
    """He-scaled weights and small random biases for the given parameter shapes."""
    drawn = []
    for shape in shapes:
        fan_in = math.prod(shape[1:]) if len(shape) > 1 else 1
        scale = (2 / fan_in) ** 0.5 if len(shape) > 1 else 0.1
        drawn.append(rng.normal(size=shape) * scale)
    return drawn


def _require_module(module, case, hint):
    if not modules.is_module(module):
        raise CheckFailed(f"failed on case {case}:\n  expected a torch nn.Module, got "
                          f"{modules.type_name(module)}\n  hint: {hint}")


def _pair(value):
    return (value, value) if isinstance(value, int) and not isinstance(value, bool) else value


def _padding(config):
    """A convolution's padding as a pair: ``"same"`` is F // 2 per axis (odd F, stride 1), ``"valid"`` is 0."""
    padding = config.get("padding")
    if padding == "valid":
        return (0, 0)
    if padding == "same" and isinstance(config.get("kernel_size"), tuple):
        return tuple(f // 2 for f in config["kernel_size"])
    return _pair(padding)


def _reject_training_layers(module, case, network):
    """Fail on the first batch-norm or dropout layer (``modules.training_layers``): the outputs in eval mode
    would not show it."""
    found = modules.training_layers(module)
    if found:
        name, kind = found[0]
        raise CheckFailed(f"failed on case {case}:\n  your {network} holds a {kind} layer ({name}), "
                          f"which the spec does not have\n  hint: remove the {kind}: {network} has no batch "
                          "normalisation and no dropout, only the layers the spec lists.")


def _check_settings(module, case, expected_conv, pool_type, expected_pool, pool_hint):
    """The settings of every Conv2d and pooling layer the module holds (a module that calls F.max_pool2d in its
    forward has none to read: its outputs are checked anyway)."""
    for layer in modules.layers(module):
        config, kind = layer["config"], layer["type"]
        if kind == "Conv2d":
            got = {key: _padding(config) if key == "padding" else _pair(config.get(key)) for key in expected_conv}
            if got != expected_conv:
                hint = "3x3 convolutions with stride 1 and padding 1: nn.Conv2d(in, out, kernel_size=3, padding=1)."
                if got.get("padding") == (0, 0):
                    hint = ("padding=1: without it every 3x3 convolution shrinks the map by 2 pixels per axis, and a "
                            "VGG block should halve the size only in its pooling.")
                raise CheckFailed(f"failed on case {case}:\n  convolution {layer['name']}: expected settings "
                                  f"{expected_conv}, got {got}\n  hint: {hint}")
        elif kind.endswith("Pool2d"):
            got = {key: _pair(config.get(key)) for key in expected_pool}
            if kind != pool_type or got != expected_pool:
                raise CheckFailed(f"failed on case {case}:\n  pooling {layer['name']}: expected {pool_type} with "
                                  f"{expected_pool}, got {kind} with {got}\n  hint: {pool_hint}")


TRAIN_HINT = ("in training mode (model.train()) your module computes something else than in eval mode: a layer "
              "or call that acts only in training (dropout, batch norm) is not part of the spec.")


@register("classic.vgg_block")
def check_vgg_block(answer) -> str:
    fn = require_callable(answer, "vgg_block(num_convs, in_channels, out_channels)")
    rng = np.random.default_rng(9)
    runs = 0
    for convs, c, k, x_shape in VGG_BLOCKS:
        case = f"vgg_block({convs}, {c}, {k})"
        block = call(fn, convs, c, k, case=case)
        _require_module(block, case, "return nn.Sequential(conv, ReLU, ..., nn.MaxPool2d(2, 2)).")
        _reject_training_layers(block, case, "VGG block")
        got_shapes = [shape for _, shape in modules.parameter_shapes(block)]
        expected_shapes = []
        for i in range(convs):
            expected_shapes += [(k, c if i == 0 else k, 3, 3), (k,)]
        if got_shapes != expected_shapes:
            hint = "in order: each convolution's weight (K, C, 3, 3) and bias (K,); only the first reads C channels."
            reused = [(k, c, 3, 3) if j % 2 == 0 else (k,) for j in range(2 * convs)]
            if c != k and got_shapes == reused:
                hint = ("the second and later convolutions read the first one's out_channels maps, not "
                        "in_channels: set in_channels = out_channels after the first.")
            elif got_shapes == expected_shapes[::2]:
                hint = "every convolution has a bias (nn.Conv2d's default bias=True)."
            elif not got_shapes:
                hint = ("your module has no parameters: layers kept in a plain Python list are invisible to "
                        "nn.Module; use nn.Sequential(*layers).")
            elif len(got_shapes) != len(expected_shapes):
                hint = f"a block with num_convs={convs} has {convs} convolutions."
            raise CheckFailed(f"failed on case {case}:\n  expected parameter shapes {expected_shapes},\n  got "
                              f"{got_shapes}\n  hint: {hint}")
        _check_settings(block, case, {"kernel_size": (3, 3), "stride": (1, 1), "padding": (1, 1)},
                        "MaxPool2d", {"kernel_size": (2, 2), "stride": (2, 2)},
                        "the block ends with max pooling over 2x2 windows with stride 2: nn.MaxPool2d(2, 2).")
        n, _, h, w = x_shape
        _, final = modules.output_shapes(block, x_shape, case=case)
        if final != (n, k, h // 2, w // 2):
            hint = ("3x3 convolutions with padding 1 keep H x W; the 2x2 pooling with stride 2 halves it "
                    "(rounding down).")
            if final == (n, k, (h - 2 * convs) // 2, (w - 2 * convs) // 2):
                hint = "padding=1: each unpadded 3x3 convolution shrinks the map by 2 pixels per axis."
            elif final == (n, k, h, w):
                hint = "the block ends with 2x2 max pooling with stride 2."
            raise CheckFailed(f"failed on case {case}:\n  on x of shape {x_shape}: expected output shape "
                              f"{(n, k, h // 2, w // 2)}, got {final}\n  hint: {hint}")
        weights = _draw(expected_shapes, rng)
        for trial in range(3):
            train = trial == 2                       # the second input again, in training mode: no dropout
            if not train:
                x = rng.normal(size=x_shape) + (0.5 if trial else 0.0)
            trial_case = (f"{case} on x of shape {x_shape}" + (" (a second input)" if trial else "")
                          + (" in training mode" if train else ""))
            got = modules.run_module(block, x, parameters=weights, case=trial_case, train=train)
            mistakes = {
                "a ReLU follows every convolution.": _vgg_reference(x, weights, relu=False),
                "the pooling comes after the convolutions (conv, ReLU, ..., pool).":
                    _vgg_reference(x, weights, pool_first=True),
                "VGG pools with the maximum (nn.MaxPool2d), not the average.":
                    _vgg_reference(x, weights, pooling=F.avg_pool2d),
            }
            assert_array_matches(got, _vgg_reference(x, weights), case=trial_case, known_mistakes=mistakes,
                                 hint=TRAIN_HINT if train else
                                 "layers in order: num_convs times (Conv2d(in, out, 3, padding=1), ReLU), "
                                 "then MaxPool2d(2, 2).")
            runs += not train
    return (f"{len(VGG_BLOCKS)} blocks: parameter shapes, layer settings, output shapes, outputs with the check's "
            f"weights on {runs} inputs")


# --------------------------------------------------------------------------------------------- LeNet-5
LENET_SHAPES = [(6, 1, 5, 5), (6,), (16, 6, 5, 5), (16,), (120, 400), (120,), (84, 120), (84,), (10, 84), (10,)]


def _lenet_reference(x, p, act=torch.sigmoid, pooling=F.avg_pool2d, last=None, padding=2):
    t = [torch.from_numpy(a) for a in p]
    h = torch.from_numpy(np.asarray(x, dtype=np.float64))
    h = pooling(act(F.conv2d(h, t[0], t[1], padding=padding)), 2, 2)
    h = pooling(act(F.conv2d(h, t[2], t[3])), 2, 2).flatten(1)
    h = act(F.linear(h, t[4], t[5]))
    h = act(F.linear(h, t[6], t[7]))
    h = F.linear(h, t[8], t[9])
    return (last(h) if last else h).numpy()


@register("classic.lenet5")
def check_lenet5(answer) -> str:
    fn = require_callable(answer, "lenet5()")
    case = "lenet5()"
    model = call(fn, case=case)
    _require_module(model, case, "return nn.Sequential(...) with the layers in order.")
    _reject_training_layers(model, case, "LeNet-5")
    got_shapes = [shape for _, shape in modules.parameter_shapes(model)]
    if got_shapes != LENET_SHAPES:
        hint = "in order: conv 6 x 1 x 5 x 5, conv 16 x 6 x 5 x 5, then fc 400 -> 120 -> 84 -> 10, each with a bias."
        if (120, 256) in got_shapes:
            hint = ("the first fully connected layer reads 256 = 16 x 4 x 4 numbers: without padding=2 the first "
                    "convolution shrinks 28 to 24. Pad it so the 28 x 28 size stays.")
        elif got_shapes == LENET_SHAPES[::2]:
            hint = "every layer has a bias (the default bias=True)."
        raise CheckFailed(f"failed on case {case}:\n  expected parameter shapes {LENET_SHAPES},\n  got "
                          f"{got_shapes}\n  hint: {hint}")
    _check_settings(model, case, {"kernel_size": (5, 5), "stride": (1, 1)},
                    "AvgPool2d", {"kernel_size": (2, 2), "stride": (2, 2)},
                    "LeNet-5 as described here averages: nn.AvgPool2d(kernel_size=2, stride=2) (max pooling and "
                    "ReLU are the later choices of lenet_fashion).")
    leaves, final = modules.output_shapes(model, (2, 1, 28, 28), case=case)
    convs = [shape for _, kind, shape in leaves if kind == "Conv2d"]
    if (convs and convs[0] != (2, 6, 28, 28)) or final != (2, 10):       # convs: the Conv2d layers it holds
        raise CheckFailed(f"failed on case {case}:\n  on x of shape (2, 1, 28, 28): expected the first convolution "
                          f"to output (2, 6, 28, 28) and the network (2, 10), got {convs[:1]} and {final}\n"
                          "  hint: padding=2 on the first convolution only; the second has none (14 -> 10).")
    rng = np.random.default_rng(5)
    weights = _draw(LENET_SHAPES, rng)
    shapes = [(2, 1, 28, 28), (3, 1, 28, 28)]
    for trial, x_shape in enumerate(shapes + shapes[-1:]):
        train = trial == len(shapes)                 # the last input again, in training mode: no dropout
        if not train:
            x = rng.normal(size=x_shape) * (1 + trial)
        trial_case = f"{case} on x of shape {x_shape}" + (" in training mode" if train else "")
        got = modules.run_module(model, x, parameters=weights, case=trial_case, train=train)
        mistakes = {
            "LeNet-5 uses sigmoid activations (nn.Sigmoid) here, not ReLU.":
                _lenet_reference(x, weights, act=torch.relu),
            "LeNet-5 averages: nn.AvgPool2d(2, 2), not max pooling.":
                _lenet_reference(x, weights, pooling=F.max_pool2d),
            "the last layer returns raw scores: no activation after it (the softmax belongs to the loss).":
                _lenet_reference(x, weights, last=torch.sigmoid),
            "each hidden layer ends with a sigmoid; tanh was another classic choice, but not this chapter's.":
                _lenet_reference(x, weights, act=torch.tanh),
            "the last layer returns raw scores: no softmax after it (nn.CrossEntropyLoss applies log-softmax "
            "itself).": _lenet_reference(x, weights, last=lambda h: torch.softmax(h, 1)),
            "the last layer returns raw scores: no log-softmax after it (nn.CrossEntropyLoss applies it itself).":
                _lenet_reference(x, weights, last=lambda h: torch.log_softmax(h, 1)),
        }
        assert_array_matches(got, _lenet_reference(x, weights), case=trial_case, known_mistakes=mistakes,
                             hint=TRAIN_HINT if train else
                             "conv, sigmoid, avg pool, conv, sigmoid, avg pool, flatten, fc, sigmoid, fc, sigmoid, fc.")
    return f"parameter shapes, layer settings, output shapes, outputs with the check's weights on {len(shapes)} inputs"


# --------------------------------------------------------------------------------------------- value answers
@register("classic.alexnet_input_size")
def check_alexnet_input_size(answer) -> str:
    fn = require_callable(answer, "alexnet_input_size()")
    case = "alexnet_input_size()"
    got = call(fn, case=case)
    hints = {224: "with n = 224, (224 - 11) / 4 + 1 = 54.25: the windows do not fit exactly and 55 maps do not come "
                  "out. Solve (n - 11) / 4 + 1 = 55 for n.",
             55: "55 is the size of conv 1's output; the question asks for the input size n.",
             228: "(228 - 11) / 4 + 1 = 55.25: it does give 55 maps after rounding down, but the last column of "
                  "pixels is never read. Which n makes the windows fit exactly?"}
    assert_equal(got, 227, case=case, what="the input size",
                 hint=hints.get(got, "solve (n - 11) / 4 + 1 = 55 for n."))
    return "the size that gives 55 x 55 maps exactly"


LAYER_NAMES = ("conv1", "conv2", "conv3", "conv4", "conv5", "fc1", "fc2", "fc3")


@register("classic.alexnet_extremes")
def check_alexnet_extremes(answer) -> str:
    fn = require_callable(answer, "alexnet_extremes()")
    case = "alexnet_extremes()"
    got = call(fn, case=case)
    rows = [row for layer, row in zip(ALEXNET_LAYERS, _measure((3, 227, 227), ALEXNET_LAYERS))
            if layer[0] in ("conv", "fc")]
    expected = (LAYER_NAMES[int(np.argmax([r[1] for r in rows]))], LAYER_NAMES[int(np.argmax([r[2] for r in rows]))])
    if not isinstance(got, tuple) or len(got) != 2 or not all(isinstance(g, str) for g in got):
        raise CheckFailed(f"failed on case {case}:\n  expected a tuple of two layer names, got {got!r}\n"
                          f"  hint: return e.g. (\"conv3\", \"fc2\"), names from {LAYER_NAMES}.")
    hint = "compare the lists your parameter_counts and multiply_adds give for ALEXNET_LAYERS on 3 x 227 x 227."
    unknown = [g for g in got if g not in LAYER_NAMES]
    if unknown:
        hint = f"{unknown[0]!r} is not one of the names: use the names exactly as listed, {LAYER_NAMES}."
    elif got[0] != expected[0]:
        hint = ("parameters: a fully connected layer has one weight per (input, unit) pair and shares none; which "
                "layer has the largest fan-in times units?")
    elif got[1] == "conv1":
        hint = ("conv 1 works on the largest maps, but each of its products reads only 3 channels: conv 2 does "
                "27 x 27 x 256 x 96 x 25 multiply-adds.")
    elif got[1] != expected[1]:
        hint = "multiply-adds: a convolution does H' x W' x K x C x F x F; compare conv 1 to conv 5."
    assert_equal(got, expected, case=case, what="the answer", hint=hint)
    return "the layer with the most parameters and the one with the most multiply-adds"


# the spec allows nothing beyond numpy/torch: the workbook's size rule and network summaries compute the layouts
implemented_by("classic.output_shapes", "utils.checks.ch09_classic_networks._measure",
               "utils.checks.ch09_classic_networks._closed_form", "utils.shapes.conv_output_size",
               "utils.layers.pooling.pool_geometry", "utils.nets.summary.summary", "utils.nets.summary.print_summary")
implemented_by("classic.parameter_counts", builds_on=("classic.output_shapes",))   # "use your output_shapes"
implemented_by("classic.multiply_adds", builds_on=("classic.output_shapes",))
implemented_by("classic.lenet5", "utils.nets.lenet.lenet5", "utils.nets.lenet.lenet_fashion")
implemented_by("classic.vgg_block", "utils.nets.vgg.vgg_block")
may_use("classic.receptive_field", "utils.receptive_field.receptive_field",
        "utils.receptive_field.receptive_field_table")


# --------------------------------------------------------------------------------------------- references
# The workbook's own answers, for demonstrations while the student's answer is missing or wrong (never used by
# the checks above, whose expected values come from PyTorch and autograd).
@reference("classic.output_shapes")
def _output_shapes_reference(input_shape, layers):
    return [row["shape"] for row in _closed_form(input_shape, layers)]


@reference("classic.parameter_counts")
def _parameter_counts_reference(input_shape, layers):
    return [row["weights"] + row["biases"] for row in _closed_form(input_shape, layers)]


@reference("classic.multiply_adds")
def _multiply_adds_reference(input_shape, layers):
    return [row["weights"] * row["out_positions"] for row in _closed_form(input_shape, layers)]


@reference("classic.receptive_field")
def _receptive_field_reference(layers):
    return _rf_variant(layers, "right")


@reference("classic.vgg_block")
def _vgg_block_reference(num_convs, in_channels, out_channels):
    from utils.nets.vgg import vgg_block

    return vgg_block(num_convs, in_channels, out_channels)


@reference("classic.lenet5")
def _lenet5_reference():
    from utils.nets.lenet import lenet5

    return lenet5()


@reference("classic.alexnet_input_size")
def _alexnet_input_size_reference():
    return (55 - 1) * 4 + 11


@reference("classic.alexnet_extremes")
def _alexnet_extremes_reference():
    return ("fc1", "conv2")
