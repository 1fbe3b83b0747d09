"""Inspecting an answer that is a torch ``nn.Module``: the only way checks look at a student's network.

A check never touches the module's attributes itself; it asks these functions, which return plain data
(strings, tuples, numpy arrays). In a student's notebook they run on the module directly. Under the grader's
trusted judge the module lives in the student's sandboxed process and ``module`` is a stand-in for it: the
same function then runs there, on the student's side, and only its plain result comes back (see
``utils/grading/judge.py``). So a check written with these functions gives the same verdict in both places.

    block = call(fn, 3, 8, 5, case=case)            # the student's function builds the module
    if not is_module(block): ...
    parameter_shapes(block)   -> [("0.weight", (8, 3, 5, 5)), ("0.bias", (8,)), ...]
    layers(block)             -> [{"name": "0", "type": "Conv2d", "config": {...}}, ...]
    training_layers(block)    -> [("1", "BatchNorm2d"), ...]   (normalisation and dropout leaves)
    run_module(block, x, parameters=[w0, b0, ...], case=case) -> numpy float64 output
    output_shapes(block, (1, 3, 32, 32), case=case) -> [("0", "Conv2d", (1, 8, 28, 28)), ...]
"""

from __future__ import annotations

import copy
import re
from typing import Any, Sequence

import numpy as np

from .core import CheckFailed

# layer settings worth comparing; a module's other attributes are its own business
CONFIG_FIELDS = ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups",
                 "in_features", "out_features", "num_features", "eps", "momentum", "affine", "p", "ceil_mode",
                 "count_include_pad", "output_size", "padding_mode", "inplace", "start_dim", "end_dim")


def _remote(module: Any):
    """The judge's stand-in for an object in the student's process, or None for a local object."""
    probe = getattr(type(module), "_workbook_probe", None)
    return probe if callable(probe) else None


def _probe(name: str, module: Any, *args, **kwargs):
    remote = _remote(module)
    if remote is not None:
        return remote(module, name, args, kwargs)
    return PROBES[name](module, *args, **kwargs)


# ---------------------------------------------------------------- what runs next to the module


def _is_module(module) -> bool:
    import torch.nn as nn

    return isinstance(module, nn.Module)


def _type_name(module) -> str:
    return type(module).__name__


def _parameter_shapes(module) -> list:
    return [(name, tuple(int(n) for n in p.shape)) for name, p in module.named_parameters()]


def _plain(value):
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, (tuple, list)) and all(isinstance(v, (bool, int, float, str)) for v in value):
        return tuple(value)
    return repr(value)[:80]


def _layers(module) -> list:
    found = []
    for name, sub in module.named_modules():
        if sub is module:
            continue
        config = {f: _plain(getattr(sub, f)) for f in CONFIG_FIELDS if hasattr(sub, f)}
        if hasattr(sub, "bias") and not callable(getattr(sub, "bias")):
            config["bias"] = getattr(sub, "bias") is not None
        found.append({"name": name, "type": type(sub).__name__, "children": len(list(sub.children())),
                      "config": config})
    return found


def _run_module(module, x, parameters=None, train=False):
    import torch

    model = copy.deepcopy(module).double()
    if parameters is not None:
        own = list(model.parameters())
        if len(own) != len(parameters):
            raise ValueError(f"the module has {len(own)} parameter tensors, the check gives {len(parameters)}")
        with torch.no_grad():
            for mine, given in zip(own, parameters):
                given = torch.as_tensor(np.asarray(given, dtype=np.float64))
                if tuple(mine.shape) != tuple(given.shape):
                    raise ValueError(f"a parameter of shape {tuple(mine.shape)} cannot take one of shape "
                                     f"{tuple(given.shape)}")
                mine.copy_(given)
    model.train(bool(train))
    with torch.no_grad():
        out = model(torch.as_tensor(np.asarray(x, dtype=np.float64)))
    if isinstance(out, torch.Tensor):
        return out.detach().numpy().copy()
    return out


def _output_shapes(module, input_shape):
    import torch

    shapes, hooks = [], []
    for name, sub in module.named_modules():
        if sub is module or list(sub.children()):
            continue
        hooks.append(sub.register_forward_hook(
            lambda mod, inputs, output, name=name: shapes.append(
                (name, type(mod).__name__, tuple(output.shape) if isinstance(output, torch.Tensor) else None))))
    was_training = module.training
    try:
        module.eval()
        dtype = next((p.dtype for p in module.parameters()), torch.float32)
        with torch.no_grad():
            out = module(torch.zeros(tuple(input_shape), dtype=dtype))
    finally:
        for hook in hooks:
            hook.remove()
        module.train(was_training)
    return shapes, tuple(out.shape) if isinstance(out, torch.Tensor) else None


PROBES = {"is_module": _is_module, "type_name": _type_name, "parameter_shapes": _parameter_shapes,
          "layers": _layers, "run_module": _run_module, "output_shapes": _output_shapes}


# ---------------------------------------------------------------- what checks call


def is_module(module: Any) -> bool:
    """Whether the answer is a torch ``nn.Module`` (here, or in the student's process under the judge)."""
    return bool(_probe("is_module", module))


def type_name(module: Any) -> str:
    return str(_probe("type_name", module))


def parameter_shapes(module: Any) -> list[tuple[str, tuple[int, ...]]]:
    """``(name, shape)`` of every parameter tensor, in ``named_parameters()`` order."""
    return [(str(n), tuple(s)) for n, s in _probe("parameter_shapes", module)]


def parameter_count(module: Any) -> int:
    return int(sum(np.prod(shape, dtype=np.int64) for _, shape in parameter_shapes(module)))


def layers(module: Any) -> list[dict]:
    """Every submodule in ``named_modules()`` order (the module itself left out): its dotted name, class name,
    number of children and its settings (``CONFIG_FIELDS``; ``bias`` says whether it has one)."""
    return list(_probe("layers", module))


# Layers that normalise or drop out. Eval mode can hide them (a fresh BatchNorm2d(affine=False) is x / sqrt(1 + eps),
# Dropout is the identity), yet a network with them trains differently: a spec without them must not get them.
TRAINING_LAYER_TYPES = re.compile(r"BatchNorm|InstanceNorm|GroupNorm|LayerNorm|LocalResponseNorm|RMSNorm|Dropout")


def training_layers(module: Any) -> list[tuple[str, str]]:
    """``(name, type)`` of every leaf layer of ``module`` that normalises or drops out, in ``named_modules()``
    order."""
    return [(row["name"], row["type"]) for row in layers(module)
            if row["children"] == 0 and TRAINING_LAYER_TYPES.search(row["type"])]


def _module_error(case: str, what: str, error: BaseException) -> CheckFailed:
    return CheckFailed(f"failed on case {case}:\n  {what} raised {type(error).__name__}: {error}")


def run_module(module: Any, x: np.ndarray, *, case: str, parameters: Sequence[np.ndarray] | None = None,
               train: bool = False) -> np.ndarray:
    """Run a float64 copy of ``module`` on ``x`` (no autograd; ``eval()`` unless ``train``), after copying
    ``parameters`` into it in ``parameters()`` order. The student's module itself is not changed."""
    try:
        out = _probe("run_module", module, np.asarray(x, dtype=np.float64),
                     None if parameters is None else [np.asarray(p, dtype=np.float64) for p in parameters],
                     bool(train))
    except CheckFailed:
        raise
    except Exception as error:
        raise _module_error(case, "your module", error) from None
    if not isinstance(out, np.ndarray):
        raise CheckFailed(f"failed on case {case}:\n  your module's forward returned {type(out).__name__}, "
                          "expected a tensor.\n  hint: forward must return the output tensor.")
    return out


def output_shapes(module: Any, input_shape: tuple[int, ...], *, case: str):
    """``([(name, type, output shape) for every leaf layer in call order], final output shape)`` for a zero
    input of ``input_shape`` (in eval mode, without autograd)."""
    try:
        shapes, final = _probe("output_shapes", module, tuple(int(n) for n in input_shape))
    except CheckFailed:
        raise
    except Exception as error:
        raise _module_error(case, f"your module on an input of shape {tuple(input_shape)}", error) from None
    return [(str(n), str(t), None if s is None else tuple(s)) for n, t, s in shapes], \
        (None if final is None else tuple(final))
