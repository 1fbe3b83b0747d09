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
