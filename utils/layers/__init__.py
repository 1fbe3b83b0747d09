"""NumPy reference layers (forward and backward), CS231n style: ``layer_forward(...) -> (out, cache)`` and
``layer_backward(dout, cache) -> gradients``. All arrays are float64 NCHW unless a docstring says otherwise.
"""

from .convolution import (conv_backward_fast, conv_backward_naive, conv_forward_fast, conv_forward_naive,
                          im2col)

__all__ = ["conv_forward_naive", "conv_forward_fast", "conv_backward_naive", "conv_backward_fast", "im2col"]
