"""Output sizes of convolution and pooling layers: the arithmetic of padding, stride and dilation.

In the workbook's notation (chapter 00): along one axis, a filter of F taps (argument ``kernel``) spaced D
apart (``dilation``) spans ``D * (F - 1) + 1`` input positions. Sliding it in steps of S (``stride``) over an
input of n positions padded with P (``pad``) on each side, it fits

    n' = floor((n + 2P - D(F - 1) - 1) / S) + 1

times. Chapter 03 derives this; later chapters import it from here.

Sizes follow the workbook's one integer rule: Python ints and NumPy or torch integer scalars are accepted;
floats (even 3.0) and bools are not.
"""

from __future__ import annotations

import operator

__all__ = ["conv_output_size", "effective_kernel_size", "same_padding"]


def _positive_int(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        raise TypeError(f"{name} must be an integer, got {value!r}")
    try:
        value = operator.index(value)  # int, np.int64, a 0-d integer tensor; not 3.0
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {value!r}") from None
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def effective_kernel_size(kernel: int, dilation: int = 1) -> int:
    """Number of input positions a dilated kernel spans: ``D * (F - 1) + 1``."""
    kernel = _positive_int(kernel, "kernel")
    dilation = _positive_int(dilation, "dilation")
    return dilation * (kernel - 1) + 1


def conv_output_size(n: int, kernel: int, stride: int = 1, pad: int = 0, dilation: int = 1) -> int:
    """Output length along one axis of a convolution (or pooling) layer.

    n: input length n; kernel: number of taps F; stride: step S between windows; pad: positions P added on
    *each* side; dilation: spacing D between taps. Raises ValueError when the kernel does not fit once.

    >>> conv_output_size(31, 3, stride=2, pad=1)
    16
    """
    n = _positive_int(n, "n")
    stride = _positive_int(stride, "stride")
    pad = _positive_int(pad, "pad", minimum=0)
    span = effective_kernel_size(kernel, dilation)
    if span > n + 2 * pad:
        raise ValueError(f"a kernel spanning {span} positions does not fit in {n} + 2*{pad} positions")
    return (n + 2 * pad - span) // stride + 1


def same_padding(kernel: int, dilation: int = 1) -> tuple[int, int]:
    """Padding ``(before, after)`` that keeps the length at stride 1: ``before + after = D * (F - 1)``.

    For an even span the extra position goes *after* (bottom / right), as in PyTorch's ``padding="same"``.
    """
    total = effective_kernel_size(kernel, dilation) - 1
    return total // 2, total - total // 2
