"""Receptive fields of stacked convolution and pooling layers (chapter 01 derives the formula).

A layer is described by ``(kernel, stride)`` = (F_l, S_l) along one axis. For a stack of layers 1..L,

    r_0 = 1,    j_0 = 1,
    r_l = r_{l-1} + (F_l - 1) * j_{l-1},    j_l = j_{l-1} * S_l,

where ``j_l`` (the *jump*) is the distance, in input pixels, between neighbouring units of layer l.
``r_L`` is the span of input pixels one unit of layer L depends on. Pixels inside the span are
skipped when some layer l (with F_l > 1) reads units that are farther apart than what each of them
sees, ``j_{l-1} > r_{l-1}``: ``[(1, 2), (3, 1)]`` has r_1 = 1 and j_1 = 2, so its unit depends on
pixels 0, 2 and 4 of a span of 5. For units away from the border, padding moves the field but does not
change its size; near the border part of the field falls on the padding. Dilated kernels count as
kernels of size ``D (F - 1) + 1`` (dilation D).
"""

from __future__ import annotations

from typing import Iterable


def receptive_field(layers: Iterable[tuple[int, int]]) -> int:
    """Receptive field size (in input pixels, along one axis) of one unit after ``layers``.

    layers: ``(kernel, stride)`` pairs, first layer first; an empty stack gives 1.

    >>> receptive_field([(3, 1), (3, 1), (3, 1)])
    7
    >>> receptive_field([(3, 1), (3, 2), (3, 2)])
    9
    """
    size, jump = 1, 1
    for kernel, stride in layers:
        if kernel < 1 or stride < 1:
            raise ValueError(f"kernel and stride must be positive integers, got ({kernel}, {stride})")
        size += (kernel - 1) * jump
        jump *= stride
    return size


def receptive_field_table(layers: Iterable[tuple[int, int]]) -> list[tuple[int, int, int, int]]:
    """One row ``(kernel, stride, size, jump)`` per layer: the field size and jump after that layer."""
    rows, size, jump = [], 1, 1
    for kernel, stride in layers:
        size += (kernel - 1) * jump
        jump *= stride
        rows.append((kernel, stride, size, jump))
    return rows
