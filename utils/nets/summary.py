"""A layer-by-layer table of a network: output shape, parameters and multiply-adds of every layer.

``summary(model, (1, 1, 28, 28))`` runs one forward pass on zeros with a forward hook on every leaf module
(a module without children: Conv2d, ReLU, Linear, ...) and records one row per call::

    name         type       output shape        parameters   multiply-adds
    features.0   Conv2d     (1, 6, 28, 28)             156         117,600

Multiply-adds count the multiplications by weights, each paired with one addition, for the whole input
batch given (``input_shape[0]`` images):

- convolution (Conv1d/2d/3d): K * (C / groups) * F_h * F_w per output position, i.e.
  ``K * C/groups * F_h * F_w * H' * W'`` per image for Conv2d;
- transposed convolution: the same products, per *input* position;
- Linear: ``in_features * out_features`` per row of the input.

Bias additions are not counted, and every other layer (batch normalisation, pooling, ReLU, dropout, ...)
counts 0: their element-wise work is small next to the convolutions'. Work done directly in a ``forward``
(a residual ``+``, ``torch.cat``, ``flatten``) belongs to no leaf module and does not appear.
Parameters of a row are the layer's own; the totals count every parameter of the model once, so a layer
called twice shows two rows but its weights count once in the total.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn

__all__ = ["Row", "Summary", "summary", "print_summary", "multiply_adds"]


class Row(NamedTuple):
    name: str             # the module's name in ``model.named_modules()``, e.g. "features.0"
    type: str             # its class name, e.g. "Conv2d"
    output_shape: tuple   # a tuple of ints, or a tuple of such tuples for a layer returning several tensors
    parameters: int
    multiply_adds: int


@dataclass
class Summary:
    """The rows (one per leaf-module call, in call order) and the totals. Iterates and indexes like the list
    of rows, so ``for name, kind, shape, params, macs in summary(model, shape)`` works."""

    rows: list[Row]
    total_parameters: int
    trainable_parameters: int
    total_multiply_adds: int
    input_shape: tuple
    output_shape: tuple

    def __iter__(self):
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index):
        return self.rows[index]

    def table(self) -> str:
        """The rows and the totals as aligned text."""
        header = ("layer", "type", "output shape", "parameters", "multiply-adds")
        body = [(r.name, r.type, _shape_text(r.output_shape), f"{r.parameters:,}", f"{r.multiply_adds:,}")
                for r in self.rows]
        widths = [max(len(line[i]) for line in [header, *body]) for i in range(5)]
        def line(cells):
            left = [cells[i].ljust(widths[i]) for i in range(3)]
            right = [cells[i].rjust(widths[i]) for i in range(3, 5)]
            return "  ".join(left + right).rstrip()
        rule = "-" * len(line(header))
        totals = [f"input {_shape_text(self.input_shape)} -> output {_shape_text(self.output_shape)}",
                  f"parameters: {self.total_parameters:,} ({self.trainable_parameters:,} trainable)",
                  f"multiply-adds: {self.total_multiply_adds:,} ({self.total_multiply_adds / 1e6:.2f} M)"]
        return "\n".join([line(header), rule, *map(line, body), rule, *totals])

    def __str__(self) -> str:
        return self.table()


def _shape_text(shape) -> str:
    if shape and isinstance(shape[0], tuple):
        return ", ".join(_shape_text(s) for s in shape)
    return "(" + ", ".join(str(d) for d in shape) + ")"


def _shape_of(output):
    if isinstance(output, torch.Tensor):
        return tuple(output.shape)
    if isinstance(output, (tuple, list)):
        return tuple(_shape_of(o) for o in output if isinstance(o, (torch.Tensor, tuple, list)))
    return ()


def multiply_adds(module: nn.Module, inputs: tuple, output) -> int:
    """Multiply-adds of one call of a leaf ``module`` (see the module docstring for what counts)."""
    if isinstance(module, nn.modules.conv._ConvTransposeNd):
        k_over_groups = module.out_channels // module.groups
        return inputs[0].numel() * k_over_groups * math.prod(module.kernel_size)
    if isinstance(module, nn.modules.conv._ConvNd):
        c_over_groups = module.in_channels // module.groups
        return output.numel() * c_over_groups * math.prod(module.kernel_size)
    if isinstance(module, nn.Linear):
        return output.numel() * module.in_features
    if isinstance(module, nn.Bilinear):
        return output.numel() * module.in1_features * module.in2_features
    return 0


def summary(model: nn.Module, input_shape, dtype: torch.dtype | None = None) -> Summary:
    """Run ``model`` once on zeros of ``input_shape`` (e.g. (1, 1, 28, 28)) and tabulate its leaf layers.

    The pass runs in eval mode under ``no_grad`` (so batch normalisation's running statistics do not move);
    the model's mode is restored afterwards. ``dtype`` defaults to that of the model's first parameter.
    """
    input_shape = tuple(int(d) for d in input_shape)
    rows: list[Row] = []
    hooks = []

    def record(name):
        def hook(module, inputs, output):
            own = sum(p.numel() for p in module.parameters(recurse=False))
            rows.append(Row(name or type(module).__name__, type(module).__name__, _shape_of(output), own,
                            int(multiply_adds(module, inputs, output))))
        return hook

    for name, module in model.named_modules():
        if not any(True for _ in module.children()):
            hooks.append(module.register_forward_hook(record(name)))
    if dtype is None:
        first = next(model.parameters(), None)
        dtype = first.dtype if first is not None else torch.get_default_dtype()
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            output = model(torch.zeros(input_shape, dtype=dtype))
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    parameters = list(model.parameters())   # shared weights appear once here
    return Summary(rows=rows,
                   total_parameters=sum(p.numel() for p in parameters),
                   trainable_parameters=sum(p.numel() for p in parameters if p.requires_grad),
                   total_multiply_adds=sum(r.multiply_adds for r in rows),
                   input_shape=input_shape, output_shape=_shape_of(output))


def print_summary(model: nn.Module, input_shape, dtype: torch.dtype | None = None) -> Summary:
    """Print the table of :func:`summary` and return the summary."""
    result = summary(model, input_shape, dtype)
    print(result.table())
    return result
