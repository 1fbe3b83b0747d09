"""Mutation tests of the chapter 09 checks: the solutions pass, "not implemented" is recognised, and every
planted bug is rejected, with the hint written for it. Also: the layouts in utils.nets match the networks."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from utils.checks import NOT_ATTEMPTED, PASSED, run_check
from utils.checks.core import get_reference
from utils.nets.alexnet import ALEXNET_LAYERS, alexnet, alexnet_fashion
from utils.nets.lenet import LENET5_LAYERS, lenet5, lenet_fashion
from utils.nets.vgg import VGG11_LAYERS, vgg11, vgg_fashion
from utils.receptive_field import receptive_field
from tests.checks.mutants import assert_rejected, partly_written


def _not_implemented(*args, **kwargs):
    raise NotImplementedError()


# ----------------------------------------------------------------------------- solutions (as in the notebook)
def output_shapes(input_shape, layers):
    shape, shapes = tuple(input_shape), []
    for layer in layers:
        if layer[0] == "conv":
            _, k, f, s, p = layer
            shape = (k, (shape[1] + 2 * p - f) // s + 1, (shape[2] + 2 * p - f) // s + 1)
        elif layer[0] == "pool":
            _, f, s = layer
            shape = (shape[0], (shape[1] - f) // s + 1, (shape[2] - f) // s + 1)
        elif layer[0] == "flatten":
            shape = (math.prod(shape),)
        else:
            shape = (layer[1],)
        shapes.append(shape)
    return shapes


def parameter_counts(input_shape, layers):
    before = [tuple(input_shape)] + output_shapes(input_shape, layers)[:-1]
    counts = []
    for layer, shape in zip(layers, before):
        if layer[0] == "conv":
            counts.append(layer[1] * shape[0] * layer[2] ** 2 + layer[1])
        elif layer[0] == "fc":
            counts.append(shape[0] * layer[1] + layer[1])
        else:
            counts.append(0)
    return counts


def multiply_adds(input_shape, layers):
    shapes = output_shapes(input_shape, layers)
    before = [tuple(input_shape)] + shapes[:-1]
    counts = []
    for layer, shape_in, shape_out in zip(layers, before, shapes):
        if layer[0] == "conv":
            k, h, w = shape_out
            counts.append(h * w * k * shape_in[0] * layer[2] ** 2)
        elif layer[0] == "fc":
            counts.append(shape_in[0] * layer[1])
        else:
            counts.append(0)
    return counts


def receptive_field_of(layers):
    windows = []
    for layer in layers:
        if layer[0] == "flatten":
            break
        if layer[0] == "conv":
            windows.append((layer[2], layer[3]))
        elif layer[0] == "pool":
            windows.append((layer[1], layer[2]))
    return receptive_field(windows)


def vgg_block(num_convs, in_channels, out_channels):
    layers = []
    for _ in range(num_convs):
        layers += [nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1), nn.ReLU()]
        in_channels = out_channels
    layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    return nn.Sequential(*layers)


def lenet5():
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(),
        nn.Linear(120, 84), nn.Sigmoid(),
        nn.Linear(84, 10))


SOLUTIONS = {
    "classic.output_shapes": output_shapes, "classic.parameter_counts": parameter_counts,
    "classic.multiply_adds": multiply_adds, "classic.receptive_field": receptive_field_of,
    "classic.vgg_block": vgg_block, "classic.lenet5": lenet5,
    "classic.alexnet_input_size": lambda: 227, "classic.alexnet_extremes": lambda: ("fc1", "conv2"),
}


@pytest.mark.parametrize("exercise_id", sorted(SOLUTIONS))
def test_solution_passes(exercise_id):
    result = run_check(exercise_id, SOLUTIONS[exercise_id])
    assert result.status == PASSED, result.message


@pytest.mark.parametrize("exercise_id", sorted(SOLUTIONS))
def test_reference_passes(exercise_id):
    result = run_check(exercise_id, get_reference(exercise_id))
    assert result.status == PASSED, result.message


@pytest.mark.parametrize("exercise_id", sorted(SOLUTIONS))
def test_not_implemented_is_not_attempted(exercise_id):
    assert run_check(exercise_id, _not_implemented).status == NOT_ATTEMPTED
    assert run_check(exercise_id, ...).status == NOT_ATTEMPTED


# ----------------------------------------------------------------------------- the layouts match the networks
@pytest.mark.parametrize("build, input_shape, layout", [
    (lenet5, (1, 28, 28), LENET5_LAYERS),
    (lambda: lenet_fashion(channels=(6, 16), hidden=(120, 84)), (1, 28, 28), LENET5_LAYERS),   # defaults may be retuned
    (alexnet, (3, 227, 227), ALEXNET_LAYERS), (vgg11, (3, 224, 224), VGG11_LAYERS)])
def test_layout_describes_the_network(build, input_shape, layout):
    with torch.device("meta"):
        model = build()
    x = torch.empty((1,) + input_shape, device="meta")
    shapes = []
    for layer in model.modules():
        if list(layer.children()):
            continue
        x = layer(x)
        if isinstance(layer, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d, nn.Flatten, nn.Linear)):
            shapes.append(tuple(x.shape[1:]))
    assert shapes == output_shapes(input_shape, layout)
    assert sum(p.numel() for p in model.parameters()) == sum(parameter_counts(input_shape, layout))


def test_published_sizes():
    assert sum(parameter_counts((3, 227, 227), ALEXNET_LAYERS)) == 62_378_344
    assert sum(parameter_counts((3, 224, 224), VGG11_LAYERS)) == 132_863_336
    assert sum(parameter_counts((1, 28, 28), LENET5_LAYERS)) == 61_706
    assert receptive_field_of(ALEXNET_LAYERS) == 195 and receptive_field_of(LENET5_LAYERS) == 16


@pytest.mark.parametrize("build", [lenet_fashion, alexnet_fashion, vgg_fashion])
def test_fashion_variants_take_28_by_28(build):
    assert build()(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


# ----------------------------------------------------------------------------- output shapes
def _shapes_with(size=None, flatten=None, fc=None):
    """output_shapes with one part replaced: size(n, f, s, p) per axis, flatten(shape), fc(units)."""
    size = size or (lambda n, f, s, p: (n + 2 * p - f) // s + 1)

    def answer(input_shape, layers):
        shape, shapes = tuple(input_shape), []
        for layer in layers:
            if layer[0] == "conv":
                _, k, f, s, p = layer
                shape = (k, size(shape[1], f, s, p), size(shape[2], f, s, p))
            elif layer[0] == "pool":
                shape = (shape[0], size(shape[1], layer[1], layer[2], 0), size(shape[2], layer[1], layer[2], 0))
            elif layer[0] == "flatten":
                shape = flatten(shape) if flatten else (math.prod(shape),)
            else:
                shape = fc(layer[1]) if fc else (layer[1],)
            shapes.append(shape)
        return shapes

    return answer


def _swapped(input_shape, layers):
    c, h, w = input_shape
    return output_shapes((c, w, h), layers)


SHAPE_MUTANTS = {
    "padding forgotten": (_shapes_with(lambda n, f, s, p: (n - f) // s + 1), "the padding is missing"),
    "padding on one side": (_shapes_with(lambda n, f, s, p: (n + p - f) // s + 1), "pad both sides"),
    "rounding up": (_shapes_with(lambda n, f, s, p: -(-(n + 2 * p - f) // s) + 1), "round down"),
    "no +1": (_shapes_with(lambda n, f, s, p: (n + 2 * p - f) // s), "the +1 is missing"),
    "true division": (_shapes_with(lambda n, f, s, p: (n + 2 * p - f) / s + 1), "floor division"),
    "height and width swapped": (_swapped, "height and width are swapped"),
    "flatten keeps C * H only": (_shapes_with(flatten=lambda s: (s[0] * s[1],)), "flatten multiplies"),
    "fc shape as a bare number": (_shapes_with(fc=lambda units: units), "one-entry tuples"),
    "flatten left out": (lambda i, layers: [s for s, l in zip(output_shapes(i, layers), layers) if l[0] != "flatten"],
                         "one entry for every layer"),
    "a numpy array": (lambda i, layers: __import__("numpy").array(output_shapes(i, layers)[:1]), "expected a list"),
    "partly written (two-channel inputs only)": (partly_written(output_shapes, lambda i, layers: i[0] != 2),
                                            "only partly written"),
}


@pytest.mark.parametrize("name", sorted(SHAPE_MUTANTS))
def test_output_shapes_mutants_rejected(name):
    assert_rejected("classic.output_shapes", *SHAPE_MUTANTS[name])


# ----------------------------------------------------------------------------- parameter counts
def _counts_with(conv=None, fc=None, pool=None, shapes=output_shapes):
    """parameter_counts with one rule replaced: conv(K, C, F), fc(inputs, units), pool(C, F)."""
    conv = conv or (lambda k, c, f: k * c * f * f + k)
    fc = fc or (lambda n, units: n * units + units)

    def answer(input_shape, layers):
        before = [tuple(input_shape)] + shapes(input_shape, layers)[:-1]
        counts = []
        for layer, shape in zip(layers, before):
            if layer[0] == "conv":
                counts.append(conv(layer[1], shape[0], layer[2]))
            elif layer[0] == "fc":
                counts.append(fc(shape[0], layer[1]))
            elif layer[0] == "pool" and pool:
                counts.append(pool(shape[0], layer[1]))
            else:
                counts.append(0)
        return counts

    return answer


def _paper_fan_in(input_shape, layers):
    shapes = output_shapes(input_shape, layers)
    return [(256 * 6 * 6,) if layer[0] == "flatten" and before[0] == 256 else shape
            for layer, before, shape in zip(layers, [input_shape] + shapes, shapes)]


PARAMETER_MUTANTS = {
    "no biases": (_counts_with(lambda k, c, f: k * c * f * f, lambda n, u: n * u), "one bias per output"),
    "conv weights without the input channels": (_counts_with(conv=lambda k, c, f: k * f * f + k),
                                                "spans all C input channels"),
    "AlexNet's fc 1 reads the paper's 256 x 6 x 6 whatever the input": (_counts_with(shapes=_paper_fan_in),
                                                                         "256 x 6 x 6 = 9,216 inputs is the paper's"),
    "parameters for pooling windows": (_counts_with(pool=lambda c, f: c * f * f), "pooling and flatten have no"),
    "float counts": (lambda i, layers: [float(n) for n in parameter_counts(i, layers)], "whole numbers"),
    "sizes without padding": (_counts_with(shapes=_shapes_with(lambda n, f, s, p: (n - f) // s + 1)),
                              "fix output_shapes first"),
    "fc layers only": (lambda i, layers: [n if layer[0] == "fc" else 0
                                          for n, layer in zip(parameter_counts(i, layers), layers)],
                       "conv: K * C * F * F + K"),
}


@pytest.mark.parametrize("name", sorted(PARAMETER_MUTANTS))
def test_parameter_counts_mutants_rejected(name):
    assert_rejected("classic.parameter_counts", *PARAMETER_MUTANTS[name])


# ----------------------------------------------------------------------------- multiply-adds
def _macs_with(conv=None, fc=None, pool=None, shapes=output_shapes):
    """multiply_adds with one rule replaced: conv(K, C, F, (h_in, w_in), (h_out, w_out)), fc(n, units),
    pool(C, F, (h_out, w_out))."""
    conv = conv or (lambda k, c, f, hw_in, hw_out: hw_out[0] * hw_out[1] * k * c * f * f)
    fc = fc or (lambda n, units: n * units)

    def answer(input_shape, layers):
        outputs = shapes(input_shape, layers)
        before = [tuple(input_shape)] + outputs[:-1]
        counts = []
        for layer, s_in, s_out in zip(layers, before, outputs):
            if layer[0] == "conv":
                counts.append(conv(layer[1], s_in[0], layer[2], s_in[1:], s_out[1:]))
            elif layer[0] == "fc":
                counts.append(fc(s_in[0], layer[1]))
            elif layer[0] == "pool" and pool:
                counts.append(pool(s_in[0], layer[1], s_out[1:]))
            else:
                counts.append(0)
        return counts

    return answer


MAC_MUTANTS = {
    "bias counted": (_macs_with(lambda k, c, f, i, o: o[0] * o[1] * k * (c * f * f + 1), lambda n, u: (n + 1) * u),
                     "a bias is added, not multiplied"),
    "output channels forgotten": (_macs_with(lambda k, c, f, i, o: o[0] * o[1] * c * f * f), "multiply by K"),
    "input positions": (_macs_with(lambda k, c, f, i, o: i[0] * i[1] * k * c * f * f), "output positions"),
    "pooling counted": (_macs_with(pool=lambda c, f, o: o[0] * o[1] * c * f * f), "pooling multiplies nothing"),
    "parameters instead of multiply-adds": (parameter_counts, "one product per weight and output position"),
    "sizes rounded up": (_macs_with(shapes=_shapes_with(lambda n, f, s, p: -(-(n + 2 * p - f) // s) + 1)),
                         "sizes rounded up: fix output_shapes first"),
}


@pytest.mark.parametrize("name", sorted(MAC_MUTANTS))
def test_multiply_adds_mutants_rejected(name):
    assert_rejected("classic.multiply_adds", *MAC_MUTANTS[name])


# ----------------------------------------------------------------------------- receptive field
def _windows_with(keep_pools=True, strides=True, padding=False):
    def answer(layers):
        windows = []
        for layer in layers:
            if layer[0] == "flatten":
                break
            if layer[0] == "conv":
                f = layer[2] + (2 * layer[4] if padding else 0)
                windows.append((f, layer[3] if strides else 1))
            elif layer[0] == "pool" and keep_pools:
                windows.append((layer[1], layer[2] if strides else 1))
        return receptive_field(windows)

    return answer


def _jump_after(layers):
    size, jump = 1, 1
    for layer in layers:
        if layer[0] == "flatten":
            break
        f, s = (layer[2], layer[3]) if layer[0] == "conv" else (layer[1], layer[2])
        jump *= s
        size += (f - 1) * jump
    return size


RF_MUTANTS = {
    "pools skipped": (_windows_with(keep_pools=False), "pooling windows widen the field"),
    "strides ignored": (_windows_with(strides=False), "strides matter"),
    "padding counted": (_windows_with(padding=True), "padding moves the field"),
    "jump includes the layer's own stride": (_jump_after, "not including its own stride"),
    "a float": (lambda layers: float(receptive_field_of(layers)), "should be an int"),
}


@pytest.mark.parametrize("name", sorted(RF_MUTANTS))
def test_receptive_field_mutants_rejected(name):
    assert_rejected("classic.receptive_field", *RF_MUTANTS[name])


# ----------------------------------------------------------------------------- VGG block
def _block(conv=lambda c, k: nn.Conv2d(c, k, 3, padding=1), relu=True, pool=lambda: nn.MaxPool2d(2, 2),
           pool_first=False, reuse_in_channels=False):
    def answer(num_convs, in_channels, out_channels):
        layers, c = [], in_channels
        for _ in range(num_convs):
            layers += [conv(c, out_channels)] + ([nn.ReLU()] if relu else [])
            c = in_channels if reuse_in_channels else out_channels
        if pool:
            layers.insert(0, pool()) if pool_first else layers.append(pool())
        return nn.Sequential(*layers)

    return answer


class _FunctionalAvgBlock(nn.Module):
    """A block that keeps its convolutions as layers but pools in forward (nothing to read in its settings)."""

    def __init__(self, num_convs, in_channels, out_channels):
        super().__init__()
        self.convs = vgg_block(num_convs, in_channels, out_channels)[:-1]

    def forward(self, x):
        return nn.functional.avg_pool2d(self.convs(x), 2, 2)


class _ListBlock(nn.Module):
    def __init__(self, num_convs, in_channels, out_channels):
        super().__init__()
        self.layers = list(vgg_block(num_convs, in_channels, out_channels))

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class _FreshWeightsBlock(nn.Module):
    """Right parameters, but forward builds new layers each time: the check's weights are never used."""

    def __init__(self, num_convs, in_channels, out_channels):
        super().__init__()
        self.args = (num_convs, in_channels, out_channels)
        self.block = vgg_block(*self.args)

    def forward(self, x):
        return vgg_block(*self.args).to(x.dtype)(x)


def _vgg_with_bn_and_dropout(num_convs, c, k):
    """The cold read's planted answer: a fresh BatchNorm2d(affine=False) is x / sqrt(1 + eps) in eval mode and
    Dropout the identity, so eval-mode outputs alone match."""
    layers = []
    for _ in range(num_convs):
        layers += [nn.Conv2d(c, k, 3, padding=1), nn.BatchNorm2d(k, affine=False), nn.ReLU(), nn.Dropout(0.5)]
        c = k
    return nn.Sequential(*layers, nn.MaxPool2d(2, 2))


class _FunctionalDropoutBlock(nn.Module):
    """Dropout called in forward (no layer to read): only a training-mode run shows it."""

    def __init__(self, num_convs, in_channels, out_channels):
        super().__init__()
        self.block = vgg_block(num_convs, in_channels, out_channels)

    def forward(self, x):
        return nn.functional.dropout(self.block(x), 0.5, self.training)


VGG_MUTANTS = {
    "batch norm (affine=False) and dropout after every convolution": (_vgg_with_bn_and_dropout,
                                                                      "remove the BatchNorm2d"),
    "dropout after every ReLU": (_block(conv=lambda c, k: nn.Sequential(nn.Conv2d(c, k, 3, padding=1),
                                                                         nn.Dropout(0.3))), "remove the Dropout"),
    "dropout called in forward": (_FunctionalDropoutBlock, "in training mode (model.train())"),
    "batch norm with its own parameters": (_block(conv=lambda c, k: nn.Sequential(nn.Conv2d(c, k, 3, padding=1),
                                                                                  nn.BatchNorm2d(k))),
                                           "remove the BatchNorm2d"),
    "padding 0 (the block shrinks)": (_block(conv=lambda c, k: nn.Conv2d(c, k, 3)), "without it every 3x3"),
    "pooling before the convolutions": (_block(pool_first=True), "the pooling comes after the convolutions"),
    "ReLU missing": (_block(relu=False), "a ReLU follows every convolution"),
    "second conv reads in_channels": (_block(reuse_in_channels=True), "not in_channels"),
    "no biases": (_block(conv=lambda c, k: nn.Conv2d(c, k, 3, padding=1, bias=False)), "has a bias"),
    "5x5 convolutions": (_block(conv=lambda c, k: nn.Conv2d(c, k, 5, padding=2)), "expected parameter shapes"),
    "average pooling": (_block(pool=lambda: nn.AvgPool2d(2, 2)), "max pooling over 2x2 windows"),
    "average pooling in forward": (_FunctionalAvgBlock, "pools with the maximum"),
    "pooling with stride 1": (_block(pool=lambda: nn.MaxPool2d(2, stride=1)), "max pooling over 2x2 windows"),
    "no pooling": (_block(pool=None), "ends with 2x2 max pooling"),
    "one convolution whatever num_convs": (lambda n, c, k: vgg_block(1, c, k), "has 2 convolutions"),
    "layers in a plain list": (_ListBlock, "no parameters"),
    "ignores its own weights": (_FreshWeightsBlock, "failed on case"),
    "returns a list of layers": (lambda n, c, k: list(vgg_block(n, c, k)), "nn.Module"),
    "partly written (one convolution only)": (partly_written(vgg_block, lambda n, c, k: n > 1), "only partly written"),
}


@pytest.mark.parametrize("name", sorted(VGG_MUTANTS))
def test_vgg_block_mutants_rejected(name):
    assert_rejected("classic.vgg_block", *VGG_MUTANTS[name])


# ----------------------------------------------------------------------------- LeNet-5
def _lenet(act=nn.Sigmoid, pool=nn.AvgPool2d, padding=2, bias=True, last=None):
    def answer():
        layers = [nn.Conv2d(1, 6, 5, padding=padding, bias=bias), act(), pool(2, 2),
                  nn.Conv2d(6, 16, 5, bias=bias), act(), pool(2, 2), nn.Flatten(),
                  nn.Linear(16 * 5 * 5 if padding else 16 * 4 * 4, 120, bias=bias), act(),
                  nn.Linear(120, 84, bias=bias), act(), nn.Linear(84, 10, bias=bias)]
        return nn.Sequential(*layers, *([last()] if last else []))

    return answer


class _FunctionalMaxLeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 6, 5, padding=2), nn.Conv2d(6, 16, 5)
        self.fc1, self.fc2, self.fc3 = nn.Linear(400, 120), nn.Linear(120, 84), nn.Linear(84, 10)

    def forward(self, x):
        pool = nn.functional.max_pool2d
        x = pool(torch.sigmoid(self.conv1(x)), 2, 2)
        x = pool(torch.sigmoid(self.conv2(x)), 2, 2).flatten(1)
        return self.fc3(torch.sigmoid(self.fc2(torch.sigmoid(self.fc1(x)))))


def _lenet_with_bn_and_dropout():
    """The cold read's planted LeNet-5: BatchNorm2d(6, affine=False) after conv 1, Dropout before the hidden
    fully connected layers (all invisible in eval mode)."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.BatchNorm2d(6, affine=False), nn.Sigmoid(), nn.AvgPool2d(2, 2),
        nn.Conv2d(6, 16, 5), nn.Sigmoid(), nn.AvgPool2d(2, 2), nn.Flatten(),
        nn.Dropout(0.5), nn.Linear(400, 120), nn.Sigmoid(), nn.Dropout(0.5), nn.Linear(120, 84), nn.Sigmoid(),
        nn.Linear(84, 10))


class _FunctionalDropoutLeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = lenet5()

    def forward(self, x):
        return self.net(nn.functional.dropout(x, 0.2, self.training))


LENET_MUTANTS = {
    "batch norm (affine=False) and dropout": (_lenet_with_bn_and_dropout, "remove the BatchNorm2d"),
    "dropout only": (lambda: nn.Sequential(*list(lenet5())[:7], nn.Dropout(0.5), *list(lenet5())[7:]),
                     "remove the Dropout"),
    "dropout called in forward": (_FunctionalDropoutLeNet, "in training mode (model.train())"),
    "softmax on the scores": (_lenet(last=lambda: nn.Softmax(dim=1)), "no softmax after it"),
    "log-softmax on the scores": (_lenet(last=lambda: nn.LogSoftmax(dim=1)), "no log-softmax after it"),
    "ReLU instead of sigmoid": (_lenet(act=nn.ReLU), "sigmoid activations"),
    "tanh instead of sigmoid": (_lenet(act=nn.Tanh), "tanh was another classic choice"),
    "max pooling layers": (_lenet(pool=nn.MaxPool2d), "averages: nn.AvgPool2d"),
    "max pooling in forward": (_FunctionalMaxLeNet, "LeNet-5 averages"),
    "no padding": (_lenet(padding=0), "without padding=2"),
    "no biases": (_lenet(bias=False), "every layer has a bias"),
    "sigmoid on the scores": (_lenet(last=nn.Sigmoid), "raw scores"),
    "returns a list of layers": (lambda: list(lenet5()), "nn.Module"),
}


@pytest.mark.parametrize("name", sorted(LENET_MUTANTS))
def test_lenet5_mutants_rejected(name):
    assert_rejected("classic.lenet5", *LENET_MUTANTS[name])


# ----------------------------------------------------------------------------- value answers
@pytest.mark.parametrize("value, hint", [(224, "54.25"), (55, "size of conv 1's output"), (228, "never read"),
                                         (227.0, "should be an int"), (226, "solve (n - 11) / 4 + 1 = 55")])
def test_alexnet_input_size_wrong_values_rejected(value, hint):
    assert_rejected("classic.alexnet_input_size", lambda: value, hint)


@pytest.mark.parametrize("value, hint", [(("conv2", "conv2"), "largest fan-in times units"),
                                         (("fc1", "conv1"), "conv 1 works on the largest maps"),
                                         (("fc1", "fc1"), "compare conv 1 to conv 5"),
                                         (("FC1", "conv2"), "use the names exactly as listed"),
                                         (("fc1", "conv 2"), "use the names exactly as listed"),
                                         (["fc1", "conv2"], "a tuple of two layer names"),
                                         (("fc1",), "a tuple of two layer names")])
def test_alexnet_extremes_wrong_answers_rejected(value, hint):
    assert_rejected("classic.alexnet_extremes", lambda: value, hint)


# ----------------------------------------------------------------------------- modules written another way
class _OwnVggBlock(nn.Module):
    """A right block with its layers in a ModuleList and pooling done in forward."""

    def __init__(self, num_convs, in_channels, out_channels):
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(in_channels if i == 0 else out_channels, out_channels, 3, padding=1)
                                   for i in range(num_convs))

    def forward(self, x):
        for conv in self.convs:
            x = torch.relu(conv(x))
        return nn.functional.max_pool2d(x, 2)


class _ParameterLeNet(nn.Module):
    """A right LeNet-5 holding bare parameters and computing with torch.nn.functional (no Conv2d to read)."""

    def __init__(self):
        super().__init__()
        shapes = [(6, 1, 5, 5), (6,), (16, 6, 5, 5), (16,), (120, 400), (120,), (84, 120), (84,), (10, 84), (10,)]
        self.weights = nn.ParameterList(nn.Parameter(torch.randn(shape) * 0.1) for shape in shapes)

    def forward(self, x):
        f, p = nn.functional, self.weights
        x = f.avg_pool2d(torch.sigmoid(f.conv2d(x, p[0], p[1], padding=2)), 2)
        x = f.avg_pool2d(torch.sigmoid(f.conv2d(x, p[2], p[3])), 2).flatten(1)
        x = torch.sigmoid(f.linear(x, p[4], p[5]))
        return f.linear(torch.sigmoid(f.linear(x, p[6], p[7])), p[8], p[9])


@pytest.mark.parametrize("exercise_id, answer", [
    ("classic.vgg_block", _OwnVggBlock),
    ("classic.vgg_block", _block(conv=lambda c, k: nn.Conv2d(c, k, 3, padding="same"))),   # "same" is padding 1
    ("classic.lenet5", _ParameterLeNet),
    ("classic.lenet5", lambda: nn.Sequential(nn.Conv2d(1, 6, 5, padding="same"), *list(lenet5())[1:]))])
def test_modules_written_without_sequential_pass(exercise_id, answer):
    result = run_check(exercise_id, answer)
    assert result.status == PASSED, result.message


# ----------------------------------------------------------------------------- what an answer may use from utils
def test_the_workbook_size_rule_and_summaries_are_not_yours():
    """The specs allow nothing beyond numpy/torch: graders flag utils' size rule and the network summaries (the
    counting exercises build on output_shapes, so they are not yours there either)."""
    from utils.grading.references import static_uses

    shapes = "from utils.shapes import conv_output_size\ndef output_shapes(s, layers):\n    return conv_output_size(1, 1)\n"
    assert static_uses("classic.output_shapes", shapes) == ["utils.shapes.conv_output_size"]
    counts = "def parameter_counts(s, layers):\n    return print_summary(nn.Sequential(), s)\n"
    setup = "from torch import nn\nfrom utils.nets.summary import print_summary\n"
    assert static_uses("classic.parameter_counts", counts, setup) == ["utils.nets.summary.print_summary"]
    assert static_uses("classic.multiply_adds", counts.replace("parameter_counts", "multiply_adds"), setup) == [
        "utils.nets.summary.print_summary"]
